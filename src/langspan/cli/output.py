"""Where ``langspan detect`` puts its results: the writers, their destinations (stdout, ``--output``,
``--output-dir``), all-or-nothing writing, JSON Lines streamed as spans become final, and the table on stderr.

Split from ``cli.py`` to keep each module readable; like it, the only code here that prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.table import Table

from .._entry import raise_if_interrupted
from ..errors import UsageError
from ..frontend.spool import STDIN_NAME
from ..timeline import Timeline
from ..writers import JSONLinesWriter, Writer, get_writer, get_writers, writer_for_path
from ..writers.files import check_output_dir, output_name, plan_outputs, write_planned
from .common import stderr


def writers_for(formats: list[str] | None, output: Path | None) -> list[Writer]:
    if formats:
        return get_writers(formats)
    if output is not None and str(output) != "-":
        return [writer_for_path(output)]
    return [get_writer("json")]


def check_destination(inputs: list[str], writers: list[Writer], output: Path | None, output_dir: Path | None) -> None:
    if output is not None and output_dir is not None:
        raise UsageError("--output and --output-dir cannot be used together")
    if output is not None and len(inputs) > 1:
        raise UsageError("--output takes a single input; use --output-dir for several")
    if output is not None and len(writers) > 1:
        raise UsageError("--output takes a single format; use --output-dir for several")
    if output is None and output_dir is None and len(writers) > 1:
        raise UsageError("several formats need --output-dir")
    if output_dir is not None:
        check_output_dir(output_dir)


def write_outputs(
    timelines: list[Timeline],
    writers: list[Writer],
    source: Path,
    output: Path | None,
    output_dir: Path | None,
    overwrite: bool,
) -> None:
    """Every output of one input, or none: all destinations are checked first, and a failed write takes back the
    files this call already wrote."""
    raise_if_interrupted()  # a Ctrl-C that Python dropped in a finalizer must not let the outputs through
    if (output is None and output_dir is None) or str(output) == STDIN_NAME:
        for writer in writers:
            sys.stdout.write(writer.dumps_all(timelines))
        sys.stdout.flush()
        return
    planned = plan_outputs(
        timelines, writers, lambda writer, stream: output_path(writer, stream, source, output, output_dir)
    )
    write_planned(planned, lambda target: overwrite, make_folders=output_dir is not None)


def output_path(writer: Writer, stream: int | None, source: Path, output: Path | None, output_dir: Path | None) -> Path:
    """``--output`` as given, or the input's name in ``--output-dir``; with several audio streams the stream index
    goes into the name: ``talk.stream1.json``."""
    if output is not None:
        return output.with_name(output_name(output.stem, stream, output.suffix.lstrip(".")))
    assert output_dir is not None
    stem = "stdin" if str(source) == STDIN_NAME else source.stem
    return output_dir / output_name(stem, stream, writer.extension)


def print_table(timelines: list[Timeline]) -> None:
    for timeline in timelines:
        stream = "" if timeline.stream is None else f" · stream {timeline.stream}"
        table = Table(title=f"{timeline.source}{stream} · {timeline.duration:.1f} s", title_justify="left")
        for column in ("start", "end", "language", "name", "confidence"):
            table.add_column(column, justify="right" if column in ("start", "end", "confidence") else "left")
        for span in timeline.spans:
            table.add_row(_clock(span.start), _clock(span.end), span.language, span.name, f"{span.confidence:.0%}")
        stderr.print(table)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:06.3f}" if hours else f"{minutes:02d}:{secs:06.3f}"


def print_span(source: str, stream: int | None, span) -> None:
    # One line per final span, flushed at once: `langspan detect - -f jsonl | jq` sees spans while we work.
    sys.stdout.write(JSONLinesWriter.span_line(source, stream, span) + "\n")
    sys.stdout.flush()


def streaming_writer(writers: list[Writer], output: Path | None, output_dir: Path | None) -> Writer | None:
    """The JSON Lines writer when it writes to stdout: its lines go out as spans become final."""
    to_stdout = (output is None and output_dir is None) or str(output) == STDIN_NAME
    jsonl = [writer for writer in writers if isinstance(writer, JSONLinesWriter)]
    return jsonl[0] if to_stdout and jsonl else None
