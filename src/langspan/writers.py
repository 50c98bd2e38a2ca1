"""Output formats, keyed by name. Each writer turns a Timeline into lines, a string, or a file written atomically.

JSON schema (``schema/timeline.schema.json``, version ``SCHEMA_VERSION``)::

    {"schema": "langspan.timeline", "schema_version": 1,
     "source": "talk.mp4", "stream": 1, "duration": 61.48,
     "model": {"id": "facebook/mms-lid-256", "revision": "<commit or null>"},
     "options": {...every DetectOptions field...},
     "spans": [{"start": 0.0, "end": 12.0, "language": "eng", "name": "English", "confidence": 0.91,
                "alternatives": [{"language": "eng", "name": "English", "probability": 0.91}, ...]}],
     "windows": [...]}            # only with --include-windows
"""

from __future__ import annotations

import datetime
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import srt

from .errors import ExportError, UsageError
from .languages import NONSPEECH, UNKNOWN
from .timeline import Timeline

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SCHEMA_NAME = "langspan.timeline"
SCHEMA_VERSION = 1


class Writer:
    """Base writer: subclasses define ``extension`` and ``iter_lines``."""

    name: ClassVar[str]
    extension: ClassVar[str]

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        raise NotImplementedError

    def dumps(self, timeline: Timeline) -> str:
        return "".join(line + "\n" for line in self.iter_lines(timeline))

    def dump(self, timeline: Timeline, path: str | os.PathLike[str]) -> None:
        write_atomic(Path(path), self.dumps(timeline))


class JSONWriter(Writer):
    name = "json"
    extension = "json"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        text = json.dumps(timeline_document(timeline), indent=2, ensure_ascii=False)
        # A file name that is not valid UTF-8 reaches Python with lone surrogates (os.fsdecode), which no UTF-8
        # file or terminal can hold: escaped as \udcff they are valid JSON and read back to the very same name.
        yield from _lines(LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text))


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
    if timeline.windows is not None:
        top_k = int(timeline.options.get("top_k", 3))
        document["windows"] = [window.to_dict(timeline.labels, top_k) for window in timeline.windows]
    return document


class SRTWriter(Writer):
    """One cue per span; the text names the language, its code and the confidence."""

    name = "srt"
    extension = "srt"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        # SRT players reject zero-length cues: a span shorter than the millisecond SRT counts in is left out, and
        # the cues are numbered after that, 1, 2, 3, … without gaps.
        timed = [(_delta(span.start), _delta(span.end), span) for span in timeline.spans]
        cues = [(start, end, span) for start, end, span in timed if end > start]
        subtitles = [srt.Subtitle(i, start, end, cue_text(span)) for i, (start, end, span) in enumerate(cues, start=1)]
        yield from _lines(srt.compose(subtitles, reindex=False))


def cue_text(span) -> str:
    if span.language == NONSPEECH:
        return "[no speech]"
    if span.language == UNKNOWN:
        return "[unknown language]"
    return f"{span.name} ({span.language}) {span.confidence:.0%}"


def _delta(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(milliseconds=round(seconds * 1000))


WRITERS: dict[str, type[Writer]] = {writer.name: writer for writer in (JSONWriter, SRTWriter)}


def get_writer(name: str) -> Writer:
    try:
        return WRITERS[name.lower()]()
    except KeyError:
        raise UsageError(f"unknown format {name!r} (choose from {', '.join(WRITERS)})") from None


def writer_for_path(path: str | os.PathLike[str]) -> Writer:
    """The writer whose extension matches a file name (``out.srt`` → SRT)."""
    suffix = Path(path).suffix.lstrip(".").lower()
    for writer in WRITERS.values():
        if writer.extension == suffix:
            return writer()
    raise UsageError(f"cannot tell the format of {os.fspath(path)!r} from its extension: pass -f")


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
