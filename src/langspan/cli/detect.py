"""``langspan detect`` (language timelines of media files, or of folders in batch mode) and ``langspan scan`` (the
dominant language of each audio stream from a few probe windows).

Split from ``cli.py`` to keep each module readable; like it, the only code here that prints or exits.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ..engine.batch import Batch
from ..engine.local import DetectOptions, detect, load_classifier
from ..errors import LangspanError, UsageError
from ..frontend.spool import STDIN_NAME, spooled_stdin
from ..models.wav2vec2 import DEFAULT_MODEL
from ..segmentation.segmenter import MIN_CONFIDENCE, MIN_SPAN, SWITCH_PENALTY
from ..writers import ALL_FORMATS, WRITERS
from .batch import check_batch, ray_settings_for, run_batch
from .common import (
    DebugOption,
    DeviceOption,
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
    engine: Annotated[str, typer.Option(help="Batch engine: local, or ray (needs langspan[ray]).")] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (e.g. ray://head:10001) [default: local Ray].")
    ] = None,
    ray_actors: Annotated[int, typer.Option(help="Ray: classifier actors (model copies).")] = 1,
    ray_gpus: Annotated[float, typer.Option(help="Ray: GPUs per classifier actor (fractions share a GPU).")] = 0.0,
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: DeviceOption = "auto",
    precision: Annotated[
        str, typer.Option(help="auto, fp32, int8, fp16 or bf16 (auto: int8 on CPU, fp16 on CUDA).")
    ] = "auto",
    batch_size: Annotated[int, typer.Option(help="Windows per model call (32-64 on a GPU).")] = 8,
    threads: ThreadsOption = None,
    window: Annotated[float, typer.Option(help="Window length in seconds.")] = 2.0,
    hop: Annotated[float | None, typer.Option(help="Seconds between window starts [default: window].")] = None,
    min_window: Annotated[float, typer.Option(help="Drop a last window shorter than this (seconds).")] = 0.5,
    top_k: Annotated[int, typer.Option(help="Alternatives listed per span.")] = 3,
    streams: StreamsOption = None,
    include_windows: Annotated[bool, typer.Option(help="Add per-window results to the JSON output.")] = False,
    allow_url: Annotated[
        bool, typer.Option(help="Also read http(s):// inputs (over http/https only; see SECURITY.md).")
    ] = False,
    languages: Annotated[
        str | None, typer.Option(help="Expected languages, comma-separated ISO 639-3 or 639-1 codes (eng,deu or en,de).")
    ] = None,
    vad: Annotated[bool, typer.Option(help="Detect speech first; windows without speech become nonspeech.")] = True,
    min_speech: Annotated[float, typer.Option(help="Least share of speech for a window to be classified.")] = 0.25,
    min_span: Annotated[float, typer.Option(help="Shorter language spans join their neighbour (seconds).")] = MIN_SPAN,
    min_confidence: Annotated[
        float, typer.Option(help="Spans whose mean probability is lower are labelled und.")
    ] = MIN_CONFIDENCE,
    switch_penalty: Annotated[
        float, typer.Option(help="Cost of a change of language when smoothing (higher: fewer changes).")
    ] = SWITCH_PENALTY,
    refine_probes: Annotated[
        int, typer.Option(help="Extra windows per change of language to place it precisely (0: off).")
    ] = 3,
    stall_timeout: StallTimeoutOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Detect the spoken language over time in every audio stream of each input."""
    batch: Batch | None = None
    with errors_to_exit(debug):
        use_stall_timeout(stall_timeout)
        options = DetectOptions(
            model=model, revision=revision, device=device, precision=precision, batch_size=batch_size,
            threads=threads, window=window, hop=hop, min_window=min_window, top_k=top_k,
            streams=tuple(streams) if streams else None, include_windows=include_windows, allow_url=allow_url,
            languages=languages, vad=vad, min_speech=min_speech, min_span=min_span, min_confidence=min_confidence,
            switch_penalty=switch_penalty, refine_probes=refine_probes,
        )  # fmt: skip
        writers = writers_for(formats, output)
        ray_settings = ray_settings_for(engine, ray_address, ray_actors, ray_gpus)
        # A folder with --output-dir is a batch; without it, a folder is just not a media file (an error per input).
        if engine == "ray" or (output_dir is not None and any(Path(path).is_dir() for path in inputs)):
            check_batch(inputs, output, output_dir)
            batch = Batch(inputs, options, output_dir=output_dir, formats=[w.name for w in writers],
                          recursive=recursive, overwrite=overwrite)  # fmt: skip
    if batch is not None:
        with sigterm_as_interrupt(), errors_to_exit(debug):  # Ctrl-C: exit 130 there, after this hint
            try:
                failed = run_batch(batch, engine, ray_settings, quiet, stderr)
            except KeyboardInterrupt:
                print("langspan: finished files are in the manifest; run again to resume", file=sys.stderr)
                raise
        if failed:
            raise typer.Exit(1)
        return
    with errors_to_exit(debug):
        check_destination(inputs, writers, output, output_dir)
        classifier = load_classifier(options)
    failures = 0
    streaming = streaming_writer(writers, output, output_dir)
    for path in inputs:
        try:
            with sigterm_as_interrupt(), _media(path) as (media_path, name), progress_bar(quiet) as progress:
                on_span = print_span if streaming else None
                timelines = detect(
                    media_path, options, classifier=classifier, progress=progress, on_span=on_span, name=name
                )
            write_outputs(
                timelines, [w for w in writers if w is not streaming], Path(path), output, output_dir, overwrite
            )
            if not quiet:
                print_table(timelines)
        except LangspanError as error:
            failures += 1
            report(error, debug)
        except KeyboardInterrupt as interrupt:
            exit_interrupted(interrupt)
    if failures:
        raise typer.Exit(1)


def scan_command(
    inputs: Annotated[list[Path], typer.Argument(help="Media files (any format ffmpeg reads).", show_default=False)],
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: DeviceOption = "auto",
    precision: Annotated[str, typer.Option(help="auto, fp32, int8, fp16 or bf16.")] = "auto",
    threads: ThreadsOption = None,
    streams: StreamsOption = None,
    confidence: Annotated[float, typer.Option(help="Stop once the leading language is this certain.")] = 0.99,
    min_probes: Annotated[int, typer.Option(help="Probe windows classified before the scan may stop.")] = 8,
    max_probes: Annotated[int, typer.Option(help="Probe windows before falling back to a full pass.")] = 48,
    stall_timeout: StallTimeoutOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Dominant language of each audio stream from a few probe windows (fast; JSON Lines on stdout)."""
    from ..engine.sparse import StoppingRule, scan

    with errors_to_exit(debug):
        use_stall_timeout(stall_timeout)
        options = DetectOptions(
            model=model, revision=revision, device=device, precision=precision, threads=threads,
            streams=tuple(streams) if streams else None,
        )  # fmt: skip
        StoppingRule(confidence, min_probes, max_probes)  # usage errors before the model loads
        classifier = load_classifier(options)
    failures = 0
    for path in inputs:
        try:
            results = scan(
                path, options, confidence=confidence, min_probes=min_probes, max_probes=max_probes,
                classifier=classifier,
            )  # fmt: skip
        except LangspanError as error:
            failures += 1
            report(error, debug)
            continue
        for result in results:
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            if not quiet:
                stderr.print(
                    f"{result.source} · stream {result.stream}: {result.language or '-'} {result.name} "
                    f"({result.share:.0%} of {result.windows} windows, confidence {result.confidence:.3f}, "
                    f"{result.evidence_seconds:.0f} s of {result.duration:.0f} s classified"
                    f"{', full pass' if result.full_pass else ''})"
                )
        sys.stdout.flush()
    if failures:
        raise typer.Exit(1)


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
