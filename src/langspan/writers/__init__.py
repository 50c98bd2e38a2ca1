"""Output formats, keyed by name: the registry the CLI, the batch runner and the API choose writers from.

``text`` holds the line-based formats, ``html`` the self-contained page, ``chapters`` the chapter lists (``all`` means every format), ``base``
the Writer class and atomic file writing, ``files`` the names and folders outputs go to. To add a format: subclass
``Writer`` in a module of this package and add it to ``WRITERS`` below.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from .base import LONE_SURROGATE, Writer, check_target, dump_all_or_nothing, json_text, split_lines, write_atomic
from .chapters import FFMetadataWriter, PodcastChaptersWriter
from .html import HTMLWriter
from .text import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    AudacityWriter,
    CSVWriter,
    JSONLinesWriter,
    JSONWriter,
    RTTMWriter,
    SRTWriter,
    SubtitleWriter,
    TSVWriter,
    VTTWriter,
    cue_text,
    rttm_uri,
    timeline_document,
)

ALL_FORMATS = "all"
WRITERS: dict[str, type[Writer]] = {
    writer.name: writer
    for writer in (
        JSONWriter, JSONLinesWriter, SRTWriter, VTTWriter, RTTMWriter, CSVWriter, TSVWriter, AudacityWriter, HTMLWriter,
        FFMetadataWriter, PodcastChaptersWriter,
    )
}  # fmt: skip

__all__ = [
    "ALL_FORMATS", "LONE_SURROGATE", "SCHEMA_NAME", "SCHEMA_VERSION", "WRITERS", "AudacityWriter", "CSVWriter",
    "FFMetadataWriter", "HTMLWriter", "JSONLinesWriter", "JSONWriter", "PodcastChaptersWriter", "RTTMWriter",
    "SRTWriter", "SubtitleWriter", "TSVWriter",
    "VTTWriter", "Writer", "check_target", "cue_text", "dump_all_or_nothing", "get_writer", "get_writers",
    "json_text", "rttm_uri", "split_lines", "timeline_document", "write_atomic", "writer_for_path",
]  # fmt: skip


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
    """The writer whose extension matches a file name (``out.srt`` → SRT); the longest extension wins, so
    ``ep1.chapters.json`` is Podcasting 2.0 chapters and ``ep1.json`` the timeline."""
    name = Path(path).name.lower()
    matches = [writer for writer in WRITERS.values() if name.endswith("." + writer.extension)]
    if matches:
        return max(matches, key=lambda writer: len(writer.extension))()
    raise UsageError(f"cannot tell the format of {os.fspath(path)!r} from its extension: pass -f")
