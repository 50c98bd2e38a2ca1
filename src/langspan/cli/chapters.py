"""``langspan chapters``: language chapters written into MP3, MP4/M4A and Matroska files by verified stream copy.

Like the rest of the command line, the only code here that prints or exits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..editing.chapters import ChaptersResult, add_language_chapters
from ..engine.local import load_classifier
from ..errors import UsageError
from ..languages import parse_language_list
from ..models.base import DEFAULT_MODEL
from ..options import DetectOptions
from ..writers.chapters import podcast_chapters_document
from .common import (
    DEFAULTS,
    DebugOption,
    DeviceOption,
    LanguagesOption,
    ModelOption,
    RevisionOption,
    errors_to_exit,
    progress_bar,
    run_each,
    sigterm_as_interrupt,
    stderr,
)


def chapters_command(
    inputs: Annotated[list[str], typer.Argument(help="MP3, MP4/M4A or Matroska/WebM files.", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the copy with chapters here (single input).")
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Replace each input with its copy with chapters (verified, atomic).")
    ] = False,
    replace: Annotated[
        bool, typer.Option(help="Replace the chapters a file has (otherwise they are kept, language chapters added).")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Let --output replace an existing file.")] = False,
    stream: Annotated[
        int | None, typer.Option(help="Audio stream the chapters follow (ffprobe index) \\[default: the first].")
    ] = None,
    languages: LanguagesOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="The chapters as Podcasting 2.0 JSON on stdout, one document per input.")
    ] = False,
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: DeviceOption = DEFAULTS.device,
    batch_size: Annotated[int, typer.Option(help="Windows per model call.")] = DEFAULTS.batch_size,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Write one chapter per run of a spoken language into each file (MP3, MP4/M4A, MKV) by stream copy.

    Nothing is re-encoded; the copy is compared with the original before it replaces anything.

    Without --in-place or --output nothing is written (a dry run that shows the chapters).

    Chapters a file already has are kept, the language chapters added among them; --replace drops them.

    Exit codes: 0 done, 1 an input failed, 2 usage error, 130 interrupted.
    """
    with errors_to_exit(debug):
        if output is not None and len(inputs) > 1:
            raise UsageError("--output takes a single input; use --in-place for several")
        if output is not None and in_place:
            raise UsageError("--output and --in-place cannot be used together")
        options = DetectOptions(
            model=model, revision=revision, device=device, batch_size=batch_size,
            languages=parse_language_list(languages) if languages is not None else None,
        )  # fmt: skip
        classifier = load_classifier(options)
    if not (in_place or output is not None or quiet):
        stderr.print("langspan: dry run, nothing is written (pass --in-place or --output FILE to write)")
    def chapters_of(path: str) -> None:
        with sigterm_as_interrupt(), progress_bar(quiet) as progress:
            result = add_language_chapters(
                path, options, stream=stream, output=output, in_place=in_place, overwrite=overwrite,
                replace=replace, classifier=classifier, progress=progress,
            )  # fmt: skip
        if json_output:
            sys.stdout.write(json.dumps(podcast_chapters_document(result.timeline), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        if not quiet:
            _print_chapters(result)

    failures = run_each(inputs, debug, chapters_of)
    if failures:
        raise typer.Exit(1)


def _print_chapters(result: ChaptersResult) -> None:
    stream = result.timeline.stream
    table = Table(title=f"{result.source} · stream {stream} · {len(result.chapters)} chapters", title_justify="left")
    for column in ("start", "end", "title"):
        table.add_column(column, justify="left" if column == "title" else "right")
    for chapter in result.chapters:
        table.add_row(f"{chapter.start:.3f}", f"{chapter.end:.3f}", chapter.title)
    stderr.print(table)
    if result.written:
        stderr.print(f"wrote {result.written}")
    elif result.asked_to_write:
        stderr.print(f"unchanged: {result.source} has these chapters already")
