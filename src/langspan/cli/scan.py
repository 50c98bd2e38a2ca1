"""``langspan scan``: the dominant language of each audio stream from a few probe windows (JSON Lines on stdout).

Like the rest of the command line, the only code here that prints or exits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..engine.local import load_classifier
from ..engine.sparse import StoppingRule, scan
from ..errors import LangspanError
from ..languages import parse_language_list
from ..models.base import DEFAULT_MODEL
from ..options import DetectOptions
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
    report,
    stderr,
    use_stall_timeout,
)

RULE = StoppingRule()


def scan_command(
    inputs: Annotated[list[Path], typer.Argument(help="Media files (any format ffmpeg reads).", show_default=False)],
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: DeviceOption = DEFAULTS.device,
    precision: Annotated[str, typer.Option(help="auto, fp32, int8, fp16 or bf16.")] = DEFAULTS.precision,
    threads: ThreadsOption = None,
    cache: CacheOption = DEFAULTS.cache,
    streams: StreamsOption = None,
    languages: LanguagesOption = None,
    confidence: Annotated[
        float, typer.Option(help="Stop once the leading language is this certain.")
    ] = RULE.confidence,
    min_probes: Annotated[
        int, typer.Option(help="Probe windows classified before the scan may stop.")
    ] = RULE.min_probes,
    max_probes: Annotated[
        int, typer.Option(help="Probe windows before falling back to a full pass.")
    ] = RULE.max_probes,
    stall_timeout: StallTimeoutOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Dominant language of each audio stream from a few probe windows (fast; JSON Lines on stdout)."""
    with errors_to_exit(debug):
        use_stall_timeout(stall_timeout)
        options = DetectOptions(
            model=model, revision=revision, device=device, precision=precision, threads=threads, cache=cache,
            streams=tuple(streams) if streams else None,
            languages=parse_language_list(languages) if languages else None,
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
