"""Write language tags into Matroska and MP4 files without re-encoding, and prove that nothing else changed.

Two engines:

* ``ffmpeg``: a stream copy (``-map 0 -c copy``, every stream, chapter, attachment and global tag) into a
  temporary file in the destination's folder, with ``-metadata:s:<i> language=xxx`` for the streams being
  tagged. The copy is fsynced, probed and compared with the source (see ``differences``), and only then renamed
  over the destination with ``os.replace`` (atomic on one filesystem). Any failure or interrupt, KeyboardInterrupt
  included, removes the temporary file; the source is only ever read.
* ``mkvpropedit`` (Matroska only, from mkvtoolnix): edits the track headers where they are — no copy, a constant
  ≈0.14 s whatever the size (docs/benchmarks.md) — and also sets the BCP-47 ``LanguageIETF`` element. The result is probed and compared
  the same way. With ``--in-place`` this is the one path that changes the file directly rather than replacing it.

ffmpeg quirks this module works around (ffmpeg 5.1):

* MP4 chapters live in a QuickTime text track that ffprobe lists as a ``data`` stream (``bin_data``, tag
  ``text``). Copying it *and* the chapters gives two chapter tracks, so that stream is left out of ``-map`` and
  the muxer rebuilds it from the chapters.
* Without ``-copyts`` a Matroska file whose audio starts before zero (Opus pre-skip) comes back with every
  chapter shifted by that offset.
* The mp4 muxer writes its own ``ftyp``; ``-brand`` keeps the source's major brand.
* When no stream of a kind is marked default, both the ffmpeg command line and its Matroska muxer mark the
  first one default. Spelling out every stream's disposition (``-disposition:<i>``) and
  ``-default_mode passthrough`` keep the source's flags.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..durable import fsync_file, fsync_folder
from ..errors import ExportError, MediaError, UsageError
from ..frontend import media
from ..frontend.media import local_url
from ..writers import check_target

ENGINES = ("ffmpeg", "mkvpropedit")
# ffmpeg muxer for each file name suffix we tag, grouped by the container's language-code convention.
MUXERS = {
    "matroska": {".mkv": "matroska", ".mka": "matroska", ".mk3d": "matroska", ".webm": "webm"},
    "mp4": {".mp4": "mp4", ".m4v": "mp4", ".m4a": "ipod", ".m4b": "ipod", ".3gp": "3gp", ".3g2": "3g2"},
}
# Tags a muxer writes for itself: they describe the writing, not the content.
MUXER_FORMAT_TAGS = {"encoder", "minor_version", "compatible_brands"}
# Longest frame of a common audio codec (Opus packs up to 120 ms): stream durations are compared to this, or to
# one video frame. Chapters are stored in milliseconds (MP4) or nanoseconds (Matroska) and must not move.
AUDIO_FRAME_SECONDS = 0.12
CHAPTER_TOLERANCE = 0.002
# Streams whose duration a copy must keep. A subtitle track's "duration" depends on the muxer that wrote it
# (mkvmerge: first cue to last cue start; ffmpeg: to the last cue's end), so it is not compared.
TIMED_TYPES = ("audio", "video")
# Stream properties a stream copy must keep.
STREAM_FIELDS = (
    "codec_type", "codec_name", "codec_tag_string", "profile", "width", "height", "pix_fmt",
    "sample_rate", "channels", "channel_layout",
)  # fmt: skip
# ffmpeg 5.1 reports a failed write of the output (a full disk) on stderr and still exits 0, leaving a truncated
# copy whose header — rewritten in place at the end — still claims every stream and the full duration.
WRITE_ERRORS = re.compile(r"Error writing trailer|Error closing file|No space left on device|Disk quota exceeded")


@dataclass(frozen=True)
class Container:
    """How a file stores language tags: ``convention`` (``matroska`` = ISO 639-2/B, ``mp4`` = 639-2/T) and the
    ffmpeg muxer that writes it back."""

    convention: str
    muxer: str


@dataclass(frozen=True)
class NewTag:
    """The language a stream gets: ``code`` for the container's language field, ``ietf`` for Matroska's
    LanguageIETF (mkvpropedit only)."""

    code: str
    ietf: str


def container_of(path: Path, probe: dict) -> Container:
    """The container of a probed file; MediaError for formats langspan does not tag."""
    format_name = probe.get("format", {}).get("format_name", "")
    brand = probe.get("format", {}).get("tags", {}).get("major_brand", "")
    suffix = path.suffix.lower()
    if format_name.startswith("matroska"):
        return Container("matroska", MUXERS["matroska"].get(suffix, "matroska"))
    if format_name.startswith("mov,mp4") and brand.strip() != "qt" and suffix != ".mov":
        return Container("mp4", MUXERS["mp4"].get(suffix, "mp4"))
    if format_name.startswith("mov,mp4"):
        # ffmpeg's mov muxer stores only the old Macintosh language codes and silently drops the others.
        raise MediaError(f"{path}: QuickTime .mov files cannot be tagged reliably with ffmpeg; remux to .mp4 or .mkv")
    raise MediaError(f"{path}: cannot tag {format_name or 'this'} files (langspan tags Matroska/WebM and MP4)")


def destination_container(
    source: Path, container: Container, output: Path | None, overwrite: bool, engine: str
) -> Container:
    """The container to write (the source's, or ``output``'s muxer of the same kind); errors for a destination
    that cannot be written: a suffix of another container, an existing file, an engine that cannot do it."""
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "mkvpropedit" and container.convention != "matroska":
        raise UsageError(f"{source}: --engine mkvpropedit edits Matroska files only")
    if output is None:
        return container
    muxers = MUXERS[container.convention]
    if output.suffix.lower() not in muxers:
        raise UsageError(
            f"--output {output}: a {container.convention} source needs a {'/'.join(muxers)} name "
            "(tagging copies streams, it does not convert containers)"
        )
    check_target(output, overwrite)
    return Container(container.convention, muxers[output.suffix.lower()])


def write_tags(
    source: Path,
    tags: Mapping[int, NewTag],
    before: dict,
    *,
    output: Path | None = None,
    overwrite: bool = False,
    engine: str = "ffmpeg",
) -> Path:
    """Write ``tags`` (ffprobe stream index → new tag) into ``output``, or into ``source`` when it is None.

    ``before`` is ``media.probe_raw(source)``. Returns the file written. Raises MediaError when a tool fails or
    the result differs from the source in anything but those tags; ExportError when the output cannot be made.
    """
    container = destination_container(source, container_of(source, before), output, overwrite, engine)
    if engine == "mkvpropedit" and output is None:
        return _edit_in_place(source.resolve(), tags, before)

    def produce(temporary: Path) -> None:
        if engine == "mkvpropedit":
            shutil.copyfile(source, temporary)
            run_mkvpropedit(temporary, tags, before)
        else:
            run_ffmpeg(ffmpeg_command(source, temporary, tags, before, container.muxer), source)

    def check(after: dict) -> None:
        verify(before, after, tags, f"{source}: the tagged copy")

    return replace_verified(source, output, produce, check)


def replace_verified(
    source: Path, output: Path | None, produce: Callable[[Path], None], check: Callable[[dict], None]
) -> Path:
    """The verified copy every media-writing command shares: ``produce`` writes the new file into a temporary
    file beside the destination (``output``, or ``source`` itself when None), which is fsynced, probed and
    handed to ``check`` (raises on any unwanted difference), given the source's permissions and only then renamed
    over the destination. Any failure or interrupt removes the temporary file and leaves the destination as it
    was. Returns the file written."""
    destination = (output or source).resolve()  # through a symlink: replace its target, keep the link
    check_room(source, destination)
    with ThreadPoolExecutor(max_workers=1) as pool, temporary_beside(destination) as temporary:
        source_packets = pool.submit(packet_counts, source)  # read while the copy is made (~0.2 s for 1 h of MKV)
        produce(temporary)
        fsync_file(temporary)
        check(media.probe_raw(temporary))
        verify_packets(source, temporary, f"{source}: the new copy", source_packets.result())
        os.chmod(temporary, stat.S_IMODE(os.stat(source).st_mode))
        os.replace(temporary, destination)
    fsync_folder(destination.parent)
    return destination


def ffmpeg_command(
    source: Path, target: Path, tags: Mapping[int, NewTag], before: dict, muxer: str, chapters: Path | None = None
) -> list[str]:
    """The stream copy of every stream of ``source`` into ``target`` with new language tags; with ``chapters``
    (an ffmpeg metadata file), the chapters come from that file instead of the source."""
    url, fence = media.ffmpeg_input(source)  # the same protocol and format whitelists as every other read
    command = [media.find_ffmpeg().ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    for name, value in fence.items():
        command += [f"-{name}", str(value)]
    command += ["-i", url]
    if chapters is not None:  # our own file: read as ffmetadata and nothing else, over file: only
        command += ["-f", "ffmetadata", "-protocol_whitelist", "file", "-i", local_url(chapters)]
    command += [
        "-map", "0", "-c", "copy", "-copy_unknown", "-copyts", "-map_metadata", "0",
        "-map_chapters", "0" if chapters is None else "1",
    ]  # fmt: skip
    kept = _kept_streams(before)
    for stream in before.get("streams", []):
        if stream["index"] in kept:
            command += [f"-disposition:{kept.index(stream['index'])}", _disposition(stream)]
        else:
            command += ["-map", f"-0:{stream['index']}"]
    brand = before.get("format", {}).get("tags", {}).get("major_brand")
    if muxer in MUXERS["mp4"].values() and brand:
        command += ["-brand", brand]
    if muxer in MUXERS["matroska"].values():
        command += ["-default_mode", "passthrough"]
    for index, tag in sorted(tags.items()):
        command += [f"-metadata:s:{kept.index(index)}", f"language={tag.code}"]
    return command + ["-f", muxer, "-y", local_url(target)]


def _disposition(stream: dict) -> str:
    flags = [name for name, value in stream.get("disposition", {}).items() if value]
    return "+".join(flags) or "0"


def run_ffmpeg(command: list[str], source: Path) -> None:
    # subprocess.run kills ffmpeg on any exception in the wait, KeyboardInterrupt included.
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    failed_write = WRITE_ERRORS.search(result.stderr.decode("utf-8", errors="replace"))
    if result.returncode != 0 or failed_write:
        raise media.tool_error(f"{source}: ffmpeg could not copy the streams", result.stderr)


def check_room(source: Path, destination: Path) -> None:
    """ExportError, before anything is written, when the destination's filesystem lacks room for a copy the size of
    the source (the copy is about as large: every packet, a new header)."""
    try:
        need, free = source.stat().st_size, shutil.disk_usage(destination.parent).free
    except OSError:
        return  # cannot tell: the copy itself will fail cleanly if it does not fit
    if free < need:
        raise ExportError(
            f"{destination}: not enough free space beside it for the tagged copy ({_size(need)} needed, "
            f"{_size(free)} free); nothing was changed"
        )


def _size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def packet_counts(path: Path) -> dict[int, int]:
    """{stream index: packets} as ffprobe's demuxer reads them (a full read of the file, no decoding)."""
    url, fence = media.ffmpeg_input(path)
    command = [media.find_ffmpeg().ffprobe, "-v", "error", "-count_packets", "-show_entries",
               "stream=index,nb_read_packets", "-of", "json"]  # fmt: skip
    for name, value in fence.items():
        command += [f"-{name}", str(value)]
    result = subprocess.run([*command, url], stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if result.returncode != 0:
        raise media.tool_error(f"{path}: ffprobe could not count its packets", result.stderr)
    streams = json.loads(result.stdout.decode("utf-8", errors="replace")).get("streams", [])
    return {int(stream["index"]): int(stream.get("nb_read_packets") or 0) for stream in streams}


def verify_packets(source: Path, copy: Path, label: str, source_packets: dict[int, int] | None = None) -> None:
    """MediaError unless every stream the copy carries has as many packets as in the source: the header checks of
    ``verify`` cannot see a copy cut short (a disk that filled up while ffmpeg still exited 0). ``source_packets``
    is ``packet_counts(source)`` when the caller has counted them already."""
    old, new = source_packets or packet_counts(source), packet_counts(copy)
    kept = _kept_streams(media.probe_raw(source))
    source_streams = [index for index in sorted(old) if index in kept]
    copied = [new[index] for index in sorted(new)]
    for position, index in enumerate(source_streams):
        count = copied[position] if position < len(copied) else 0
        if count != old[index]:
            raise MediaError(
                f"{label} is not faithful, nothing was replaced: stream {index} has {old[index]} packets, "
                f"the copy {count}"
            )


def mkvpropedit_command(path: Path, tags: Mapping[int, NewTag], before: dict) -> list[str]:
    """mkvpropedit edits of the audio tracks in ``tags``; it numbers audio tracks 1, 2, … in file order."""
    binary = shutil.which("mkvpropedit")
    if binary is None:
        raise MediaError("--engine mkvpropedit: mkvpropedit not found (apt-get install mkvtoolnix)")
    audio = [s["index"] for s in before.get("streams", []) if s.get("codec_type") == "audio"]
    command = [binary, "--quiet", str(path.absolute())]  # absolute: a name starting with '-' stays a name
    for index, tag in sorted(tags.items()):
        command += ["--edit", f"track:a{audio.index(index) + 1}"]
        command += ["--set", f"language={tag.code}", "--set", f"language-ietf={tag.ietf}"]
    return command


def run_mkvpropedit(path: Path, tags: Mapping[int, NewTag], before: dict) -> None:
    # Its own session: a Ctrl-C in the terminal must not stop it halfway through rewriting a header.
    process = subprocess.Popen(
        mkvpropedit_command(path, tags, before),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate()
    except KeyboardInterrupt:
        process.wait()  # an edit takes milliseconds: let it finish, then stop
        raise
    if process.returncode not in (0, 1):  # 1 means warnings only
        raise media.tool_error(f"{path}: mkvpropedit failed", output)


def _edit_in_place(path: Path, tags: Mapping[int, NewTag], before: dict) -> Path:
    run_mkvpropedit(path, tags, before)
    verify(before, media.probe_raw(path), tags, f"{path}: after mkvpropedit")
    return path


def verify(
    before: dict, after: dict, tags: Mapping[int, NewTag], label: str, chapters: list[dict] | None = None
) -> None:
    """MediaError naming the first difference between two probes other than the new tags (and, when
    ``chapters`` is given, other than the chapters becoming exactly those)."""
    found = differences(before, after, {index: tag.code for index, tag in tags.items()}, chapters)
    if found:
        raise MediaError(f"{label} is not faithful, nothing was replaced: {found[0]}", "\n".join(found))


def differences(
    before: dict, after: dict, languages: Mapping[int, str], chapters: list[dict] | None = None
) -> list[str]:
    """What changed between two ffprobe descriptions besides ``languages`` (source stream index → tag).

    Compared: the streams (properties in STREAM_FIELDS, dispositions, tags, audio and video durations within a
    frame), the chapters (times and tags; against ``chapters``, in ffprobe's form, when the chapters were meant
    to change) and the global tags, except what a muxer writes for itself.
    """
    found: list[str] = []
    old = [s for s in before.get("streams", []) if s["index"] in _kept_streams(before)]
    new = [s for s in after.get("streams", []) if s["index"] in _kept_streams(after)]
    if len(old) != len(new):
        return [f"{len(old)} streams became {len(new)}"]
    for a, b in zip(old, new, strict=True):
        found += _stream_differences(a, b, languages.get(a["index"]))
    expected = before.get("chapters", []) if chapters is None else chapters
    found += _chapter_differences(expected, after.get("chapters", []))
    old_tags, new_tags = _tags(before.get("format", {})), _tags(after.get("format", {}))
    for key in sorted((old_tags.keys() | new_tags.keys()) - MUXER_FORMAT_TAGS):
        if old_tags.get(key) != new_tags.get(key):
            found.append(f"global tag {key}: {old_tags.get(key)!r} became {new_tags.get(key)!r}")
    return found


def _stream_differences(a: dict, b: dict, language: str | None) -> list[str]:
    where = f"stream {a['index']}"
    found = [
        f"{where} {field}: {a.get(field)!r} became {b.get(field)!r}"
        for field in STREAM_FIELDS
        if a.get(field) != b.get(field)
    ]
    if a.get("disposition") != b.get("disposition"):
        found.append(f"{where} disposition changed")
    old_tags, new_tags = _tags(a), _tags(b)
    if language is not None:
        old_tags["language"] = language
    for key in sorted((old_tags.keys() | new_tags.keys()) - {"duration"}):
        if old_tags.get(key) != new_tags.get(key):
            found.append(f"{where} tag {key}: {old_tags.get(key)!r} became {new_tags.get(key)!r}")
    if a.get("codec_type") in TIMED_TYPES:
        old_duration, new_duration = media.stream_duration(a), media.stream_duration(b)
        if (old_duration is None) != (new_duration is None) or (
            old_duration is not None and abs(old_duration - new_duration) > _frame_seconds(a)  # type: ignore[operator]
        ):
            found.append(f"{where} duration: {old_duration} s became {new_duration} s")
    return found


def _chapter_differences(old: list[dict], new: list[dict]) -> list[str]:
    if len(old) != len(new):
        return [f"{len(old)} chapters became {len(new)}"]
    found = []
    for number, (a, b) in enumerate(zip(old, new, strict=True), start=1):
        moved = any(abs(float(a[key]) - float(b[key])) > CHAPTER_TOLERANCE for key in ("start_time", "end_time"))
        if moved or _tags(a) != _tags(b):
            found.append(f"chapter {number} changed")
    return found


def _frame_seconds(stream: dict) -> float:
    if stream.get("codec_type") == "video":
        numerator, _, denominator = str(stream.get("avg_frame_rate", "0/0")).partition("/")
        if float(numerator or 0) > 0 and float(denominator or 0) > 0:
            return float(denominator) / float(numerator)
    return AUDIO_FRAME_SECONDS


def _tags(entry: dict) -> dict[str, str]:
    return {key.lower(): value for key, value in entry.get("tags", {}).items()}


def _kept_streams(probe: dict) -> list[int]:
    """Indexes of the streams a copy carries over: all but MP4 chapter text tracks, which the muxer rebuilds."""
    mp4 = probe.get("format", {}).get("format_name", "").startswith("mov,mp4")
    return [
        stream["index"]
        for stream in probe.get("streams", [])
        if not (mp4 and stream.get("codec_type") == "data" and stream.get("codec_tag_string") == "text")
    ]


@contextmanager
def temporary_beside(path: Path) -> Iterator[Path]:
    """A temporary file next to ``path`` (same filesystem, so the final rename is atomic), removed on the way out
    whatever happens, unless it was renamed away; OSErrors on the way become ExportError."""
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.langspan-", suffix=path.suffix)
    except OSError as error:
        raise ExportError(f"{path}: cannot write beside it ({error.strerror or error})") from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
    finally:
        temporary.unlink(missing_ok=True)
