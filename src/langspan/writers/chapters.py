"""Language chapters: a timeline as a chapter list for players and podcast apps.

Two formats, both written from ``language_chapters``:

* ``ffmetadata``: ffmpeg's metadata file (``;FFMETADATA1``, one ``[CHAPTER]`` section per chapter with
  ``TIMEBASE=1/1000``, ``START``, ``END`` and ``title``), which ffmpeg reads back with
  ``ffmpeg -i in.mp3 -i chapters.ffmeta -map_metadata 0 -map_chapters 1 -c copy out.mp3``;
* ``podcast-chapters``: the Podcasting 2.0 JSON chapters file (``{"version": "1.2.0", "chapters": [...]}``) that a
  feed links with ``<podcast:chapters type="application/json+chapters">``; its schema, written from the published
  specification, is ``schema/podcast-chapters.schema.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..languages import NONSPEECH, UNKNOWN
from ..timeline import Timeline
from .base import Writer, json_text, split_lines

PODCAST_CHAPTERS_VERSION = "1.2.0"
# Characters ffmpeg's metadata format escapes with a backslash (doc/metadata.texi; its muxer escapes the same set).
# A carriage return is escaped too: the demuxer ends a line at either kind of line break.
FFMETADATA_SPECIAL = frozenset("=;#\\\n\r")


@dataclass(frozen=True)
class Chapter:
    """One chapter: whole milliseconds, because every chapter format counts in them (or coarser)."""

    start_ms: int
    end_ms: int
    language: str
    title: str

    @property
    def start(self) -> float:
        return self.start_ms / 1000

    @property
    def end(self) -> float:
        return self.end_ms / 1000


def chapter_title(language: str, name: str) -> str:
    """``English``; ``No speech`` for audio without speech and ``Unknown language`` for uncertain speech."""
    if language == NONSPEECH:
        return "No speech"
    if language == UNKNOWN:
        return "Unknown language"
    return name


def language_chapters(timeline: Timeline) -> list[Chapter]:
    """One chapter per run of the same language: neighbouring spans of one language are joined (a chapter list
    says where the language changes), and spans shorter than the millisecond chapters count in are left out."""
    chapters: list[Chapter] = []
    for span in timeline.spans:
        start, end = round(span.start * 1000), round(span.end * 1000)
        if end <= start:
            continue
        if chapters and chapters[-1].language == span.language and chapters[-1].end_ms == start:
            chapters[-1] = Chapter(chapters[-1].start_ms, end, span.language, chapters[-1].title)
        else:
            chapters.append(Chapter(start, end, span.language, chapter_title(span.language, span.name)))
    return chapters


def ffmetadata_escape(value: str) -> str:
    return "".join("\\" + char if char in FFMETADATA_SPECIAL else char for char in value)


def ffmetadata_text(chapters: Sequence[Chapter]) -> str:
    """An ffmpeg metadata file holding only ``chapters`` (no global tags, so merging it changes nothing else)."""
    return ffmetadata_document(
        [("1/1000", chapter.start_ms, chapter.end_ms, {"title": chapter.title}) for chapter in chapters]
    )


def ffmetadata_document(sections: Sequence[tuple[str, int, int, Mapping[str, str]]]) -> str:
    """An ffmpeg metadata file of chapter sections: (time base such as ``1/1000``, start, end, tags) each."""
    lines = [";FFMETADATA1"]
    for time_base, start, end, tags in sections:
        lines += ["", "[CHAPTER]", f"TIMEBASE={time_base}", f"START={start}", f"END={end}"]
        lines += [f"{ffmetadata_escape(key)}={ffmetadata_escape(value)}" for key, value in tags.items()]
    return "\n".join(lines) + "\n"


class FFMetadataWriter(Writer):
    """ffmpeg's metadata file with one chapter per language run (see the module docstring)."""

    name = "ffmetadata"
    extension = "ffmeta"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        # An escaped line break in a title comes out as a backslash at the end of a line: joined back with "\n",
        # the text is the same, which is all ffmpeg reads.
        yield from split_lines(ffmetadata_text(language_chapters(timeline)))


def podcast_chapters_document(timeline: Timeline) -> dict[str, Any]:
    """The Podcasting 2.0 chapters document of a timeline: ``startTime``, ``endTime`` (seconds) and ``title``."""
    document: dict[str, Any] = {"version": PODCAST_CHAPTERS_VERSION}
    if timeline.source not in ("-", "", "<array>", "<AudioSegment>"):
        document["fileName"] = Path(timeline.source).name
    document["chapters"] = [
        {"startTime": chapter.start, "endTime": chapter.end, "title": chapter.title}
        for chapter in language_chapters(timeline)
    ]
    return document


class PodcastChaptersWriter(Writer):
    """Podcasting 2.0 JSON chapters (``application/json+chapters``), one chapter per language run."""

    name = "podcast-chapters"
    extension = "chapters.json"

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        yield from split_lines(json_text(podcast_chapters_document(timeline), indent=2))
