"""Fuzzed media files, and the rules every one of them must follow through the real command line.

A seeded mutator damages small, valid files of every container langspan meets in a media library — MP3, M4A, MP4,
Matroska with two audio tracks, WAV, FLAC, Ogg/Opus, MPEG-TS — the way disks, downloads and broken muxers do:
flipped bits, runs of overwritten bytes, truncation, chunks duplicated or cut out, and header fields (sizes,
counts, rates next to the container's markers) set to extremes. Case ``n`` of a seed is the same bytes on every run
(``random.Random`` seeded with a string is stable across processes and Python versions).

Each case runs ``langspan detect`` (or ``langspan tag --in-place``) with the tiny checkpoint and must end in
exit 0 with outputs that parse and make sense, or exit 1 with exactly one line on stderr and no output; never a
traceback, a hang, a temporary file left behind, or a changed input. ``tests/test_fuzz.py`` runs a sample;
``benchmarks/fuzz.py`` runs thousands and records the figures in docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from conftest import ffmpeg_path, ffprobe_path

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "fixtures" / "tiny-lid")
SCHEMA = json.loads((ROOT / "src" / "langspan" / "schema" / "timeline.schema.json").read_text())
ERROR_LINE = re.compile(r"langspan: error: [^\n]+\n")
HANG_SECONDS = 60  # a case still running after this is a hang: no sound case needs a tenth of it

# Seeds: (container, file name, where it comes from). Committed fixtures where one exists; the rest are made with
# ffmpeg (3 s each, a few kB) into a cache folder.
COMMITTED = {
    "mp3": ROOT / "fixtures" / "media" / "chirp.mp3",
    "m4a": ROOT / "fixtures" / "media" / "chirp.m4a",
    "mkv": ROOT / "fixtures" / "media" / "two_tracks.mkv",  # a video stream and two Opus tracks
    "wav": ROOT / "fixtures" / "media" / "tone8k.wav",
    "flac": ROOT / "fixtures" / "media" / "stereo48k.flac",
}
TONE = ["-f", "lavfi", "-i", "sine=f=440:d=3"]
TONE2 = ["-f", "lavfi", "-i", "sine=f=660:d=3"]
PICTURE = ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=2:duration=3"]
TWO_TRACKS = ["-map", "0:v", "-map", "1:a", "-map", "2:a"]
GENERATED = {
    "mp4": [*PICTURE, *TONE, "-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-q:v", "31", "-c:a", "aac", "-b:a", "32k"],
    "opus": [*TONE, "-c:a", "libopus", "-b:a", "24k"],
    "ts": [*PICTURE, *TONE, "-map", "0:v", "-map", "1:a", "-c:v", "mpeg2video", "-c:a", "mp2", "-b:a", "64k"],
}
# What `tag --in-place` is fuzzed on: untagged two-track files of both containers it writes.
TAG_GENERATED = {
    "mkv": [*PICTURE, *TONE, *TONE2, *TWO_TRACKS, "-c:v", "mpeg4", "-q:v", "31", "-c:a", "libopus", "-b:a", "24k",
            "-metadata:s:a", "language=und"],
    "mp4": [*PICTURE, *TONE, *TONE2, *TWO_TRACKS, "-c:v", "mpeg4", "-q:v", "31", "-c:a", "aac", "-b:a", "32k"],
}  # fmt: skip
CONTAINERS = ("mp3", "m4a", "mp4", "mkv", "wav", "flac", "opus", "ts")

# Byte strings that sit next to header fields: MP4 atoms (size before, version/flags/counts after), RIFF chunks
# (size after), Ogg pages, FLAC and Opus headers, EBML element ids (a size follows), ID3/Xing/LAME headers.
MARKERS = (
    b"ftyp", b"moov", b"mvhd", b"trak", b"tkhd", b"mdhd", b"hdlr", b"stsd", b"stts", b"stsc", b"stsz", b"stco",
    b"mdat", b"esds", b"RIFF", b"WAVE", b"fmt ", b"data", b"OggS", b"OpusHead", b"OpusTags", b"fLaC", b"ID3",
    b"Xing", b"Info", b"LAME", b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67", b"\x16\x54\xae\x6b", b"\x1f\x43\xb6\x75",
    b"\xa3", b"\xae", b"\xe1", b"\x1c\x53\xbb\x6b",
)  # fmt: skip


@dataclass(frozen=True)
class FuzzCase:
    id: str
    container: str
    suffix: str
    data: bytes
    mutation: str


@dataclass
class Outcome:
    """How one case ended: ``kind`` is ok | refused | hang | broken; ``problems`` lists every rule it broke."""

    case: FuzzCase
    kind: str
    detail: str = ""
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_path(), "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def seed_files(cache: Path, tag: bool = False) -> dict[str, Path]:
    """{container: small valid file}; generated ones are made once into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    recipes = TAG_GENERATED if tag else GENERATED
    seeds = {} if tag else dict(COMMITTED)
    for container, args in recipes.items():
        path = cache / f"{'tag-' if tag else ''}seed.{container}"
        if not path.exists():
            partial = path.with_name(f".{path.name}.part{path.suffix}")
            ffmpeg(*args, "-t", "3", str(partial))
            partial.replace(path)
        seeds[container] = path
    return seeds


# --- the mutator -------------------------------------------------------------------------------------------------


def _extreme(rng: random.Random, width: int) -> int:
    top = (1 << (8 * width)) - 1
    return rng.choice((0, 1, top, top >> 1, (top >> 1) + 1, rng.randrange(top + 1)))


def bit_flips(data: bytearray, rng: random.Random) -> str:
    count = rng.choice((1, 2, 4, 8, 32))
    for _ in range(count):
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
    return f"flip {count} bits"


def byte_run(data: bytearray, rng: random.Random) -> str:
    start = rng.randrange(len(data))
    length = min(rng.choice((1, 4, 16, 64, 256, 4096)), len(data) - start)
    fill = rng.choice((0x00, 0xFF, 0x80, None))
    data[start : start + length] = bytes(rng.randrange(256) for _ in range(length)) if fill is None else bytes([fill]) * length
    return f"run of {length} {'random' if fill is None else hex(fill)} bytes at {start}"


def truncate(data: bytearray, rng: random.Random) -> str:
    # Half the cuts land in the first kilobyte, where the headers are.
    end = rng.randrange(1, min(len(data), 1024)) if rng.random() < 0.5 else rng.randrange(1, len(data))
    del data[end:]
    return f"truncate to {end} bytes"


def duplicate_chunk(data: bytearray, rng: random.Random) -> str:
    start = rng.randrange(len(data))
    chunk = bytes(data[start : start + rng.choice((4, 64, 512, 4096))])
    at = rng.randrange(len(data) + 1)
    data[at:at] = chunk
    return f"copy {len(chunk)} bytes from {start} to {at}"


def remove_chunk(data: bytearray, rng: random.Random) -> str:
    start = rng.randrange(len(data))
    length = rng.choice((1, 4, 64, 512, 4096))
    del data[start : start + length]
    return f"cut {min(length, len(data) - start)} bytes at {start}"


def header_extreme(data: bytearray, rng: random.Random) -> str:
    """A 1/2/4/8-byte field next to a container marker (or in the first 256 bytes, or after an MPEG-TS packet's
    sync byte) set to 0, 1, the largest value, its half, or random, in either byte order."""
    hits = [match.start() for marker in MARKERS for match in re.finditer(re.escape(marker), bytes(data[:65536]))]
    if hits and rng.random() < 0.8:
        anchor = rng.choice(hits)
        position = anchor + rng.choice((-8, -4, 4, 8, 12, 16, 20, 24, rng.randrange(1, 64)))
    elif data[:1] == b"\x47":
        position = 188 * rng.randrange(max(1, len(data) // 188)) + rng.randrange(1, 20)
    else:
        position = rng.randrange(min(256, len(data)))
    width = rng.choice((1, 2, 4, 8))
    position = max(0, min(position, len(data) - width))
    value = _extreme(rng, width)
    order = rng.choice(("big", "little"))
    data[position : position + width] = value.to_bytes(width, order)  # type: ignore[arg-type]
    return f"{width}-byte field at {position} = {value:#x} ({order})"


MUTATIONS: tuple[Callable[[bytearray, random.Random], str], ...] = (
    bit_flips, byte_run, truncate, duplicate_chunk, remove_chunk, header_extreme,
)  # fmt: skip


def mutate(original: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One to three mutations; never empty (an empty file is a hand-made hostile case already)."""
    data = bytearray(original)
    steps = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not data:
            break
        steps.append(rng.choice(MUTATIONS)(data, rng))
    return bytes(data) or original[:1], "; ".join(steps)


class Corpus:
    """The cases of a set of seeds: ``corpus[i]`` is case ``i``, round-robin over the containers, the same bytes on
    every run."""

    def __init__(self, seeds: dict[str, Path], salt: str = "langspan-fuzz") -> None:
        self.seeds = seeds
        self.salt = salt
        self.originals = {container: path.read_bytes() for container, path in seeds.items()}
        self.order = [container for container in CONTAINERS if container in seeds]

    def __getitem__(self, index: int) -> FuzzCase:
        container = self.order[index % len(self.order)]
        rng = random.Random(f"{self.salt}:{container}:{index}")
        data, mutation = mutate(self.originals[container], rng)
        return FuzzCase(f"{container}-{index:05d}", container, self.seeds[container].suffix, data, mutation)

    def first(self, count: int) -> Iterator[FuzzCase]:
        return (self[index] for index in range(count))


# --- running a case ----------------------------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm in a case that outlived HANG_SECONDS (BaseException: CliRunner must not swallow it)."""


@contextmanager
def hang_alarm(seconds: float) -> Iterator[None]:
    def alarm(signum, frame):
        raise Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def private_tempdir(folder: Path) -> Iterator[None]:
    """Python's temporary files (and the stdin spool) go to ``folder`` for the duration."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = previous


@dataclass
class Run:
    """What one command did: exit code, stdout, stderr, and an exception that escaped (in-process only)."""

    code: int | None
    stdout: str
    stderr: str
    escaped: BaseException | None = None


def invoke_in_process(args: list[str], tmp: Path) -> Run:
    """The real typer app in this process (the model and torch are loaded once, so a case costs ~0.1 s)."""
    from typer.testing import CliRunner

    from langspan.cli import app
    from langspan.frontend.media import STALL_TIMEOUT_ENV

    # env=: CliRunner puts the variable back afterwards, which --stall-timeout sets for the rest of the process.
    with private_tempdir(tmp), hang_alarm(HANG_SECONDS):
        result = CliRunner().invoke(app, args, env={STALL_TIMEOUT_ENV: None})
    escaped = None if isinstance(result.exception, SystemExit | type(None)) else result.exception
    return Run(result.exit_code, result.stdout, result.stderr, escaped)


def invoke_subprocess(args: list[str], tmp: Path) -> tuple[Run, int]:
    """``python -m langspan`` in a child process; also returns the peak resident memory (kB) of the child and of
    the ffmpeg processes it waited for (wait4 reports the largest of them)."""
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "langspan", *args], stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL, env=env)  # fmt: skip
        deadline = time.monotonic() + HANG_SECONDS + 30  # + start-up (torch import)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                child.returncode = -9
                return Run(None, "", ""), usage.ru_maxrss
            time.sleep(0.02)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = (out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    return Run(child.returncode, *text), usage.ru_maxrss


def leftovers(tmp: Path) -> list[str]:
    """What a case left in its temporary folder. Not counted: the empty ``torchinductor_<user>`` folder that importing
    ``torch._dynamo`` (which transformers' model classes pull in) creates in the temporary directory of every
    process — torch's persistent compile cache, made once per user and never a file of langspan's."""
    return sorted(
        path.name
        for path in tmp.iterdir()
        if not (path.name.startswith("torchinductor_") and path.is_dir() and not any(path.iterdir()))
    )


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(folder.rglob("*"))
    }


def judge(run: Run, problems: list[str]) -> tuple[str, str]:
    """(kind, detail) for a finished command; appends to ``problems`` what breaks the exit/stderr rules."""
    if run.code is None:
        problems.append("hang")
        return "hang", ""
    if run.escaped is not None:
        problems.append(f"exception escaped: {type(run.escaped).__name__}: {run.escaped}")
    if "Traceback" in run.stdout + run.stderr:
        problems.append("traceback printed")
    if run.code == 0:
        return "ok", ""
    if run.code != 1:
        problems.append(f"exit {run.code}")
    if not ERROR_LINE.fullmatch(run.stderr):
        problems.append(f"stderr is not one error line: {run.stderr[-500:]!r}")
    return "refused", cause_of(run.stderr)


def cause_of(stderr: str) -> str:
    """The kind of error, without the file name or ffmpeg's own words: ``ffmpeg failed to decode audio``."""
    text = stderr.strip().removeprefix("langspan: error: ")
    text = text.split(": ", 1)[-1]
    return re.split(r" \(|: ", text, maxsplit=1)[0]


def check_timelines(out: Path, problems: list[str]) -> None:
    files = sorted(out.iterdir())
    if not files:
        problems.append("exit 0 without an output file")
    for path in files:
        if not re.fullmatch(r"case(\.stream\d+)?\.json", path.name):
            problems.append(f"unexpected file in the output folder: {path.name}")
            continue
        try:
            document = json.loads(path.read_text(), parse_constant=lambda name: math.nan)
            jsonschema.validate(document, SCHEMA)
        except (ValueError, jsonschema.ValidationError) as error:
            problems.append(f"{path.name} is not a valid timeline: {str(error)[:200]}")
            continue
        duration = document["duration"]
        times = [(span["start"], span["end"]) for span in document["spans"]]
        if not math.isfinite(duration) or duration < 0:
            problems.append(f"{path.name}: duration {duration}")
        if not all(0 <= start < end <= duration for start, end in times) or any(
            a[1] != b[0] for a, b in itertools.pairwise(times)
        ):
            problems.append(f"{path.name}: spans out of order or outside [0, {duration}]")
        if any(not math.isfinite(span["confidence"]) for span in document["spans"]):
            problems.append(f"{path.name}: a confidence that is not a number")


def run_detect_case(case: FuzzCase, work: Path, subprocess_run: bool = False) -> tuple[Outcome, int]:
    """``langspan detect`` on one case; (outcome, peak kB of a child process, 0 in-process)."""
    folders = [work / name for name in ("in", "out", "tmp")]
    for folder in folders:
        folder.mkdir(parents=True)
    source, out, tmp = folders
    path = source / f"case{case.suffix}"
    path.write_bytes(case.data)
    # One torch thread: the tiny model's batches are too small to share, and on busy cores threads only contend.
    args = ["detect", "--model", MODEL, "--threads", "1", "--no-vad", "-q", "--stall-timeout", "30", "-d", str(out),
            "--", str(path)]  # fmt: skip
    started = time.perf_counter()
    problems: list[str] = []
    peak = 0
    try:
        if subprocess_run:
            run, peak = invoke_subprocess(args, tmp)
        else:
            run = invoke_in_process(args, tmp)
    except Hang:
        run = Run(None, "", "")
    kind, detail = judge(run, problems)
    if kind == "ok":
        check_timelines(out, problems)
        if run.stderr:
            problems.append(f"stderr on success: {run.stderr[:200]!r}")
    elif any(out.iterdir()):
        problems.append(f"output left after a failure: {sorted(p.name for p in out.iterdir())}")
    if run.stdout:
        problems.append("stdout not empty with --output-dir")
    if path.read_bytes() != case.data or len(list(source.iterdir())) != 1:
        problems.append("input folder changed")
    if leftovers(tmp):
        problems.append(f"temporary files left: {leftovers(tmp)}")
    return Outcome(case, kind, detail, problems, time.perf_counter() - started), peak


def run_tag_case(case: FuzzCase, work: Path) -> Outcome:
    """``langspan tag --in-place`` on one case: a refusal leaves the file byte-identical, a write leaves a file
    ffprobe reads with the same streams, and the folder holds nothing else either way."""
    folders = [work / name for name in ("in", "tmp")]
    for folder in folders:
        folder.mkdir(parents=True)
    source, tmp = folders
    path = source / f"case{case.suffix}"
    path.write_bytes(case.data)
    args = ["tag", "--in-place", "--min-confidence", "0", "--model", MODEL, "-q", "--stall-timeout", "30", "--",
            str(path)]  # fmt: skip
    started = time.perf_counter()
    problems: list[str] = []
    try:
        run = invoke_in_process(args, tmp)
    except Hang:
        run = Run(None, "", "")
    kind, detail = judge(run, problems)
    if [p.name for p in source.iterdir()] != [path.name]:
        problems.append(f"folder holds more than the input: {sorted(p.name for p in source.iterdir())}")
    elif kind == "refused" and path.read_bytes() != case.data:
        problems.append("input changed by a refused tag --in-place")
    elif kind == "ok" and path.read_bytes() != case.data:
        kind, detail = "ok", "written"
        before, after = stream_kinds(case.data, tmp), stream_kinds(path.read_bytes(), tmp)
        if after is None or after != before:
            problems.append(f"tagged file lost streams: {before} -> {after}")
    if run.stderr and kind == "ok":
        problems.append(f"stderr on success: {run.stderr[:200]!r}")
    if leftovers(tmp):
        problems.append(f"temporary files left: {leftovers(tmp)}")
    return Outcome(case, kind, detail, problems, time.perf_counter() - started)


def stream_kinds(data: bytes, tmp: Path) -> list[str] | None:
    """The codec_type of every stream ffprobe finds in ``data``; None when it cannot read it."""
    with tempfile.NamedTemporaryFile(dir=tmp) as handle:
        handle.write(data)
        handle.flush()
        result = subprocess.run(
            [ffprobe_path(), "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", handle.name],
            capture_output=True, text=True, timeout=HANG_SECONDS, check=False,
        )  # fmt: skip
    return result.stdout.split() if result.returncode == 0 else None


def peak_memory_kb() -> tuple[int, int]:
    """(this process, the largest child so far): peak resident kB as the kernel counts it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def warm_up(seeds: dict[str, Path], work: Path) -> None:
    """One run of an undamaged seed before the cases: torch makes its compile-cache folder (``torchinductor_<user>``)
    in the temporary directory the first time it is used in a process — a cache it keeps on purpose, not a file a
    case left behind — and that first use must not fall inside a case's private temporary folder."""
    container = next(iter(seeds))
    outcome, _ = run_detect_case(FuzzCase("warm-up", container, seeds[container].suffix, seeds[container].read_bytes(),
                                          "none"), work)  # fmt: skip
    assert outcome.kind == "ok" and not [p for p in outcome.problems if "torchinductor" not in p], outcome
