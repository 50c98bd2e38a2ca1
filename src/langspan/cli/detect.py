"""``langspan detect``: language timelines of media files, or of folders in batch mode.

The command function only gathers its parameters; ``detect_batch`` and ``detect_files`` do the work. Like the rest
of the command line, the only code here that prints or exits.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from ..engine.batch import ENGINES, Batch
from ..engine.local import detect, load_classifier
from ..errors import LangspanError, UsageError
from ..frontend.spool import STDIN_NAME, spooled_stdin
from ..languages import parse_language_list
from ..models.base import DEFAULT_MODEL
from ..options import DetectOptions
from ..segmentation.refine import REFINE_PROBES
from ..segmentation.segmenter import MIN_CONFIDENCE, MIN_SPAN, SWITCH_PENALTY
from ..writers import ALL_FORMATS, WRITERS, Writer
from .batch import check_batch, ray_settings_for, run_batch
from .common import (
    DEFAULTS,
    CacheOption,
    DebugOption,
    DeviceOption,
    LanguagesOption,
    ModelOption,
    RevisionOption,
    StallTimeoutOption,
    StreamsOption,
    ThreadsOption,
    errors_to_exit,
    exit_interrupted,
    progress_bar,
    report,
    sigterm_as_interrupt,
    stderr,
    use_stall_timeout,
)
from .output import check_destination, print_span, print_table, streaming_writer, write_outputs, writers_for

OPTION_FIELDS = tuple(field.name for field in fields(DetectOptions))
# Rich reads [words] as markup: a literal bracket in a help text is escaped.
FAMILY = "\\[default: the model family's; %g for MMS-LID]"


def detect_command(
    # Plain strings, not Paths: a Path would fold "http://" into "http:/" and click would pre-check readability
    # with its own multi-line usage error instead of langspan's one-line message.
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Media files (any format ffmpeg reads), '-' for standard input, or folders (batch mode, with -d).",
            show_default=False,
        ),
    ],
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help=f"Output format, repeatable: {', '.join(WRITERS)}, or {ALL_FORMATS}."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output file for a single input ('-' for stdout).")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-d", help="Folder for outputs named after each input.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Batch mode: also scan sub-folders of folder inputs.")
    ] = False,
    engine: Annotated[str, typer.Option(help="Batch engine: local, or ray (needs langspan\\[ray]).")] = ENGINES[0],
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (e.g. ray://head:10001) \\[default: local Ray].")
    ] = None,
    ray_actors: Annotated[int, typer.Option(help="Ray: classifier actors (model copies).")] = 1,
    ray_gpus: Annotated[float, typer.Option(help="Ray: GPUs per classifier actor (fractions share a GPU).")] = 0.0,
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: DeviceOption = DEFAULTS.device,
    precision: Annotated[
        str, typer.Option(help="auto, fp32, int8, fp16 or bf16 (auto: int8 on CPU, fp16 on CUDA).")
    ] = DEFAULTS.precision,
    batch_size: Annotated[int, typer.Option(help="Windows per model call (32-64 on a GPU).")] = DEFAULTS.batch_size,
    threads: ThreadsOption = None,
    cache: CacheOption = DEFAULTS.cache,
    window: Annotated[
        float | None, typer.Option(help="Window length in seconds \\[default: the model family's; 2 for MMS-LID].")
    ] = DEFAULTS.window,
    hop: Annotated[
        float | None, typer.Option(help="Seconds between window starts \\[default: the family's, else window].")
    ] = DEFAULTS.hop,
    min_window: Annotated[
        float, typer.Option(help="Drop a last window shorter than this (seconds).")
    ] = DEFAULTS.min_window,
    top_k: Annotated[int, typer.Option(help="Alternatives listed per span.")] = DEFAULTS.top_k,
    streams: StreamsOption = None,
    include_windows: Annotated[bool, typer.Option(help="Add per-window results to the JSON output.")] = False,
    allow_url: Annotated[
        bool, typer.Option(help="Also read http(s):// inputs (over http/https only; see SECURITY.md).")
    ] = False,
    languages: LanguagesOption = None,
    vad: Annotated[
        bool, typer.Option(help="Detect speech first; windows without speech become nonspeech.")
    ] = DEFAULTS.vad,
    min_speech: Annotated[
        float, typer.Option(help="Least share of speech for a window to be classified.")
    ] = DEFAULTS.min_speech,
    min_span: Annotated[
        float | None, typer.Option(help=f"Shorter language spans join their neighbour (seconds) {FAMILY % MIN_SPAN}.")
    ] = DEFAULTS.min_span,
    min_confidence: Annotated[
        float | None,
        typer.Option(help=f"Spans whose mean probability is lower are labelled und {FAMILY % MIN_CONFIDENCE}."),
    ] = DEFAULTS.min_confidence,
    switch_penalty: Annotated[
        float | None,
        typer.Option(
            help=f"Cost of a change of language when smoothing (higher: fewer changes) {FAMILY % SWITCH_PENALTY}."
        ),
    ] = DEFAULTS.switch_penalty,
    refine_probes: Annotated[
        int | None,
        typer.Option(help=f"Extra windows per change of language to place it precisely (0: off) {FAMILY % REFINE_PROBES}."),
    ] = DEFAULTS.refine_probes,
    density: Annotated[
        str,
        typer.Option(
            help="auto: classify a grid of windows, and the windows between them only where they disagree or are "
            "unsure (fewer model calls; see docs/benchmarks.md); dense: every window."
        ),
    ] = DEFAULTS.density,
    stall_timeout: StallTimeoutOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Detect the spoken language over time in every audio stream of each input."""
    settings = dict(locals())
    with errors_to_exit(debug):
        use_stall_timeout(stall_timeout)
        options = options_from(settings)
        destination = Destination(writers_for(formats, output), output, output_dir, overwrite)
        ray_settings = ray_settings_for(engine, ray_address, ray_actors, ray_gpus)
    # A folder with --output-dir is a batch; without it, a folder is just not a media file (an error per input).
    if engine == "ray" or (output_dir is not None and any(Path(path).is_dir() for path in inputs)):
        failed = detect_batch(inputs, options, destination, recursive, engine, ray_settings, quiet, debug)
    else:
        failed = detect_files(inputs, options, destination, quiet, debug)
    if failed:
        raise typer.Exit(1)


@dataclass(frozen=True)
class Destination:
    """Where ``detect`` writes: formats, and stdout, one ``--output`` file or an ``--output-dir``."""

    writers: list[Writer]
    output: Path | None
    output_dir: Path | None
    overwrite: bool


def options_from(settings: dict[str, Any]) -> DetectOptions:
    """DetectOptions from the command's parameters of the same names."""
    chosen = {name: settings[name] for name in OPTION_FIELDS if name in settings}
    chosen["streams"] = tuple(chosen["streams"]) if chosen.get("streams") else None
    chosen["languages"] = parse_language_list(chosen["languages"]) if chosen.get("languages") else None
    return DetectOptions(**chosen)


def detect_batch(
    inputs: list[str], options: DetectOptions, destination: Destination, recursive: bool, engine: str,
    ray_settings: Any, quiet: bool, debug: bool,
) -> int:  # fmt: skip
    """A folder batch (or any run on Ray): the number of files that failed."""
    with errors_to_exit(debug):
        check_batch(inputs, destination.output, destination.output_dir)
        batch = Batch(
            inputs, options, output_dir=destination.output_dir, formats=[w.name for w in destination.writers],
            recursive=recursive, overwrite=destination.overwrite,
        )  # fmt: skip
    with sigterm_as_interrupt(), errors_to_exit(debug):  # Ctrl-C: exit 130 there, after this hint
        try:
            return run_batch(batch, engine, ray_settings, quiet, stderr)
        except KeyboardInterrupt:
            print("langspan: finished files are in the manifest; run again to resume", file=sys.stderr)
            raise


def detect_files(inputs: list[str], options: DetectOptions, destination: Destination, quiet: bool, debug: bool) -> int:
    """Each input on its own (stdin included), outputs written as each finishes: the number that failed."""
    output, output_dir = destination.output, destination.output_dir
    with errors_to_exit(debug):
        check_destination(inputs, destination.writers, output, output_dir)
        classifier = load_classifier(options)
    failures = 0
    streaming = streaming_writer(destination.writers, output, output_dir)
    writers = [w for w in destination.writers if w is not streaming]
    for path in inputs:
        try:
            with sigterm_as_interrupt(), _media(path) as (media_path, name), progress_bar(quiet) as progress:
                on_span = print_span if streaming else None
                timelines = detect(
                    media_path, options, classifier=classifier, progress=progress, on_span=on_span, name=name
                )
            write_outputs(timelines, writers, Path(path), output, output_dir, destination.overwrite)
            if not quiet:
                print_table(timelines)
        except LangspanError as error:
            failures += 1
            report(error, debug)
        except KeyboardInterrupt as interrupt:
            exit_interrupted(interrupt)
    return failures


@contextmanager
def _media(path: str):
    """(file to read, name for the results): stdin is spooled to a temporary file that is always removed."""
    if path != STDIN_NAME:
        yield path, None
        return
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("input '-' reads media from standard input, but standard input is a terminal")
    with spooled_stdin() as spooled:
        yield spooled, STDIN_NAME
