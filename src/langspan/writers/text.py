"""The text formats: ``json`` (the full record, versioned schema), ``jsonl`` (one span per line, streamable),
``srt`` and ``vtt`` (subtitles), ``rttm`` (NIST Rich Transcription Time Marked), ``csv`` and ``tsv``
(spreadsheets) and ``audacity`` (label track).
JSON schema (``schema/timeline.schema.json``, version ``SCHEMA_VERSION``)::

    {"schema": "langspan.timeline", "schema_version": 1,
     "source": "talk.mp4", "stream": 1, "duration": 61.48,
     "model": {"id": "facebook/mms-lid-256", "revision": "<commit or null>", "precision": "int8"},
     "options": {...every DetectOptions field...},
     "spans": [{"start": 0.0, "end": 12.0, "language": "eng", "name": "English", "confidence": 0.91,
                "alternatives": [{"language": "eng", "name": "English", "probability": 0.91}, ...]}],
     "stats": {"windows": 31, "classified_windows": 27, "refinement_windows": 3, ...},
     "windows": [...]}            # only with --include-windows
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from ..languages import NONSPEECH, UNKNOWN
from ..timeline import Span, Timeline
from .base import LONE_SURROGATE, Writer, json_text, split_lines

SCHEMA_NAME = "langspan.timeline"
SCHEMA_VERSION = 1


class JSONWriter(Writer):
    name = "json"
    extension = "json"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        yield from split_lines(json_text(timeline_document(timeline), indent=2))


def timeline_document(timeline: Timeline) -> dict[str, Any]:
    """The JSON document of one timeline (see the module docstring)."""
    document: dict[str, Any] = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "source": timeline.source,
        "stream": timeline.stream,
        "duration": round(timeline.duration, 3),
        "model": model_document(timeline),
        "options": timeline.options,
        "spans": [span.to_dict() for span in timeline.spans],
    }
    if timeline.stats:
        document["stats"] = dict(timeline.stats)
    if timeline.windows is not None:
        top_k = int(timeline.options.get("top_k", 3))
        document["windows"] = [window.to_dict(timeline.labels, top_k) for window in timeline.windows]
    return document


def model_document(timeline: Timeline) -> dict[str, Any]:
    """The model's id and revision, and the precision it ran in when the classifier says (``options.precision``
    echoes what was asked for, often ``auto``)."""
    document: dict[str, Any] = {"id": timeline.model, "revision": timeline.revision}
    if timeline.precision is not None:
        document["precision"] = timeline.precision
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
        yield from split_lines(buffer.getvalue())


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
