"""The ffmpeg front end: probe a file's audio streams, stream one of them as 16 kHz mono float32.

Every ffmpeg and ffprobe call goes through the fence of frontend/ffmpeg_tools.py (binaries, input URL and
whitelists, error messages); its names are re-exported here, where most callers look for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import MediaError, UsageError
from .ffmpeg_tools import (  # noqa: F401 - re-exported: media.find_ffmpeg, media.ffmpeg_input, … are the front end's API
    PROTOCOLS,
    REFERENCE_FORMATS,
    URL_PROTOCOLS,
    URL_SCHEMES,
    URL_TIMEOUT_US,
    FFmpegBinaries,
    allowed_formats,
    check_readable,
    ffmpeg_input,
    find_ffmpeg,
    is_url,
    last_line,
    local_url,
    refusal,
    stderr_tail,
    tool_error,
    url_scheme,
)

SAMPLE_RATE = 16_000  # every model langspan targets (MMS, wav2vec2, HuBERT LID) expects 16 kHz mono
# 8 s of float32 per read: big enough to keep the pipe efficient, small enough that memory stays flat.
CHUNK_SECONDS = 8
# The decode watchdog: ffmpeg that writes no audio for this long (and a probe that takes this long) is killed and the
# file fails, so one file that makes ffmpeg hang (a stalled mount, a demuxer loop on a damaged file) cannot block a
# batch forever. Only time spent *waiting for ffmpeg* counts: a slow model downstream never trips it. A healthy
# ffmpeg writes 8 s of audio in milliseconds, so a minute without any is a stall. 0 turns the watchdog off.
STALL_TIMEOUT_ENV = "LANGSPAN_STALL_TIMEOUT"
DEFAULT_STALL_TIMEOUT = 60.0


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

    def select(self, wanted: Iterable[int] | None) -> list[AudioStream]:
        """The audio streams to analyse: all of them, or those asked for by ffprobe index (a MediaError names a
        missing one and lists what there is)."""
        if not self.audio_streams:
            raise MediaError(f"{self.path}: no audio stream")
        if wanted is None:
            return list(self.audio_streams)
        by_index = {stream.index: stream for stream in self.audio_streams}
        missing = [index for index in wanted if index not in by_index]
        if missing:
            available = ", ".join(str(i) for i in by_index)
            raise MediaError(f"{self.path}: stream {missing[0]} is not an audio stream (audio streams: {available})")
        return [by_index[index] for index in wanted]


def probe(path: str | os.PathLike[str], allow_url: bool = False) -> MediaInfo:
    """Streams and duration of a local media file (or, with ``allow_url``, an http(s) URL)."""
    return media_info(str(path), probe_raw(path, allow_url))


def stall_timeout() -> float | None:
    """Seconds the decode watchdog waits for ffmpeg (``LANGSPAN_STALL_TIMEOUT``, default 60); None when off.

    Read from the environment at every call, so ``--stall-timeout`` (which sets the variable) also reaches the
    worker processes a batch engine starts.
    """
    text = os.environ.get(STALL_TIMEOUT_ENV, "").strip()
    try:
        seconds = float(text) if text else DEFAULT_STALL_TIMEOUT
    except ValueError:
        raise UsageError(f"{STALL_TIMEOUT_ENV}={text!r}: expected a number of seconds") from None
    if not np.isfinite(seconds) or seconds < 0:
        raise UsageError(f"{STALL_TIMEOUT_ENV}={text!r}: expected a number of seconds ≥ 0")
    return seconds or None


def probe_raw(path: str | os.PathLike[str], allow_url: bool = False) -> dict:
    """ffprobe's whole JSON description of a source: ``format``, every ``streams`` entry and ``chapters``."""
    url, fence = ffmpeg_input(path, allow_url)
    command = [find_ffmpeg().ffprobe, "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json"]
    for key, value in fence.items():
        command += [f"-{key}", str(value)]
    timeout = stall_timeout()
    try:
        # subprocess.run kills and reaps ffprobe on a timeout and on any exception in the wait (Ctrl-C included).
        result = subprocess.run(
            [*command, url], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise MediaError(f"{path}: ffprobe stalled: no answer within {timeout:g} s (see --stall-timeout)") from None
    if result.returncode != 0:
        tail = stderr_tail(result.stderr)
        cause = refusal(tail) or f"not a readable media file ({last_line(tail)})"
        raise MediaError(f"{path}: {cause}", tail)
    try:
        # Tag values are the file's bytes: a damaged file may hold text that is not UTF-8.
        data = json.loads(result.stdout.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        raise MediaError(f"{path}: ffprobe returned unreadable output") from None
    if not isinstance(data, dict):
        raise MediaError(f"{path}: ffprobe returned unreadable output")
    return data


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


def decode_command(
    url: str, stream_index: int | None, input_args: dict | None = None, output_args: dict | None = None
) -> list[str]:
    """ffmpeg arguments that write one audio stream to stdout as 16 kHz mono float32."""
    # A plain list rather than ffmpeg-python's graph: that hashes its nodes as UTF-8, so a file name that is not
    # valid UTF-8 (legal on Linux, a lone surrogate in Python) would crash it.
    command = [find_ffmpeg().ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    for key, value in {"protocol_whitelist": PROTOCOLS, **(input_args or {})}.items():
        command += [f"-{key}", str(value)]
    command += ["-i", url, *(["-map", f"0:{stream_index}"] if stream_index is not None else ["-vn"])]
    for key, value in (output_args or {}).items():
        command += [f"-{key}", str(value)]
    # rematrix_maxval=1 scales the downmix so that in-phase channels cannot clip (ffmpeg's default sums them).
    command += ["-af", "aresample=rematrix_maxval=1.0", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1"]
    return command + ["-ar", str(SAMPLE_RATE), "pipe:1"]


def decode(
    path: str | os.PathLike[str], stream_index: int | None = None, allow_url: bool = False
) -> Iterator[np.ndarray]:
    """Stream one audio stream of a local file (or opted-in URL) as float32 chunks of 16 kHz mono samples."""
    url, fence = ffmpeg_input(path, allow_url)
    yield from _run_decoder(decode_command(url, stream_index, fence), label=str(path))


def decode_clip(
    path: str | os.PathLike[str], stream_index: int | None, start: float, seconds: float, allow_url: bool = False
) -> np.ndarray:
    """``seconds`` of one audio stream from ``start`` (16 kHz mono float32), without decoding what comes before.

    ``-ss`` before the input makes ffmpeg seek through the container's index (or by bitrate where there is none)
    and decode only from there: probing a few seconds of an hour-long track costs milliseconds, not a full decode.
    Empty when ``start`` lies past the end.
    """
    url, fence = ffmpeg_input(path, allow_url)
    command = decode_command(url, stream_index, {**fence, "ss": f"{start:.3f}"}, output_args={"t": f"{seconds:.3f}"})
    chunks = list(_run_decoder(command, label=str(path)))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def decode_array(samples: np.ndarray, sample_rate: int) -> Iterator[np.ndarray]:
    """Resample an in-memory signal [T] or [T, C] to 16 kHz mono with the same ffmpeg resampler as files."""
    samples = np.asarray(samples, dtype=np.float32)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    if samples.ndim == 2 and samples.shape[0] < samples.shape[1]:
        raise MediaError(f"array of shape {samples.shape}: expected [samples] or [samples, channels]")
    if sample_rate == SAMPLE_RATE and channels == 1:
        samples = samples.reshape(-1)  # [T, 1] (a mono AudioSegment) as [T]: windows are cut from 1-D audio
        yield from (samples[i : i + SAMPLE_RATE * CHUNK_SECONDS] for i in range(0, len(samples), SAMPLE_RATE * CHUNK_SECONDS))
        return
    input_args = {"f": "f32le", "ar": sample_rate, "ac": channels}
    command = decode_command("pipe:0", None, input_args)
    yield from _run_decoder(command, label="<array>", stdin_bytes=np.ascontiguousarray(samples).tobytes())


class _Stalled(Exception):
    """ffmpeg wrote nothing for the whole stall timeout."""


def _run_decoder(command: list[str], label: str, stdin_bytes: bytes | None = None) -> Iterator[np.ndarray]:
    timeout = stall_timeout()
    # stderr goes to a temporary file, not a pipe: a chatty ffmpeg could otherwise fill the pipe and deadlock.
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            bufsize=0,  # unbuffered: the watchdog polls the pipe itself, so no data may wait in a Python buffer
        )
        feeder = _start_feeder(process, stdin_bytes) if stdin_bytes is not None else None
        try:
            yield from _read_samples(process.stdout, timeout)
            returncode = process.wait()
        except _Stalled:
            returncode = None
        finally:
            if process.poll() is None:  # the consumer stopped early or failed: do not leave ffmpeg behind
                process.kill()
                process.wait()
            process.stdout.close()  # type: ignore[union-attr]
            if feeder is not None:
                feeder.join()
        if returncode is None:
            raise MediaError(f"{label}: ffmpeg stalled: no audio for {timeout:g} s, stopped (see --stall-timeout)")
        if returncode != 0:
            stderr_file.seek(0)
            tail = stderr_tail(stderr_file.read())
            cause = refusal(tail) or f"ffmpeg failed to decode audio ({last_line(tail)})"
            raise MediaError(f"{label}: {cause}", tail)


def _start_feeder(process: subprocess.Popen, data: bytes) -> threading.Thread:
    def feed() -> None:
        try:
            process.stdin.write(data)  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            pass  # ffmpeg stopped reading; its exit code tells why
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()  # type: ignore[union-attr]

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


def _read_samples(stdout, stall_seconds: float | None) -> Iterator[np.ndarray]:
    """CHUNK_SECONDS of samples per chunk (the last one shorter); _Stalled when ffmpeg writes nothing for
    ``stall_seconds``."""
    chunk_bytes = SAMPLE_RATE * CHUNK_SECONDS * 4
    fd = stdout.fileno()
    waiter = select.poll()
    waiter.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    pending = bytearray()
    while True:
        # poll() is retried after a signal with the time that is left (PEP 475), so Ctrl-C still lands at once.
        if stall_seconds is not None and not waiter.poll(stall_seconds * 1000):
            raise _Stalled
        data = os.read(fd, chunk_bytes - len(pending))
        if not data:
            break
        pending += data
        if len(pending) == chunk_bytes:
            yield np.frombuffer(pending, dtype="<f4").astype(np.float32)
            pending = bytearray()
    usable = len(pending) - len(pending) % 4
    if usable:
        yield np.frombuffer(pending[:usable], dtype="<f4").astype(np.float32)


