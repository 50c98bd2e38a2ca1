"""Which files a batch works on: files named explicitly, and the media files inside folders."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# What a folder scan picks up: the audio and video containers ffmpeg reads that people keep in media libraries.
# Anything else in the folder (subtitles, images, our own outputs) is left alone; name files explicitly to force.
AUDIO_EXTENSIONS = frozenset({
    "aac", "ac3", "aif", "aiff", "alac", "amr", "ape", "au", "caf", "dts", "eac3", "flac", "m4a", "m4b", "mka", "mp2",
    "mp3", "mpc", "oga", "ogg", "opus", "ra", "spx", "tta", "wav", "wma", "wv",
})  # fmt: skip
VIDEO_EXTENSIONS = frozenset({
    "3gp", "asf", "avi", "divx", "f4v", "flv", "m2ts", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "mts", "mxf", "ogv",
    "rm", "rmvb", "ts", "vob", "webm", "wmv",
})  # fmt: skip
MEDIA_EXTENSIONS = AUDIO_EXTENSIONS | VIDEO_EXTENSIONS


@dataclass(frozen=True)
class Job:
    """One input file and the stem its outputs get under the output folder (``a/talk`` → ``a/talk.json``)."""

    path: Path
    stem: Path


def find_media(
    inputs: Iterable[str | os.PathLike[str]], recursive: bool = False, exclude: Path | None = None
) -> list[Job]:
    """Jobs for files given by name (any extension) and for the media files inside given folders.

    Folder contents are sorted, hidden entries (``.name``) and ``exclude`` (the output folder) are skipped, and
    sub-folders are entered only with ``recursive``. Two inputs that would get the same output name (``a.mp3``,
    ``a.wav``) keep their extension in it (``a.mp3.json``, ``a.wav.json``).
    """
    found: list[tuple[Path, Path]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found.extend((path, path.relative_to(item)) for path in _scan(item, recursive, exclude))
        else:
            found.append((item, Path(item.name)))
    stems = [relative.with_suffix("") for _, relative in found]
    clashes = {stem for stem in stems if stems.count(stem) > 1}
    pairs = zip(found, stems, strict=True)
    return [Job(path, relative if stem in clashes else stem) for (path, relative), stem in pairs]


def _scan(folder: Path, recursive: bool, exclude: Path | None, seen: set[Path] | None = None) -> Iterator[Path]:
    excluded = exclude.resolve() if exclude is not None else None
    seen = seen if seen is not None else {folder.resolve()}  # folders entered: a symlink loop is entered once
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or (excluded is not None and entry.resolve() == excluded):
            continue
        if entry.is_dir():
            if recursive and entry.resolve() not in seen:
                seen.add(entry.resolve())
                yield from _scan(entry, recursive, exclude, seen)
        elif entry.is_file() and entry.suffix.lstrip(".").lower() in MEDIA_EXTENSIONS:
            yield entry
