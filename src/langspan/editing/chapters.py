"""Write language chapters into MP3 (ID3v2 CHAP frames), MP4/M4A (QuickTime chapter track and Nero ``chpl``) and
Matroska/WebM files, by stream copy.

The copy is ``tagging.write``'s: every stream, tag and attachment of the source is copied (``-map 0 -c copy``)
into a temporary file beside the destination, the chapters come from an ffmpeg metadata file that
``writers.chapters`` writes, and the copy is probed and compared with the source — streams, durations, global
tags, and chapters that must be exactly the planned ones — before it is renamed over the destination. The
chapters a file already has are kept, exactly, with the language chapters added among them in time order;
``replace`` puts the language chapters in their place instead.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..engine.core import ProgressCallback
from ..errors import MediaError, UsageError
from ..frontend import media
from ..models.base import Classifier
from ..options import DetectOptions
from ..tagging import write as tagwriter
from ..timeline import Timeline
from ..writers import check_target
from ..writers.chapters import Chapter, ffmetadata_document, language_chapters
from . import stream_timeline

# ffmpeg muxer for each file name suffix, by container family: an output keeps its source's family.
CHAPTER_MUXERS = {
    "mp3": {".mp3": "mp3"},
    "mp4": {".mp4": "mp4", ".m4v": "mp4", ".m4a": "ipod", ".m4b": "ipod"},
    "matroska": tagwriter.MUXERS["matroska"],
}


@dataclass(frozen=True)
class ChapterTarget:
    """Where chapters go: the container family and the ffmpeg muxer that writes it."""

    family: str
    muxer: str


@dataclass(frozen=True)
class ChaptersResult:
    """What ``add_language_chapters`` did: the timeline of the stream the chapters come from, the language
    chapters, and the file written (None for a dry run, or when the file had every chapter already)."""

    source: str
    timeline: Timeline
    chapters: tuple[Chapter, ...]
    written: str | None
    asked_to_write: bool = False


def add_language_chapters(
    path: str | os.PathLike[str],
    options: DetectOptions | None = None,
    *,
    stream: int | None = None,
    output: Path | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    replace: bool = False,
    classifier: Classifier | None = None,
    progress: ProgressCallback | None = None,
) -> ChaptersResult:
    """Detect the languages of one audio stream of ``path`` (``stream``, default the first) and write them as
    chapters into ``output``, or into ``path`` itself with ``in_place``; with neither, only detect (a dry run).

    Everything that can be refused is refused before the audio is analysed.
    """
    source = Path(path)
    before = media.probe_raw(source)
    writes = in_place or output is not None
    if writes:
        chapter_target(source, before, output, overwrite)
    timeline = stream_timeline(source, before, options or DetectOptions(), stream, classifier, progress)
    chapters = tuple(language_chapters(timeline))
    written = None
    if writes:
        path_written = write_chapters(source, chapters, before, output=output, overwrite=overwrite, replace=replace)
        written = None if path_written is None else str(path_written)
    return ChaptersResult(str(source), timeline, chapters, written, writes)


def chapter_target(source: Path, probe: dict, output: Path | None, overwrite: bool) -> ChapterTarget:
    """The container to write, or the reason it cannot be: a format without chapters langspan can write, or an
    ``output`` name of another family, or an existing ``output`` without ``overwrite``."""
    family = _family(source, probe)
    muxers = CHAPTER_MUXERS[family]
    if output is None:
        return ChapterTarget(family, muxers.get(source.suffix.lower(), next(iter(muxers.values()))))
    if output.suffix.lower() not in muxers:
        raise UsageError(
            f"--output {output}: a {family} source needs a {'/'.join(muxers)} name "
            "(chapters are added by copying the streams, not by converting the container)"
        )
    check_target(output, overwrite)
    return ChapterTarget(family, muxers[output.suffix.lower()])


def _family(source: Path, probe: dict) -> str:
    format_name = probe.get("format", {}).get("format_name", "")
    brand = probe.get("format", {}).get("tags", {}).get("major_brand", "").strip()
    if format_name == "mp3":
        return "mp3"
    if format_name.startswith("matroska"):
        return "matroska"
    if format_name.startswith("mov,mp4") and brand != "qt" and source.suffix.lower() != ".mov":
        return "mp4"
    raise MediaError(
        f"{source}: cannot write chapters into {format_name or 'this'} files "
        "(langspan writes chapters into MP3, MP4/M4A and Matroska/WebM)"
    )


@dataclass(frozen=True)
class ChapterEntry:
    """A chapter as it is written: its own time base and integer times (a kept chapter keeps them exactly, so
    nanosecond Matroska times do not drift to milliseconds) and every tag."""

    time_base: str
    start: int
    end: int
    tags: tuple[tuple[str, str], ...]

    @classmethod
    def of_chapter(cls, chapter: Chapter) -> ChapterEntry:
        return cls("1/1000", chapter.start_ms, chapter.end_ms, (("title", chapter.title),))

    @classmethod
    def of_probe(cls, probed: dict) -> ChapterEntry:
        """A chapter of ``ffprobe -show_chapters``."""
        return cls(probed["time_base"], int(probed["start"]), int(probed["end"]), tuple(probed.get("tags", {}).items()))

    def seconds(self, value: int) -> float:
        return float(value * Fraction(self.time_base))

    @property
    def title(self) -> str | None:
        return dict(self.tags).get("title")

    def probed_form(self) -> dict:
        """The chapter as ffprobe will report it after writing, for the comparison with what was written."""
        return {"start_time": f"{self.seconds(self.start):.6f}", "end_time": f"{self.seconds(self.end):.6f}",
                "tags": dict(self.tags)}  # fmt: skip


def planned_chapters(
    existing: Sequence[dict], chapters: Sequence[Chapter], replace: bool, start_only: bool = False
) -> list[ChapterEntry]:
    """The chapters the file will have: the language chapters alone with ``replace``; otherwise the chapters it
    has, kept exactly, and the language chapters among them in order of start time (a language chapter the file
    already has — same start, same title — is not added twice, so running again changes nothing).

    ``start_only`` containers (MP4) store where chapters start, each ending where the next begins: a language
    chapter is added only where no chapter of the file starts, and every chapter ends at the next one's start.
    """
    new = [ChapterEntry.of_chapter(chapter) for chapter in chapters]
    if replace:
        return new
    old = [ChapterEntry.of_probe(chapter) for chapter in existing]
    fresh = [entry for entry in new if not any(_same_chapter(entry, kept, start_only) for kept in old)]
    merged = sorted(old + fresh, key=lambda entry: entry.seconds(entry.start))  # stable: kept ones first at a tie
    return _contiguous(merged) if start_only else merged


def _contiguous(entries: list[ChapterEntry]) -> list[ChapterEntry]:
    ends = [nxt.seconds(nxt.start) for nxt in entries[1:]]
    return [
        dataclasses.replace(entry, end=round(end / Fraction(entry.time_base)))
        for entry, end in zip(entries[:-1], ends, strict=True)
    ] + entries[-1:]


def _same_chapter(a: ChapterEntry, b: ChapterEntry, start_only: bool) -> bool:
    same_start = abs(a.seconds(a.start) - b.seconds(b.start)) <= tagwriter.CHAPTER_TOLERANCE
    return same_start and (start_only or a.title == b.title)


def write_chapters(
    source: Path,
    chapters: Sequence[Chapter],
    before: dict,
    *,
    output: Path | None = None,
    overwrite: bool = False,
    replace: bool = False,
) -> Path | None:
    """Add ``chapters`` to the file's own (or, with ``replace``, put them in their place), writing ``output`` or,
    when None, ``source`` itself; returns the file written, or None when ``source`` already had every chapter.

    ``before`` is ``media.probe_raw(source)``. MediaError when ffmpeg fails or the copy differs from the source
    in anything but the chapters.
    """
    if not chapters:
        raise MediaError(f"{source}: no chapters to write (the timeline is empty)")
    target = chapter_target(source, before, output, overwrite)
    existing = before.get("chapters", [])
    planned = planned_chapters(existing, chapters, replace, start_only=target.family == "mp4")
    if output is None and planned == [ChapterEntry.of_probe(chapter) for chapter in existing]:
        return None  # in place, with nothing to add: leave the file alone
    expected = [entry.probed_form() for entry in planned]

    with _metadata_file(planned) as metadata:

        def produce(temporary: Path) -> None:
            command = tagwriter.ffmpeg_command(source, temporary, {}, before, target.muxer, chapters=metadata)
            tagwriter.run_ffmpeg(command, source)

        def check(after: dict) -> None:
            tagwriter.verify(before, after, {}, f"{source}: the copy with chapters", chapters=expected)

        return tagwriter.replace_verified(source, output, produce, check)


@contextmanager
def _metadata_file(entries: Sequence[ChapterEntry]) -> Iterator[Path]:
    """The chapters as an ffmpeg metadata file (mode 0600, system temporary folder), removed afterwards."""
    handle, name = tempfile.mkstemp(prefix="langspan-chapters-", suffix=".ffmeta")
    sections = [(entry.time_base, entry.start, entry.end, dict(entry.tags)) for entry in entries]
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(ffmetadata_document(sections))
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
