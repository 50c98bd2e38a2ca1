"""Output formats, keyed by name. Each writer turns a Timeline into lines, a string, or a file written atomically.

Formats: ``json`` (the full record, versioned schema), ``jsonl`` (one span per line, streamable), ``srt`` and
``vtt`` (subtitles), ``rttm`` (NIST Rich Transcription Time Marked), ``csv`` and ``tsv`` (spreadsheets),
``audacity`` (label track) and ``html`` (a self-contained picture, see ``writers_html``). ``all`` means every one.

JSON schema (``schema/timeline.schema.json``, version ``SCHEMA_VERSION``)::

    {"schema": "langspan.timeline", "schema_version": 1,
     "source": "talk.mp4", "stream": 1, "duration": 61.48,
     "model": {"id": "facebook/mms-lid-256", "revision": "<commit or null>"},
     "options": {...every DetectOptions field...},
     "spans": [{"start": 0.0, "end": 12.0, "language": "eng", "name": "English", "confidence": 0.91,
                "alternatives": [{"language": "eng", "name": "English", "probability": 0.91}, ...]}],
     "stats": {"windows": 31, "classified_windows": 27, "refinement_windows": 3, ...},
     "windows": [...]}            # only with --include-windows
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from .errors import ExportError, UsageError
from .languages import NONSPEECH, UNKNOWN
from .timeline import Span, Timeline

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SCHEMA_NAME = "langspan.timeline"
SCHEMA_VERSION = 1
ALL_FORMATS = "all"


class Writer:
    """Base writer: subclasses define ``name``, ``extension`` and ``iter_lines``.

    A writer whose ``combines_tracks`` is true writes every audio stream of one input into a single document
    (``dumps_all``); the others write one document per stream, and several documents on stdout follow each other.
    """

    name: ClassVar[str]
    extension: ClassVar[str]
    combines_tracks: ClassVar[bool] = False

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        raise NotImplementedError

    def dumps(self, timeline: Timeline) -> str:
        return "".join(line + "\n" for line in self.iter_lines(timeline))

    def documents(self, timelines: Sequence[Timeline]) -> list[list[Timeline]]:
        """The timelines of one input that go into each output file: all together, or one per audio stream."""
        if self.combines_tracks or len(timelines) <= 1:
            return [list(timelines)]
        return [[timeline] for timeline in timelines]

    def dumps_all(self, timelines: Sequence[Timeline]) -> str:
        """Every timeline of one input as one string: the documents one after another."""
        return "".join(self.dumps(timeline) for timeline in timelines)

    def dump(self, timeline: Timeline, path: str | os.PathLike[str]) -> None:
        write_atomic(Path(path), self.dumps(timeline))

    def dump_all(self, timelines: Sequence[Timeline], path: str | os.PathLike[str]) -> None:
        write_atomic(Path(path), self.dumps_all(timelines))


class JSONWriter(Writer):
    name = "json"
    extension = "json"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        yield from _lines(json_text(timeline_document(timeline), indent=2))


def json_text(document: Any, indent: int | None = None) -> str:
    """JSON that any UTF-8 file or terminal can hold, whatever the file names inside."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    # A file name that is not valid UTF-8 reaches Python with lone surrogates (os.fsdecode), which no UTF-8
    # file or terminal can hold: escaped as \udcff they are valid JSON and read back to the very same name.
    return LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): it also breaks at U+2028, U+0085 and friends, which JSON keeps raw inside strings (a
    # file name may hold them), and the joined output would then carry a bare newline inside a string.
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def timeline_document(timeline: Timeline) -> dict[str, Any]:
    """The JSON document of one timeline (see the module docstring)."""
    document: dict[str, Any] = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "source": timeline.source,
        "stream": timeline.stream,
        "duration": round(timeline.duration, 3),
        "model": {"id": timeline.model, "revision": timeline.revision},
        "options": timeline.options,
        "spans": [span.to_dict() for span in timeline.spans],
    }
    if timeline.stats:
        document["stats"] = dict(timeline.stats)
    if timeline.windows is not None:
        top_k = int(timeline.options.get("top_k", 3))
        document["windows"] = [window.to_dict(timeline.labels, top_k) for window in timeline.windows]
    return document


class JSONLinesWriter(Writer):
    """One compact JSON object per span, so a consumer can act on each span as soon as it is final.

    ``span_line`` is what the CLI streams while a file is still being analysed; ``iter_lines`` gives the same
    lines for a finished timeline.
    """

    name = "jsonl"
    extension = "jsonl"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        for span in timeline.spans:
            yield self.span_line(timeline.source, timeline.stream, span)

    @staticmethod
    def span_line(source: str, stream: int | None, span: Span) -> str:
        return json_text({"source": source, "stream": stream, **span.to_dict()})


class SubtitleWriter(Writer):
    """One cue per non-empty span. SRT and WebVTT differ only in the header, cue numbers and decimal marker."""

    header: ClassVar[tuple[str, ...]] = ()
    numbered: ClassVar[bool] = True
    decimal_marker: ClassVar[str] = ","

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        yield from self.header
        # Players reject zero-length cues: a span shorter than the millisecond the formats count in is left out,
        # and the cues are numbered after that, 1, 2, 3, … without gaps.
        cues = [span for span in timeline.spans if _milliseconds(span.end) > _milliseconds(span.start)]
        for number, span in enumerate(cues, start=1):
            if self.numbered:
                yield str(number)
            yield f"{self.timestamp(span.start)} --> {self.timestamp(span.end)}"
            yield cue_text(span)
            yield ""

    def timestamp(self, seconds: float) -> str:
        milliseconds = _milliseconds(seconds)
        hours, milliseconds = divmod(milliseconds, 3_600_000)
        minutes, milliseconds = divmod(milliseconds, 60_000)
        secs, milliseconds = divmod(milliseconds, 1000)
        return f"{hours:02d}:{minutes:02d}:{secs:02d}{self.decimal_marker}{milliseconds:03d}"


class SRTWriter(SubtitleWriter):
    name = "srt"
    extension = "srt"


class VTTWriter(SubtitleWriter):
    name = "vtt"
    extension = "vtt"
    header = ("WEBVTT", "")
    numbered = False
    decimal_marker = "."


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def cue_text(span: Span) -> str:
    if span.language == NONSPEECH:
        return "[no speech]"
    if span.language == UNKNOWN:
        return "[unknown language]"
    return f"{span.name} ({span.language}) {span.confidence:.0%}"


class RTTMWriter(Writer):
    """NIST RTTM: ``SPEAKER <uri> 1 <tbeg> <tdur> <NA> <NA> <language> <NA> <NA>``, one line per speech span.

    The language code goes in the speaker-name field, so diarization tooling (pyannote, dscore) can score
    language turns like speaker turns. Non-speech is left out (RTTM marks what is there); the file id (uri) is the
    input's name without extension and with whitespace replaced, because fields are separated by spaces.
    """

    name = "rttm"
    extension = "rttm"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        uri = rttm_uri(timeline.source)
        for span in timeline.spans:
            if span.language == NONSPEECH or _milliseconds(span.end) <= _milliseconds(span.start):
                continue  # a turn shorter than the millisecond RTTM counts in would read as zero length
            name = "_".join(span.language.split())  # labels of other checkpoints may hold spaces
            start, end = _milliseconds(span.start), _milliseconds(span.end)
            yield f"SPEAKER {uri} 1 {start / 1000:.3f} {(end - start) / 1000:.3f} <NA> <NA> {name} <NA> <NA>"


def rttm_uri(source: str) -> str:
    stem = Path(source).stem if source not in ("-", "") else "stdin"
    return "_".join(LONE_SURROGATE.sub("_", stem).split()) or "stdin"


class CSVWriter(Writer):
    """Spreadsheet rows: start and end in integer milliseconds, language code, name, confidence."""

    name = "csv"
    extension = "csv"
    delimiter: ClassVar[str] = ","
    columns = ("start_ms", "end_ms", "language", "name", "confidence")

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        buffer = io.StringIO()
        table = csv.writer(buffer, delimiter=self.delimiter, lineterminator="\n")
        table.writerow(self.columns)
        for span in timeline.spans:
            table.writerow(
                [round(span.start * 1000), round(span.end * 1000), span.language, span.name, f"{span.confidence:.4f}"]
            )
        yield from _lines(buffer.getvalue())


class TSVWriter(CSVWriter):
    name = "tsv"
    extension = "tsv"
    delimiter = "\t"


class AudacityWriter(Writer):
    """An Audacity label track (File ▸ Import ▸ Labels): ``start<TAB>end<TAB>label`` in seconds, one per span."""

    name = "audacity"
    extension = "txt"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        for span in timeline.spans:
            yield f"{span.start:.6f}\t{span.end:.6f}\t{cue_text(span)}"


def get_writer(name: str) -> Writer:
    try:
        return WRITERS[name.lower()]()
    except KeyError:
        raise UsageError(f"unknown format {name!r} (choose from {', '.join(WRITERS)}, {ALL_FORMATS})") from None


def get_writers(names: Sequence[str]) -> list[Writer]:
    """Writers for format names, in order, without repeats; ``all`` stands for every format."""
    expanded: list[str] = []
    for name in names:
        expanded.extend(WRITERS if name.lower() == ALL_FORMATS else [name.lower()])
    return [get_writer(name) for name in dict.fromkeys(expanded)]


def writer_for_path(path: str | os.PathLike[str]) -> Writer:
    """The writer whose extension matches a file name (``out.srt`` → SRT)."""
    suffix = Path(path).suffix.lstrip(".").lower()
    for writer in WRITERS.values():
        if writer.extension == suffix:
            return writer()
    raise UsageError(f"cannot tell the format of {os.fspath(path)!r} from its extension: pass -f")


def dump_all_or_nothing(jobs: Sequence[tuple[Writer, Sequence[Timeline], Path]]) -> None:
    """Write every (writer, timelines, path) job; if one fails, remove the files already written by the others."""
    written: list[Path] = []
    try:
        for writer, group, target in jobs:
            writer.dump_all(group, target)
            written.append(target)
    except BaseException:
        for target in written:
            target.unlink(missing_ok=True)
        raise


def check_target(path: Path, overwrite: bool = True) -> None:
    """Refuse, before anything is written, a destination that cannot or must not be replaced by a file."""
    if path.is_dir():
        raise ExportError(f"{path}: is a directory")
    if path.exists() and not path.is_file():
        # Renaming over /dev/null or a FIFO would replace the device or pipe itself with a plain file.
        raise ExportError(f"{path}: not a regular file (use -o - for stdout)")
    if path.exists() and not overwrite:
        raise ExportError(f"{path}: already exists (pass --overwrite to replace it)")


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it: readers never see half a file."""
    folder = path.parent if str(path.parent) else Path(".")
    check_target(path)
    try:
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=f".{path.name}.", suffix=".part", delete=False
        )
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException as error:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
        raise


# The HTML writer lives in its own module (it carries a page template) and subclasses Writer from above.
from .writers_html import HTMLWriter  # noqa: E402

WRITERS: dict[str, type[Writer]] = {
    writer.name: writer
    for writer in (
        JSONWriter, JSONLinesWriter, SRTWriter, VTTWriter, RTTMWriter, CSVWriter, TSVWriter, AudacityWriter, HTMLWriter
    )
}  # fmt: skip
