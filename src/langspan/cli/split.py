"""``langspan split``: one media file per language span (or per language), by stream copy or re-encoded.

Like the rest of the command line, the only code here that prints or exits.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..editing.split import SplitResult, split_file
from ..engine.local import load_classifier
from ..languages import parse_language_list
from ..models.base import DEFAULT_MODEL
from ..options import DetectOptions
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


def split_command(
    inputs: Annotated[list[str], typer.Argument(help="Media files (any format ffmpeg reads).", show_default=False)],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-d", help="Folder for the pieces and the manifest NAME.split.json.")
    ],
    by_language: Annotated[
        bool, typer.Option("--by-language", help="One file per language, its spans joined, instead of one per span.")
    ] = False,
    reencode: Annotated[
        bool, typer.Option("--reencode", help="Re-encode for exact cuts (default: stream copy, cut within a frame).")
    ] = False,
    keep_nonspeech: Annotated[
        bool, typer.Option("--keep-nonspeech", help="Also write the spans without speech.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace existing pieces and manifest.")] = False,
    stream: Annotated[
        int | None, typer.Option(help="Audio stream to follow (ffprobe index) \\[default: the first].")
    ] = None,
    languages: LanguagesOption = None,
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: DeviceOption = DEFAULTS.device,
    batch_size: Annotated[int, typer.Option(help="Windows per model call.")] = DEFAULTS.batch_size,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Cut each file where the spoken language changes: one file per span, or per language with --by-language.

    Names carry the index, language and times: talk.002.deu.00h00m06.848s-00h00m25.088s.mp3. The manifest
    NAME.split.json lists every piece with its spans.

    Stream copy keeps the quality and cuts audio within one codec frame; video starts at the first keyframe inside
    a span. --reencode cuts exactly.

    Every piece of an input is written, or none. Exit codes: 0 done, 1 an input failed, 2 usage error, 130
    interrupted.
    """
    with errors_to_exit(debug):
        options = DetectOptions(
            model=model, revision=revision, device=device, batch_size=batch_size,
            languages=parse_language_list(languages) if languages is not None else None,
        )  # fmt: skip
        classifier = load_classifier(options)
    def split_one(path: str) -> None:
        with sigterm_as_interrupt(), progress_bar(quiet) as progress:
            result = split_file(
                path, options, output_dir=output_dir, stream=stream, by_language=by_language, reencode=reencode,
                keep_nonspeech=keep_nonspeech, overwrite=overwrite, classifier=classifier, progress=progress,
            )  # fmt: skip
        sys.stdout.write(f"{result.manifest}\n")  # the manifest's path: `langspan split … | xargs jq`
        sys.stdout.flush()
        if not quiet:
            _print_pieces(result)

    failures = run_each(inputs, debug, split_one)
    if failures:
        raise typer.Exit(1)


def _print_pieces(result: SplitResult) -> None:
    table = Table(title=f"{result.source} · stream {result.timeline.stream}", title_justify="left")
    for column in ("file", "language", "spans", "seconds"):
        table.add_column(column, justify="right" if column in ("spans", "seconds") else "left")
    for piece in result.pieces:
        table.add_row(piece.path.name, piece.language, str(len(piece.spans)), f"{piece.duration:.3f}")
    stderr.print(table)
