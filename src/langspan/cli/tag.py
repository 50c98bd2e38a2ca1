"""``langspan tag``: write each audio track's detected language into its container language tag, or check the tags
already there, and report per stream in a table on stderr.

Split from ``cli.py`` to keep each module readable; like it, the only code here that prints or exits.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..engine.local import load_classifier
from ..errors import UsageError
from ..languages import parse_language_list
from ..models.base import DEFAULT_MODEL
from ..options import DetectOptions
from ..tagging.decide import DEFAULT_MIN_CONFIDENCE, TagOptions, TagResult, result_document, tag_file
from .common import (
    DEFAULTS,
    CacheOption,
    DebugOption,
    DeviceOption,
    ModelOption,
    RevisionOption,
    StallTimeoutOption,
    StreamsOption,
    errors_to_exit,
    progress_bar,
    run_each,
    sigterm_as_interrupt,
    stderr,
    use_stall_timeout,
)


def tag_command(
    inputs: Annotated[list[str], typer.Argument(help="Matroska/WebM or MP4 files.", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the tagged copy here (single input).")
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
    streams: StreamsOption = None,
    min_confidence: Annotated[
        float, typer.Option(help="Leave the tag alone (report und) below this track confidence.")
    ] = DEFAULT_MIN_CONFIDENCE,
    languages: Annotated[
        str | None, typer.Option(help="Languages the tracks may be in, comma-separated ISO 639 codes (eng,de).")
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
    device: DeviceOption = DEFAULTS.device,
    batch_size: Annotated[int, typer.Option(help="Windows per model call.")] = DEFAULTS.batch_size,
    cache: CacheOption = True,
    stall_timeout: StallTimeoutOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Write each audio track's dominant spoken language into its language tag (MKV, MP4), without re-encoding.

    Exit codes: 0 done, 1 an input failed, 2 usage error, 3 --check found a tag that disagrees, 130 interrupted.
    """
    with errors_to_exit(debug):
        use_stall_timeout(stall_timeout)
        if output is not None and len(inputs) > 1:
            raise UsageError("--output takes a single input; use --in-place for several")
        detect_options = DetectOptions(
            model=model, revision=revision, device=device, batch_size=batch_size, cache=cache,
            streams=tuple(streams) if streams else None,
        )  # fmt: skip
        options = TagOptions(
            detect=detect_options, min_confidence=min_confidence,
            languages=parse_language_list(languages) if languages is not None else None,
            force=force, check=check, dry_run=dry_run, in_place=in_place, output=output, overwrite=overwrite,
            engine=engine, full_pass=full_pass,
        )  # fmt: skip
    if not (options.writes or check or dry_run or quiet):
        stderr.print("langspan: dry run, nothing is written (pass --in-place or --output FILE to write)")
    classifier = functools.cache(lambda: load_classifier(detect_options))
    disagreements = 0

    def tag_one(path: str) -> None:
        nonlocal disagreements
        with sigterm_as_interrupt(), progress_bar(quiet) as progress:
            result = tag_file(path, options, classifier, progress)
        if json_output:
            sys.stdout.write(json.dumps(result_document(result, options), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        if not quiet:
            _print_tag_table(result, check)
        disagreements += result.disagrees

    failures = run_each(inputs, debug, tag_one)
    if failures:
        raise typer.Exit(1)
    if check and disagreements:
        raise typer.Exit(3)


def _print_tag_table(result: TagResult, check: bool) -> None:
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
