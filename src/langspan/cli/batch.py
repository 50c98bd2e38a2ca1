"""The command line's batch mode (folder inputs, ``--engine ray``): checks, per-file reporting and progress.

Split from ``cli.py`` to keep each module readable; like it, the only code here that prints.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .._entry import raise_if_interrupted
from ..engine.batch import FAILED, OK, SKIPPED, Batch, FileResult
from ..errors import UsageError
from ..frontend.spool import STDIN_NAME


def ray_settings_for(engine: str, address: str | None, actors: int, gpus: float):
    if engine not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, got {engine!r}")
    if engine == "local":
        if address is not None:
            raise UsageError("--ray-address needs --engine ray")
        return None
    from ..engine.ray import RayOptions

    return RayOptions(address=address, actors=actors, gpus_per_actor=gpus)


def check_batch(inputs: list[str], output: Path | None, output_dir: Path | None) -> None:
    if STDIN_NAME in inputs:
        raise UsageError("standard input ('-') cannot be part of a folder batch")
    if any("://" in path for path in inputs):
        raise UsageError("URLs cannot be part of a folder batch: pass local files and folders")
    if output is not None or output_dir is None:
        raise UsageError("--engine ray writes one file per input: pass --output-dir")


def run_batch(batch: Batch, engine: str, ray_settings: Any, quiet: bool, console: Console) -> int:
    """Run a planned batch, reporting each file on ``console`` (stderr); the number of files that failed."""
    counts = {OK: 0, SKIPPED: 0, FAILED: 0}
    audio = 0.0
    with _batch_progress(quiet, len(batch.jobs), console) as (on_file, on_audio):
        results = batch.run(engine, progress=on_audio, ray_options=ray_settings)
        warned = 0
        try:
            for result in results:
                raise_if_interrupted()  # see langspan._entry
                warned = _warn(batch.notes, warned)
                counts[result.status] += 1
                audio += result.audio_seconds
                on_file(result, audio)
                if result.status == FAILED:
                    print(f"langspan: error: {result.error}", file=sys.stderr)
        finally:
            results.close()  # interrupted: stop the engine now (ffmpeg, or the Ray instance we started)
        _warn(batch.notes, warned)
    if not quiet:
        print(
            f"langspan: {len(batch.jobs)} files: {counts[OK]} done, {counts[SKIPPED]} up to date, "
            f"{counts[FAILED]} failed · {audio / 3600:.2f} h audio · manifest {batch.manifest_path}",
            file=sys.stderr,
        )
    return counts[FAILED]


def _warn(notes: list[str], shown: int) -> int:
    """Print the batch's notes not shown yet (even with -q: they are about the output folder, not progress)."""
    for note in notes[shown:]:
        print(f"langspan: warning: {note}", file=sys.stderr)
    return len(notes)


@contextmanager
def _batch_progress(quiet: bool, total_files: int, console: Console):
    """(per-file callback, per-file audio progress): a bar of files and audio hours on a terminal, else a line
    per file on stderr."""
    if quiet:
        yield (lambda result, audio: None), None
        return
    if not console.is_terminal:

        def line(result: FileResult, audio: float) -> None:
            if result.status != FAILED:
                print(f"langspan: {result.status} {result.path} ({result.audio_seconds:.1f} s audio)", file=sys.stderr)

        yield line, None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[note]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        files = bar.add_task("files", total=total_files, note=f"0/{total_files} files · 0.00 h audio")
        current = bar.add_task("", total=None, note="")

        def on_file(result: FileResult, audio: float) -> None:
            done = int(bar.tasks[files].completed) + 1
            bar.update(files, completed=done, note=f"{done}/{total_files} files · {audio / 3600:.2f} h audio")

        def on_audio(label: str, done: float, total: float | None) -> None:
            bar.update(current, description=Path(label).name, completed=done, total=total,
                       note=f"{done:.0f}/{total or 0:.0f} s audio")  # fmt: skip

        yield on_file, on_audio
