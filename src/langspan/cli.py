"""The ``langspan`` command line: the only place that prints, exits, or draws progress.

stdout carries only machine-readable output (JSON, SRT, …); tables, progress and errors go to stderr.
Exit codes: 0 success, 1 an input or output failed, 2 usage error, 3 ``tag --check`` found a disagreeing tag,
130 interrupted.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import traceback
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .batch import Batch
from .classifier import DEFAULT_MODEL, model_error
from .cli_batch import check_batch, ray_settings_for, run_batch
from .errors import ExportError, LangspanError, ModelError, UsageError
from .pipeline import DetectOptions, detect, load_classifier
from .spool import STDIN_NAME, spooled_stdin
from .tagging import DEFAULT_MIN_CONFIDENCE, FileResult, TagOptions, parse_languages, result_document, tag_file
from .segmenter import MIN_CONFIDENCE, MIN_SPAN, SWITCH_PENALTY
from .timeline import Timeline
from .writers import (
    ALL_FORMATS,
    WRITERS,
    JSONLinesWriter,
    Writer,
    check_target,
    dump_all_or_nothing,
    get_writer,
    get_writers,
    writer_for_path,
)

app = typer.Typer(
    help="Which language is spoken, when, and on which audio track — for video and podcast files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True, highlight=False)

ModelOption = Annotated[str, typer.Option("--model", "-m", help="Hugging Face model id or local checkpoint folder.")]
RevisionOption = Annotated[Optional[str], typer.Option(help="Model revision (branch, tag or commit) on the hub.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"langspan {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Which language is spoken, when, and on which audio track."""
    _quiet_transformers()


def _quiet_transformers() -> None:
    # Loading bars and advisory logs from transformers would clutter stderr between our own table and progress.
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@app.command("detect")
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
        Optional[list[str]],
        typer.Option("--format", "-f", help=f"Output format, repeatable: {', '.join(WRITERS)}, or {ALL_FORMATS}."),
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Output file for a single input ('-' for stdout).")
    ] = None,
    output_dir: Annotated[
        Optional[Path], typer.Option("--output-dir", "-d", help="Folder for outputs named after each input.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Batch mode: also scan sub-folders of folder inputs.")
    ] = False,
    engine: Annotated[str, typer.Option(help="Batch engine: local, or ray (needs langspan[ray]).")] = "local",
    ray_address: Annotated[
        Optional[str], typer.Option(help="Ray cluster to join (e.g. ray://head:10001) [default: local Ray].")
    ] = None,
    ray_actors: Annotated[int, typer.Option(help="Ray: classifier actors (model copies).")] = 1,
    ray_gpus: Annotated[float, typer.Option(help="Ray: GPUs per classifier actor (fractions share a GPU).")] = 0.0,
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    precision: Annotated[
        str, typer.Option(help="auto, fp32, int8, fp16 or bf16 (auto: int8 on CPU, fp16 on CUDA).")
    ] = "auto",
    batch_size: Annotated[int, typer.Option(help="Windows per model call (32-64 on a GPU).")] = 8,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for the model [default: torch's].")] = None,
    window: Annotated[float, typer.Option(help="Window length in seconds.")] = 2.0,
    hop: Annotated[Optional[float], typer.Option(help="Seconds between window starts [default: window].")] = None,
    min_window: Annotated[float, typer.Option(help="Drop a last window shorter than this (seconds).")] = 0.5,
    top_k: Annotated[int, typer.Option(help="Alternatives listed per span.")] = 3,
    streams: Annotated[
        Optional[list[int]], typer.Option("--stream", help="Audio stream index (ffprobe numbering), repeatable \\[default: all].")
    ] = None,
    include_windows: Annotated[bool, typer.Option(help="Add per-window results to the JSON output.")] = False,
    allow_url: Annotated[
        bool, typer.Option(help="Also read http(s):// inputs (over http/https only; see SECURITY.md).")
    ] = False,
    languages: Annotated[
        Optional[str], typer.Option(help="Expected languages, comma-separated ISO 639-3 or 639-1 codes (eng,deu or en,de).")
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress on stderr.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Detect the spoken language over time in every audio stream of each input."""
    batch: Batch | None = None
    with _errors_to_exit(debug):
        options = DetectOptions(
            model=model, revision=revision, device=device, precision=precision, batch_size=batch_size,
            threads=threads, window=window, hop=hop, min_window=min_window, top_k=top_k,
            streams=tuple(streams) if streams else None, include_windows=include_windows, allow_url=allow_url,
            languages=languages, vad=vad, min_speech=min_speech, min_span=min_span, min_confidence=min_confidence,
            switch_penalty=switch_penalty, refine_probes=refine_probes,
        )  # fmt: skip
        writers = _writers(formats, output)
        ray_settings = ray_settings_for(engine, ray_address, ray_actors, ray_gpus)
        # A folder with --output-dir is a batch; without it, a folder is just not a media file (an error per input).
        if engine == "ray" or (output_dir is not None and any(Path(path).is_dir() for path in inputs)):
            check_batch(inputs, output, output_dir)
            batch = Batch(inputs, options, output_dir=output_dir, formats=[w.name for w in writers],
                          recursive=recursive, overwrite=overwrite)  # fmt: skip
    if batch is not None:
        with _sigterm_as_interrupt(), _errors_to_exit(debug):  # Ctrl-C: exit 130 there, after this hint
            try:
                failed = run_batch(batch, engine, ray_settings, quiet, stderr)
            except KeyboardInterrupt:
                print("langspan: finished files are in the manifest; run again to resume", file=sys.stderr)
                raise
        if failed:
            raise typer.Exit(1)
        return
    with _errors_to_exit(debug):
        _check_destination(inputs, writers, output, output_dir)
        classifier = load_classifier(options)
    failures = 0
    streaming = _streaming_writer(writers, output, output_dir)
    for path in inputs:
        try:
            with _sigterm_as_interrupt(), _media(path) as (media_path, name), _progress(quiet) as progress:
                on_span = _print_span if streaming else None
                timelines = detect(
                    media_path, options, classifier=classifier, progress=progress, on_span=on_span, name=name
                )
            _write(timelines, [w for w in writers if w is not streaming], Path(path), output, output_dir, overwrite)
            if not quiet:
                _print_table(timelines)
        except LangspanError as error:
            failures += 1
            _report(error, debug)
        except KeyboardInterrupt as interrupt:
            _exit_interrupted(interrupt)
    if failures:
        raise typer.Exit(1)


@app.command("scan")
def scan_command(
    inputs: Annotated[list[Path], typer.Argument(help="Media files (any format ffmpeg reads).", show_default=False)],
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    precision: Annotated[str, typer.Option(help="auto, fp32, int8, fp16 or bf16.")] = "auto",
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for the model [default: torch's].")] = None,
    streams: Annotated[
        Optional[list[int]], typer.Option("--stream", help="Audio stream index (ffprobe numbering), repeatable \\[default: all].")
    ] = None,
    confidence: Annotated[float, typer.Option(help="Stop once the leading language is this certain.")] = 0.99,
    min_probes: Annotated[int, typer.Option(help="Probe windows classified before the scan may stop.")] = 8,
    max_probes: Annotated[int, typer.Option(help="Probe windows before falling back to a full pass.")] = 48,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table on stderr.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Dominant language of each audio stream from a few probe windows (fast; JSON Lines on stdout)."""
    import json

    from .scan import StoppingRule, scan

    with _errors_to_exit(debug):
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
            _report(error, debug)
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


def _print_span(source: str, stream: int | None, span) -> None:
    # One line per final span, flushed at once: `langspan detect - -f jsonl | jq` sees spans while we work.
    sys.stdout.write(JSONLinesWriter.span_line(source, stream, span) + "\n")
    sys.stdout.flush()


def _streaming_writer(writers: list[Writer], output: Path | None, output_dir: Path | None) -> Writer | None:
    """The JSON Lines writer when it writes to stdout: its lines go out as spans become final."""
    to_stdout = (output is None and output_dir is None) or str(output) == STDIN_NAME
    jsonl = [writer for writer in writers if isinstance(writer, JSONLinesWriter)]
    return jsonl[0] if to_stdout and jsonl else None


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


@contextmanager
def _sigterm_as_interrupt():
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


@app.command("tag")
def tag_command(
    inputs: Annotated[list[str], typer.Argument(help="Matroska/WebM or MP4 files.", show_default=False)],
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write the tagged copy here (single input).")
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Replace each input with its tagged copy (verified, atomic).")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Let --output replace an existing file.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and report, write nothing.")] = False,
    check: Annotated[
        bool, typer.Option(help="Compare existing tags with the detected languages; exit 3 on disagreement. Writes nothing.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Also retag streams that already carry a language tag.")] = False,
    streams: Annotated[
        Optional[list[int]], typer.Option("--stream", help="Audio stream index (ffprobe numbering), repeatable \\[default: all].")
    ] = None,
    min_confidence: Annotated[
        float, typer.Option(help="Leave the tag alone (report und) below this track confidence.")
    ] = DEFAULT_MIN_CONFIDENCE,
    languages: Annotated[
        Optional[str], typer.Option(help="Languages the tracks may be in, comma-separated ISO 639 codes (eng,de).")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="ffmpeg (stream copy) or mkvpropedit (Matroska header edit in place).")
    ] = "ffmpeg",
    full_pass: Annotated[
        bool, typer.Option("--full-pass", help="Classify every window instead of a sparse scan's probe windows.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON report per input on stdout.")] = False,
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Windows per model call.")] = 8,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress on stderr.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Write each audio track's dominant spoken language into its language tag (MKV, MP4), without re-encoding.

    Exit codes: 0 done, 1 an input failed, 2 usage error, 3 --check found a tag that disagrees, 130 interrupted.
    """
    with _errors_to_exit(debug):
        if output is not None and len(inputs) > 1:
            raise UsageError("--output takes a single input; use --in-place for several")
        detect_options = DetectOptions(
            model=model, revision=revision, device=device, batch_size=batch_size,
            streams=tuple(streams) if streams else None,
        )  # fmt: skip
        options = TagOptions(
            detect=detect_options, min_confidence=min_confidence, languages=parse_languages(languages),
            force=force, check=check, dry_run=dry_run, in_place=in_place, output=output, overwrite=overwrite,
            engine=engine, full_pass=full_pass,
        )  # fmt: skip
    if not (options.writes or check or dry_run or quiet):
        stderr.print("langspan: dry run, nothing is written (pass --in-place or --output FILE to write)")
    classifier = functools.cache(lambda: load_classifier(detect_options))
    failures = disagreements = 0
    for path in inputs:
        try:
            with _sigterm_as_interrupt(), _progress(quiet) as progress:
                result = tag_file(path, options, classifier, progress)
            if json_output:
                sys.stdout.write(json.dumps(result_document(result, options), ensure_ascii=False) + "\n")
                sys.stdout.flush()
            if not quiet:
                _print_tag_table(result, check)
            disagreements += result.disagrees
        except ModelError as error:  # the same model fails for every input: stop here
            _report(error, debug)
            raise typer.Exit(1) from None
        except LangspanError as error:
            failures += 1
            _report(error, debug)
        except KeyboardInterrupt as interrupt:  # a file being written was left as it was, its temporary removed
            _exit_interrupted(interrupt)
    if failures:
        raise typer.Exit(1)
    if check and disagreements:
        raise typer.Exit(3)


def _print_tag_table(result: FileResult, check: bool) -> None:
    table = Table(box=None)
    columns = ("file", "stream", "tag", "check" if check else "action", "detected", "share", "conf.", "evidence")
    for column in columns:
        table.add_column(column, justify="right" if column in ("stream", "share", "conf.", "evidence") else "left")
    for tag in result.streams:
        detected = tag.detected
        facts = (
            ("–",) * 4
            if detected is None
            else (
                detected.language,
                f"{detected.share:.0%}",
                f"{detected.confidence:.0%}",
                f"{detected.evidence:.1f} s" + ("" if detected.full_pass else " (scan)"),
            )
        )
        action = tag.verdict if check else tag.action
        table.add_row(Path(result.source).name, str(tag.stream), f"{tag.old or 'und'} → {tag.reported}", action, *facts)
    stderr.print(table)
    if result.written:
        stderr.print(f"wrote {result.written}")


@app.command("languages")
def languages_command(
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """List the model's language labels with their names (tab-separated on stdout)."""
    from .languages import language_name

    with _errors_to_exit(debug):
        for label in model_labels(model, revision):
            typer.echo(f"{label}\t{language_name(label)}")


def model_labels(model: str, revision: str | None) -> list[str]:
    """Labels from the checkpoint's config alone: no weights are loaded."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model, revision=revision)
    except (OSError, ValueError) as error:
        raise model_error(model, error) from None
    return [str(config.id2label[i]) for i in range(len(config.id2label))]


def _writers(formats: list[str] | None, output: Path | None) -> list[Writer]:
    if formats:
        return get_writers(formats)
    if output is not None and str(output) != "-":
        return [writer_for_path(output)]
    return [get_writer("json")]


def _check_destination(inputs: list[str], writers: list[Writer], output: Path | None, output_dir: Path | None) -> None:
    if output is not None and output_dir is not None:
        raise UsageError("--output and --output-dir cannot be used together")
    if output is not None and len(inputs) > 1:
        raise UsageError("--output takes a single input; use --output-dir for several")
    if output is not None and len(writers) > 1:
        raise UsageError("--output takes a single format; use --output-dir for several")
    if output is None and output_dir is None and len(writers) > 1:
        raise UsageError("several formats need --output-dir")
    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output-dir {output_dir}: not a directory")


def _write(
    timelines: list[Timeline],
    writers: list[Writer],
    source: Path,
    output: Path | None,
    output_dir: Path | None,
    overwrite: bool,
) -> None:
    """Every output of one input, or none: all destinations are checked first, and a failed write takes back the
    files this call already wrote."""
    if (output is None and output_dir is None) or str(output) == STDIN_NAME:
        for writer in writers:
            sys.stdout.write(writer.dumps_all(timelines))
        sys.stdout.flush()
        return
    # One file per audio stream, or one for all of them when the format draws every track together (html).
    jobs = [
        (writer, group, output_path(group[0], writer, source, output, output_dir, several=len(group) < len(timelines)))
        for writer in writers
        for group in writer.documents(timelines)
    ]
    for _, _, target in jobs:
        check_target(target, overwrite)
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ExportError(f"{output_dir}: cannot create the output folder ({error.strerror or error})") from None
    dump_all_or_nothing(jobs)


def output_path(
    timeline: Timeline, writer: Writer, source: Path, output: Path | None, output_dir: Path | None, several: bool
) -> Path:
    """``talk.json``; with several audio streams the stream index goes into the name: ``talk.stream1.json``."""
    stream = f".stream{timeline.stream}" if several else ""
    if output is not None:
        return output.with_name(f"{output.stem}{stream}{output.suffix}")
    assert output_dir is not None
    stem = "stdin" if str(source) == STDIN_NAME else source.stem
    return output_dir / f"{stem}{stream}.{writer.extension}"


def _print_table(timelines: list[Timeline]) -> None:
    for timeline in timelines:
        stream = "" if timeline.stream is None else f" · stream {timeline.stream}"
        table = Table(title=f"{timeline.source}{stream} · {timeline.duration:.1f} s", title_justify="left")
        for column in ("start", "end", "language", "name", "confidence"):
            table.add_column(column, justify="right" if column in ("start", "end", "confidence") else "left")
        for span in timeline.spans:
            table.add_row(
                _clock(span.start), _clock(span.end), span.language, span.name, f"{span.confidence:.0%}"
            )
        stderr.print(table)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:06.3f}" if hours else f"{minutes:02d}:{secs:06.3f}"


@contextmanager
def _progress(quiet: bool):
    """A progress bar of audio seconds on stderr, only when stderr is a terminal."""
    if quiet or not stderr.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[done]}"), TimeRemainingColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(label: str, done: float, total: float | None) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(Path(label).name, total=total, done="")
            bar.update(tasks[label], completed=done, total=total, done=f"{done:.0f}/{total or 0:.0f} s audio")

        yield update


@contextmanager
def _errors_to_exit(debug: bool):
    try:
        yield
    except LangspanError as error:
        _report(error, debug)
        raise typer.Exit(2 if isinstance(error, UsageError) else 1) from None
    except KeyboardInterrupt as interrupt:  # Ctrl-C while the model loads: the same as during detection
        _exit_interrupted(interrupt)


def _exit_interrupted(interrupt: KeyboardInterrupt) -> NoReturn:
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


def _report(error: LangspanError, debug: bool) -> None:
    if debug:
        stderr.print_exception()
    message = str(error).replace("\n", " ")
    print(f"langspan: error: {message}", file=sys.stderr)
