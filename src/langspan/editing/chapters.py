"""Write language chapters into MP3 (ID3v2 CHAP frames), MP4/M4A (QuickTime chapter track and Nero ``chpl``) and
Matroska/WebM files, by stream copy.

The copy is ``tagging.write``'s: every stream, tag and attachment of the source is copied (``-map 0 -c copy``)
into a temporary file beside the destination, the chapters come from an ffmpeg metadata file that
``writers.chapters`` writes, and the copy is probed and compared with the source — streams, durations, global
tags, and chapters that must be exactly the new ones — before it is renamed over the destination. A file that
already has chapters is left alone unless ``replace`` is set.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..engine.core import ProgressCallback
from ..errors import MediaError, UsageError
from ..frontend import media
from ..models.base import Classifier
from ..options import DetectOptions
from ..tagging import write as tagwriter
from ..timeline import Timeline
from ..writers import check_target
from ..writers.chapters import Chapter, ffmetadata_text, language_chapters
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
    """What ``add_language_chapters`` did: the timeline of the stream the chapters come from, the chapters, and
    the file written (None for a dry run)."""

    source: str
    timeline: Timeline
    chapters: tuple[Chapter, ...]
    written: str | None


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
        check_existing(source, before, replace)
    timeline = stream_timeline(source, before, options or DetectOptions(), stream, classifier, progress)
    chapters = tuple(language_chapters(timeline))
    written = None
    if writes:
        written = str(
            write_chapters(source, chapters, before, output=output, overwrite=overwrite, replace=replace)
        )
    return ChaptersResult(str(source), timeline, chapters, written)


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


def check_existing(source: Path, probe: dict, replace: bool) -> None:
    """Refuse to drop chapters someone made unless asked to."""
    count = len(probe.get("chapters", []))
    if count and not replace:
        raise MediaError(f"{source}: already has {count} chapters (pass --replace to replace them)")


def write_chapters(
    source: Path,
    chapters: Sequence[Chapter],
    before: dict,
    *,
    output: Path | None = None,
    overwrite: bool = False,
    replace: bool = False,
) -> Path:
    """Write ``chapters`` into ``output``, or into ``source`` itself when None; returns the file written.

    ``before`` is ``media.probe_raw(source)``. MediaError when the source already has chapters (without
    ``replace``), when ffmpeg fails or when the copy differs from the source in anything but the chapters.
    """
    if not chapters:
        raise MediaError(f"{source}: no chapters to write (the timeline is empty)")
    target = chapter_target(source, before, output, overwrite)
    check_existing(source, before, replace)
    expected = [_probed_form(chapter) for chapter in chapters]

    with _metadata_file(chapters) as metadata:

        def produce(temporary: Path) -> None:
            command = tagwriter.ffmpeg_command(source, temporary, {}, before, target.muxer, chapters=metadata)
            tagwriter.run_ffmpeg(command, source)

        def check(after: dict) -> None:
            tagwriter.verify(before, after, {}, f"{source}: the copy with chapters", chapters=expected)

        return tagwriter.replace_verified(source, output, produce, check)


def _probed_form(chapter: Chapter) -> dict:
    """A chapter as ``ffprobe -show_chapters`` reports it, for the comparison with what was written."""
    return {"start_time": f"{chapter.start:.6f}", "end_time": f"{chapter.end:.6f}", "tags": {"title": chapter.title}}


@contextmanager
def _metadata_file(chapters: Sequence[Chapter]) -> Iterator[Path]:
    """The chapters as an ffmpeg metadata file (mode 0600, system temporary folder), removed afterwards."""
    handle, name = tempfile.mkstemp(prefix="langspan-chapters-", suffix=".ffmeta")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(ffmetadata_text(chapters))
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
