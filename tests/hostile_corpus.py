"""The hostile and odd inputs of tests/test_hostile.py, made at test time with numpy and ffmpeg.

Every case names one input, how to make it in a folder, and the exact outcome langspan must reach: ``Works``
(exit 0, a timeline of the stated decoded duration) or ``Refused`` (exit 1, one stderr line naming the input and
the cause). Cases that reference other files point at ``/etc/passwd`` and at ``SECRET_*`` files made next to them:
a secret *media* file is the real threat (a playlist that pulls in someone's recording decodes without error), and
its token must never surface in any output.
"""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conftest import ffmpeg_path

RATE = 16_000
SECRET_TOKEN = "LANGSPAN-CANARY-7f3a9c"  # written into the secret files; must never appear in any output
SECRET_WAV = "secret-recording.mp3"  # media a playlist could pull in: its extension passes ffmpeg's own HLS checks


@dataclass(frozen=True)
class Works:
    """Exit 0 and one timeline whose decoded duration is ``duration`` seconds (± one 16 kHz sample)."""

    duration: float
    spans: int | None = None  # exact span count where it is known; None: only the span invariants are checked
    tolerance: float = 0.0005  # JSON times are rounded to milliseconds


@dataclass(frozen=True)
class Refused:
    """Exit 1 and exactly ``langspan: error: <argument>: <cause>`` on stderr (``cause`` is a regex)."""

    cause: str


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], str]  # builds the input in a folder and returns the argument given to langspan
    outcome: Works | Refused


# ---------------------------------------------------------------------------------------------------- builders


def wav_bytes(samples: np.ndarray, rate: int, *, float32: bool = False, declared_frames: int | None = None) -> bytes:
    """A RIFF/WAVE file of [T] or [T, C] samples: 16-bit PCM, or IEEE float (which can carry NaN and Inf).

    ``declared_frames`` writes a header that claims more audio than the file holds.
    """
    samples = samples if samples.ndim == 2 else samples[:, None]
    channels = samples.shape[1]
    if float32:
        data, tag, width = samples.astype("<f4").tobytes(), 3, 4
    else:
        data, tag, width = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), 1, 2
    data_size = len(data) if declared_frames is None else declared_frames * channels * width
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * width, channels * width, 8 * width)
    header = b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    return header + b"data" + struct.pack("<I", data_size) + data


def tone(seconds: float, rate: int = RATE, channels: int = 1, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    mono = 0.5 * np.sin(2 * np.pi * frequency * t)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


def write_wav(name: str, samples: np.ndarray, rate: int = RATE, **kwargs) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        path = folder / name
        path.write_bytes(wav_bytes(samples, rate, **kwargs))
        return str(path)

    return make


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def encoded(name: str, *args: str, keep: float = 1.0) -> Callable[[Path], str]:
    """A file made by ffmpeg from lavfi sources; ``keep`` < 1 truncates it to that share of its bytes."""

    def make(folder: Path) -> str:
        path = folder / name
        ffmpeg(*args, str(path))
        if keep < 1:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * keep)])
        return str(path)

    return make


def raw(name: str, data: bytes) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        path = folder / name
        path.write_bytes(data)
        return str(path)

    return make


def secret_media(folder: Path) -> Path:
    """A real recording next to the playlists: what an attacker would want ffmpeg to read."""
    path = folder / SECRET_WAV
    if not path.exists():
        ffmpeg("-f", "lavfi", "-i", "sine=f=700:d=3", "-metadata", f"title={SECRET_TOKEN}", str(path))
    return path


def secret_text(folder: Path) -> Path:
    path = folder / "secret.txt"
    path.write_text(f"root:x:0:0:{SECRET_TOKEN}:/root:/bin/bash\n")
    return path


def text(name: str, content: Callable[[Path], str]) -> Callable[[Path], str]:
    """A text input (playlist, list, description) whose content may name other files in the folder."""

    def make(folder: Path) -> str:
        path = folder / name
        path.write_text(content(folder))
        return str(path)

    return make


def hls(target: Callable[[Path], str]) -> Callable[[Path], str]:
    return lambda folder: (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:3.0,\n{target(folder)}\n#EXT-X-ENDLIST\n"
    )


def ffconcat(target: Callable[[Path], str]) -> Callable[[Path], str]:
    return lambda folder: f"ffconcat version 1.0\nfile '{target(folder)}'\n"


def dash(target: Callable[[Path], str]) -> Callable[[Path], str]:
    return lambda folder: f"""<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3S" minBufferTime="PT1S"
     profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period><AdaptationSet mimeType="audio/mpeg"><Representation id="a" bandwidth="64000">
    <BaseURL>{target(folder)}</BaseURL>
  </Representation></AdaptationSet></Period>
</MPD>
"""


def sdp(folder: Path) -> str:
    return "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\n"


def passwd(_: Path) -> str:
    return "/etc/passwd"


def secret_media_absolute(folder: Path) -> str:
    return str(secret_media(folder))


def secret_media_relative(folder: Path) -> str:
    return secret_media(folder).name  # relative names pass the concat demuxer's own "safe" check


def undecodable_name(folder: Path) -> str:
    """A file name that is not UTF-8 (legal on Linux): Python sees its bytes as lone surrogates."""
    path = os.fsdecode(os.fsencode(folder) + b"/take-\xff\xfe.wav")
    Path(path).write_bytes(wav_bytes(tone(2.0), RATE))
    return path


def missing(name: str) -> Callable[[Path], str]:
    return lambda folder: str(folder / name)


def folder_named(name: str) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / name).mkdir()
        return str(folder / name)

    return make


def literal(argument: str) -> Callable[[Path], str]:
    return lambda folder: argument


def nan_inf_wav() -> np.ndarray:
    samples = tone(2.0)
    samples[::97] = np.nan
    samples[::89] = np.inf
    samples[::83] = -np.inf
    return samples


def square_clipped() -> np.ndarray:
    return np.sign(tone(2.0)) * 1.0  # full-scale square wave: every sample at the clipping point


# -------------------------------------------------------------------------------------------------------- cases

LAVFI_TONE = ("-f", "lavfi", "-i", "sine=f=440:d=3")
HLS_REFUSED = r"refused: hls input names other files or URLs for ffmpeg to open \(a playlist or list\)"
CONCAT_REFUSED = r"refused: concat input names other files or URLs for ffmpeg to open \(a playlist or list\)"

CASES: list[Case] = [
    # broken files
    Case("zero-byte", raw("empty.wav", b""), Refused("empty file")),
    Case(
        "random-bytes-mp4",
        raw("random.mp4", np.random.default_rng(8).bytes(64_000)),
        Refused(r"not a readable media file \(.*Invalid data found when processing input\)"),
    ),
    Case("truncated-mp3", encoded("cut.mp3", *LAVFI_TONE, keep=0.5), Works(1.5, tolerance=0.1)),
    Case(
        "truncated-mp4",
        encoded("cut.mp4", *LAVFI_TONE, "-c:a", "aac", keep=0.5),
        Refused(r"not a readable media file \(.*Invalid data found when processing input\)"),
    ),
    Case(
        "truncated-faststart-mp4",
        encoded("cut-faststart.m4a", *LAVFI_TONE, "-c:a", "aac", "-movflags", "+faststart", keep=0.5),
        Works(1.5, tolerance=0.2),
    ),
    Case(
        "text-named-wav",
        text("notes.wav", lambda f: secret_text(f).read_text()),
        Refused(r"not a readable media file \(.*Invalid data found when processing input\)"),
    ),
    Case(
        "video-without-audio",
        encoded("video.mp4", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1", "-pix_fmt", "yuv420p"),
        Refused("no audio stream"),
    ),
    # odd but valid audio
    Case("zero-samples", write_wav("zero.wav", np.zeros(0)), Works(0.0, spans=0)),
    Case("one-sample", write_wav("one.wav", np.array([0.5])), Works(1 / RATE, spans=0)),
    Case("8khz", write_wav("8k.wav", tone(2.0, 8_000), 8_000), Works(2.0, spans=1)),
    Case("96khz", encoded("96k.flac", "-f", "lavfi", "-i", "sine=f=440:d=2:sample_rate=96000"), Works(2.0, spans=1)),
    Case("6-channel", write_wav("surround.wav", tone(2.0, 48_000, channels=6), 48_000), Works(2.0, spans=1)),
    Case("silence", write_wav("silence.wav", np.zeros(4 * RATE)), Works(4.0, spans=1)),
    Case("clipped", write_wav("clipped.wav", square_clipped()), Works(2.0, spans=1)),
    Case("over-full-scale-float", write_wav("loud.wav", tone(2.0) * 2000, float32=True), Works(2.0, spans=1)),
    Case("nan-inf-float", write_wav("nan.wav", nan_inf_wav(), float32=True), Works(2.0)),
    Case(
        "header-claims-hours",
        write_wav("long-header.wav", tone(1.0), declared_frames=RATE * 3600 * 6),
        Works(1.0, spans=1),
    ),
    # not files
    Case("directory", folder_named("folder.wav"), Refused("is a directory, not a media file")),
    Case("missing-path", missing("missing.wav"), Refused("no such file")),
    Case("missing-name-with-newline", missing("two\nlines.wav"), Refused("no such file")),
    # awkward names of valid files
    Case("spaces-in-name", write_wav("a name with  spaces .wav", tone(2.0)), Works(2.0, spans=1)),
    Case("colon-in-name", write_wav("take:2.wav", tone(2.0)), Works(2.0, spans=1)),
    Case("leading-dash", write_wav("-i.wav", tone(2.0)), Works(2.0, spans=1)),
    Case("non-ascii-name", write_wav("Ünïcødé 日本語 ☃.wav", tone(2.0)), Works(2.0, spans=1)),
    Case("non-utf8-name", undecodable_name, Works(2.0, spans=1)),
    Case("protocol-like-local-file", write_wav("concat:tone.wav", tone(2.0)), Works(2.0, spans=1)),
    # inputs that name other files
    Case("hls-to-etc-passwd", text("list.m3u8", hls(passwd)), Refused(HLS_REFUSED)),
    Case("hls-to-local-media", text("list.m3u8", hls(secret_media_absolute)), Refused(HLS_REFUSED)),
    Case("hls-disguised-as-mp3", text("song.mp3", hls(secret_media_absolute)), Refused(HLS_REFUSED)),
    Case("ffconcat-to-etc-passwd", text("list.ffconcat", ffconcat(passwd)), Refused(CONCAT_REFUSED)),
    Case("ffconcat-to-local-media", text("list.ffconcat", ffconcat(secret_media_relative)), Refused(CONCAT_REFUSED)),
    Case("ffconcat-disguised-as-wav", text("take.wav", ffconcat(secret_media_relative)), Refused(CONCAT_REFUSED)),
    Case(
        "dash-to-local-media",
        text("stream.mpd", dash(secret_media_absolute)),
        Refused(r"refused: dash input names other files or URLs for ffmpeg to open \(a playlist or list\)"),
    ),
    Case(
        "sdp-session",
        text("session.sdp", sdp),
        Refused(r"refused: sdp input names other files or URLs for ffmpeg to open \(a playlist or list\)"),
    ),
    # ffmpeg protocol strings and URLs given as the input
    Case(
        "concat-protocol",
        literal("concat:/etc/passwd|/etc/passwd"),
        Refused(r"no such file \(langspan does not open ffmpeg protocols such as 'concat:'\)"),
    ),
    Case(
        "subfile-protocol",
        literal("subfile:,,start,0,end,0,,:/etc/passwd"),
        Refused(r"no such file \(langspan does not open ffmpeg protocols such as 'subfile:'\)"),
    ),
    Case(
        "file-protocol",
        literal("file:/etc/passwd"),
        Refused(r"no such file \(langspan does not open ffmpeg protocols such as 'file:'\)"),
    ),
    Case(
        "http-url-without-opt-in",
        literal("http://127.0.0.1:9/talk.mp3"),
        Refused(r"is a URL; langspan reads local files only unless --allow-url is given"),
    ),
]
