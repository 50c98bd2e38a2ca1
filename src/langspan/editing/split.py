"""Cut a media file where its language changes: one file per span, or one per language with its spans joined.

Cuts are stream copies by default (nothing re-encoded, so fast and lossless) and re-encodes on request. Each
piece holds the analysed audio stream and the file's video streams (not cover art); the global tags are kept,
the chapters are not (they describe the whole file).

**Accuracy of stream-copy cuts.** ffmpeg reads the file from the start and drops the packets before the cut
(an output-side ``-ss``/``-to``), so audio is cut at the packet boundary nearest the span's edges — within one
codec frame (MP3 24–72 ms, AAC 21–64 ms, Opus ≤ 60 ms). Video can only start at a keyframe: ffmpeg leaves out the
frames before the first keyframe inside the span, so a piece's picture may begin up to one keyframe interval
late. ``reencode`` decodes and cuts every stream exactly (at the cost of encoding with ffmpeg's default encoder
for the container). Joined spans (``by_language``) are cut one by one into a private temporary folder and joined
with ffmpeg's concat demuxer, again without re-encoding.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.core import ProgressCallback
from ..errors import ExportError, MediaError
from ..frontend import media
from ..frontend.media import local_url
from ..languages import NONSPEECH
from ..models.base import Classifier
from ..options import DetectOptions
from ..tagging import write as tagwriter
from ..timeline import Span, Timeline
from ..writers import check_target, json_text, write_atomic
from . import stream_timeline

# A file name suffix for a source without one, so ffmpeg knows which muxer writes the pieces (by ffprobe's
# format name; the first name of a "mov,mp4,m4a,…" list decides).
SUFFIX_OF_FORMAT = {"mp3": ".mp3", "matroska": ".mkv", "mov": ".mp4", "wav": ".wav", "flac": ".flac", "ogg": ".ogg",
                    "aac": ".aac", "mpegts": ".ts", "avi": ".avi", "w64": ".w64", "aiff": ".aiff"}  # fmt: skip
MANIFEST_SCHEMA = "langspan.split"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Piece:
    """One output file: its number, language and the source spans (seconds) it holds, in order."""

    index: int
    language: str
    name: str
    spans: tuple[tuple[float, float], ...]
    path: Path

    @property
    def duration(self) -> float:
        return sum(end - start for start, end in self.spans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path.name, "index": self.index, "language": self.language, "name": self.name,
            "start": self.spans[0][0], "end": self.spans[-1][1], "duration": round(self.duration, 3),
            "spans": [{"start": start, "end": end} for start, end in self.spans],
        }  # fmt: skip


@dataclass(frozen=True)
class SplitResult:
    source: str
    timeline: Timeline
    pieces: tuple[Piece, ...]
    manifest: Path


def split_file(
    path: str | os.PathLike[str],
    options: DetectOptions | None = None,
    *,
    output_dir: Path,
    stream: int | None = None,
    by_language: bool = False,
    reencode: bool = False,
    keep_nonspeech: bool = False,
    overwrite: bool = False,
    classifier: Classifier | None = None,
    progress: ProgressCallback | None = None,
) -> SplitResult:
    """Detect the languages of one audio stream of ``path`` (``stream``, default the first) and cut the file into
    ``output_dir``: every piece and the manifest ``<name>.split.json``, or nothing if any of them fails."""
    source = Path(path)
    if output_dir.exists() and not output_dir.is_dir():
        raise ExportError(f"--output-dir {output_dir}: not a directory")
    before = media.probe_raw(source)
    timeline = stream_timeline(source, before, options or DetectOptions(), stream, classifier, progress)
    pieces = plan_pieces(timeline.spans, output_dir, source, by_language, keep_nonspeech, _suffix(source, before))
    if not pieces:
        raise MediaError(f"{source}: no speech to split (pass --keep-nonspeech to cut the audio without speech too)")
    manifest = output_dir / f"{source.stem}.split.json"
    for target in [*(piece.path for piece in pieces), manifest]:
        check_target(target, overwrite)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"{output_dir}: cannot create the output folder ({error.strerror or error})") from None
    written: list[Path] = []
    try:
        for piece in pieces:
            cut_piece(source, before, timeline.stream, piece, reencode)
            written.append(piece.path)
        document = manifest_document(source, timeline, pieces, by_language, reencode)
        write_atomic(manifest, json_text(document, indent=2) + "\n")
    except BaseException:  # all or nothing: a failed or interrupted split leaves no pieces behind
        for target in written:
            target.unlink(missing_ok=True)
        raise
    return SplitResult(str(source), timeline, tuple(pieces), manifest)


def _suffix(source: Path, before: dict) -> str:
    if source.suffix:
        return source.suffix
    format_name = before.get("format", {}).get("format_name", "").split(",")[0]
    if format_name not in SUFFIX_OF_FORMAT:
        raise MediaError(f"{source}: cannot tell which container to cut {format_name or 'it'} into; rename it with "
                         "its usual extension")  # fmt: skip
    return SUFFIX_OF_FORMAT[format_name]


def plan_pieces(
    spans: Sequence[Span],
    output_dir: Path,
    source: Path,
    by_language: bool,
    keep_nonspeech: bool,
    suffix: str | None = None,
) -> list[Piece]:
    """The pieces and their names: ``talk.002.deu.00h00m06.848s-00h00m25.088s.mp3`` (index, language, first start
    and last end); spans shorter than a millisecond are left out."""
    kept = [s for s in spans if (keep_nonspeech or s.language != NONSPEECH) and round(s.end, 3) > round(s.start, 3)]
    groups: dict[Any, list[Span]] = {}
    for number, span in enumerate(kept):
        groups.setdefault(span.language if by_language else number, []).append(span)
    pieces = []
    for index, group in enumerate(groups.values(), start=1):
        times = tuple((round(span.start, 3), round(span.end, 3)) for span in group)
        language = group[0].language
        times_label = f"{_clock(times[0][0])}-{_clock(times[-1][1])}"
        name = f"{source.stem}.{index:03d}.{_safe(language)}.{times_label}{source.suffix if suffix is None else suffix}"
        pieces.append(Piece(index, language, group[0].name, times, output_dir / name))
    return pieces


def _clock(seconds: float) -> str:
    """``00h01m02.345s``: sorts like the times it names and holds no character a file system forbids."""
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}h{minutes:02d}m{secs:06.3f}s"


def _safe(label: str) -> str:
    # Labels of other checkpoints may hold anything: only letters, digits and -_ go into a file name.
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in label) or "_"


def cut_piece(source: Path, before: dict, stream: int | None, piece: Piece, reencode: bool) -> None:
    """Write one piece through a temporary file beside it, renamed into place when complete."""
    with tagwriter.temporary_beside(piece.path) as temporary:
        if len(piece.spans) == 1:
            _cut(source, before, stream, piece.spans[0], temporary, reencode)
        else:
            with _private_folder() as folder:
                parts = [folder / f"{number}{piece.path.suffix}" for number in range(len(piece.spans))]
                for span, part in zip(piece.spans, parts, strict=True):
                    _cut(source, before, stream, span, part, reencode)
                _join(parts, folder / "parts.ffconcat", temporary, source)
        os.replace(temporary, piece.path)


def _cut(source: Path, before: dict, stream: int | None, span: tuple[float, float], target: Path, reencode: bool) -> None:
    url, fence = media.ffmpeg_input(source)  # the same protocol and format whitelists as every other read
    command = [media.find_ffmpeg().ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    for name, value in fence.items():
        command += [f"-{name}", str(value)]
    command += ["-i", url, "-ss", f"{span[0]:.3f}", "-to", f"{span[1]:.3f}"]
    for index in _mapped_streams(before, stream):
        command += ["-map", f"0:{index}"]
    command += ["-map_chapters", "-1", "-map_metadata", "0"]
    command += [] if reencode else ["-c", "copy"]
    tagwriter.run_ffmpeg([*command, "-y", local_url(target)], source)


def _mapped_streams(before: dict, stream: int | None) -> list[int]:
    """The analysed audio stream and the video streams, leaving out cover art (an attached picture)."""
    video = [
        s["index"]
        for s in before.get("streams", [])
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    return sorted({*video, *([] if stream is None else [stream])})


def _join(parts: list[Path], listing: Path, target: Path, source: Path) -> None:
    # Our own list of our own files: the concat demuxer may open exactly these, over file: only.
    lines = ["ffconcat version 1.0"] + [f"file '{local_url(part)}'" for part in parts]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [
        media.find_ffmpeg().ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "concat", "-safe", "0", "-protocol_whitelist", "file", "-i", local_url(listing),
        "-map", "0", "-c", "copy", "-y", local_url(target),
    ]  # fmt: skip
    tagwriter.run_ffmpeg(command, source)


@contextmanager
def _private_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="langspan-split-"))  # mode 0700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def manifest_document(
    source: Path, timeline: Timeline, pieces: Sequence[Piece], by_language: bool, reencode: bool
) -> dict[str, Any]:
    return {
        "schema": MANIFEST_SCHEMA, "schema_version": MANIFEST_VERSION, "source": str(source),
        "stream": timeline.stream, "duration": round(timeline.duration, 3),
        "mode": "reencode" if reencode else "copy", "by_language": by_language,
        "files": [piece.to_dict() for piece in pieces],
    }  # fmt: skip
