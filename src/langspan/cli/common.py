"""What every ``langspan`` command shares: the stderr console, the model options, errors and interrupts turned into
exit codes, and the progress bar.

Split from ``cli.py`` so that the command modules can import it while ``cli.py`` imports them: no import cycle.
Like the rest of the command line, the only code here that prints or exits.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from .._entry import raise_if_interrupted
from ..errors import LangspanError, ModelError, UsageError
from ..frontend import media
from ..options import DetectOptions

stderr = Console(stderr=True, highlight=False)
# Every command's option defaults come from here: one source, the library's own.
DEFAULTS = DetectOptions()

ModelOption = Annotated[str, typer.Option("--model", "-m", help="Hugging Face model id or local checkpoint folder.")]
RevisionOption = Annotated[str | None, typer.Option(help="Model revision (branch, tag or commit) on the hub.")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")]
ThreadsOption = Annotated[int | None, typer.Option(help="CPU threads for the model \\[default: torch's].")]
StreamsOption = Annotated[
    list[int] | None,
    typer.Option("--stream", help="Audio stream index (ffprobe numbering), repeatable \\[default: all]."),
]
DebugOption = Annotated[bool, typer.Option(help="Show tracebacks.")]
CacheOption = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Load the converted model (int8, fp16, bf16) from langspan's disk cache, adding it there if missing.",
    ),
]
StallTimeoutOption = Annotated[
    float | None,
    typer.Option(
        help="Give up on a file when ffmpeg yields no audio for this many seconds (0: wait forever) "
        f"\\[default: ${media.STALL_TIMEOUT_ENV} or {media.DEFAULT_STALL_TIMEOUT:g}].",
        show_default=False,
    ),
]


def use_stall_timeout(seconds: float | None) -> None:
    """``--stall-timeout``: the decode watchdog's limit, set in the environment so that the worker processes of a
    batch engine (Ray) get it too; without the option, a bad ``LANGSPAN_STALL_TIMEOUT`` is a usage error here."""
    if seconds is not None:
        if not math.isfinite(seconds) or seconds < 0:
            raise UsageError(f"--stall-timeout must be a number of seconds ≥ 0, got {seconds}")
        os.environ[media.STALL_TIMEOUT_ENV] = repr(seconds)
    media.stall_timeout()


LanguagesOption = Annotated[
    str | None,
    typer.Option(help="Expected languages, comma-separated ISO 639-3 or 639-1 codes (eng,deu or en,de)."),
]


@contextmanager
def errors_to_exit(debug: bool):
    try:
        yield
    except LangspanError as error:
        report(error, debug)
        raise typer.Exit(2 if isinstance(error, UsageError) else 1) from None
    except KeyboardInterrupt as interrupt:  # Ctrl-C while the model loads: the same as during detection
        exit_interrupted(interrupt)


def exit_interrupted(interrupt: KeyboardInterrupt) -> NoReturn:
    """Ctrl-C: stop ffmpeg now, say so, and exit 130 without Python's teardown.

    Clearing the frames the interrupt passed through drops the last references to the decoding generators, whose
    ``finally`` kills and reaps ffmpeg right here. The teardown skipped by ``os._exit`` is torch's, which takes
    seconds and would make Ctrl-C look ignored; nothing of ours is left for it (outputs are written atomically and
    removed on failure).
    """
    traceback.clear_frames(interrupt.__traceback__)
    with suppress(OSError):  # stdout may be a pipe whose reader is gone (the same Ctrl-C stopped it)
        sys.stdout.flush()
    print("langspan: interrupted", file=sys.stderr, flush=True)
    os._exit(130)


def report(error: LangspanError, debug: bool) -> None:
    if debug:
        stderr.print_exception()
    message = str(error).replace("\n", " ")
    print(f"langspan: error: {message}", file=sys.stderr)


@contextmanager
def sigterm_as_interrupt():
    """SIGTERM (a pipeline being torn down) unwinds like Ctrl-C, so temporary files and partial outputs go away."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. embedded): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def progress_bar(quiet: bool):
    """A progress bar of audio seconds on stderr, only when stderr is a terminal."""
    if quiet or not stderr.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[done]}"), TimeRemainingColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(label: str, done: float, total: float | None) -> None:
            raise_if_interrupted()  # see langspan._entry: a dropped Ctrl-C is raised at the next batch
            if label not in tasks:
                tasks[label] = bar.add_task(Path(label).name, total=total, done="")
            bar.update(tasks[label], completed=done, total=total, done=f"{done:.0f}/{total or 0:.0f} s audio")

        yield update


def run_each(inputs: Sequence[str], debug: bool, work: Callable[[str], None]) -> int:
    """``work`` on each input in turn; the number that failed. A LangspanError is one line on stderr and the next
    input goes on; a ModelError ends the command (the same model fails every input); Ctrl-C exits 130 (a file
    being written was left as it was, its temporary removed)."""
    failures = 0
    for path in inputs:
        try:
            work(path)
        except ModelError as error:
            report(error, debug)
            raise typer.Exit(1) from None
        except LangspanError as error:
            failures += 1
            report(error, debug)
        except KeyboardInterrupt as interrupt:
            exit_interrupted(interrupt)
    return failures

