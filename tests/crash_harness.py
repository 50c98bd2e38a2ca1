"""Kill a folder batch with SIGKILL at random moments, resume it, and check what a crash may and may not leave.

A *trial* starts a fresh ``langspan detect LIBRARY --output-dir OUT`` (two formats, so the all-or-nothing path of
several outputs per file is exercised), SIGKILLs it one to three times in a row at a random moment — after a random
number of manifest lines plus a random few milliseconds, so kills land while outputs and records are being
written, not only while the model works — and then lets a last run finish. Checked after every kill: each output
file present is byte-identical to the output of an uninterrupted run (never truncated, never half-written) and
every manifest line but a torn last one parses. Checked after the last run: exit 0, exactly the uninterrupted run's
outputs, no temporary file, a manifest that parses, and no file done again whose outputs a killed run had finished
and recorded. Used by tests/test_crash.py (a few kills) and benchmarks/crash.py (20).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT / "fixtures" / "media"
MODEL = str(ROOT / "fixtures" / "tiny-lid")
MANIFEST = "langspan-manifest.jsonl"
LIBRARY = ("tone.wav", "chirp.mp3", "chirp.m4a", "two_tracks.mkv", "stereo48k.flac", "tone8k.wav")
RUN_TIMEOUT = 300  # a hang detector for one run, not a speed requirement


def make_library(folder: Path) -> Path:
    """Eight small files in two folders (two of them twice, under other names)."""
    (folder / "b").mkdir(parents=True)
    for name in LIBRARY:
        shutil.copy(MEDIA / name, folder / name)
    shutil.copy(MEDIA / "tone.wav", folder / "b" / "again.wav")
    shutil.copy(MEDIA / "chirp.mp3", folder / "b" / "again.mp3")
    return folder


def command(library: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "langspan", "detect", str(library), "-r", "-d", str(out), "-f", "json", "-f", "srt",
            "--model", MODEL, "--no-vad", "--threads", "1", "-q"]  # fmt: skip


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path]), "HF_HUB_OFFLINE": "1"}


def start(library: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(command(library, out), env=environment(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def outputs(out: Path) -> dict[str, bytes]:
    """Every visible output file (not the manifest, not hidden temporaries) by its path under ``out``."""
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file() and path.name != MANIFEST and not path.name.startswith(".")
    }


def hidden(out: Path) -> list[str]:
    return sorted(path.relative_to(out).as_posix() for path in out.rglob(".*"))


def manifest_lines(out: Path) -> list[str]:
    path = out / MANIFEST
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def reference(library: Path, out: Path) -> dict[str, bytes]:
    """The outputs of an uninterrupted run."""
    process = start(library, out)
    _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    assert process.returncode == 0, stderr
    return outputs(out)


@dataclass
class Kill:
    after_lines: int
    delay: float
    landed: bool = False
    """False when the run had finished before the kill."""
    lines: int = 0
    outputs: int = 0


@dataclass
class Trial:
    kills: list[Kill] = field(default_factory=list)
    redone: int = 0
    """Files done again in the last run although a killed run had recorded them ok (must stay 0)."""
    problems: list[str] = field(default_factory=list)


def kill_at(process: subprocess.Popen, out: Path, kill: Kill) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while len(manifest_lines(out)) < kill.after_lines and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(kill.delay)
    kill.landed = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=RUN_TIMEOUT)


def check_after_kill(out: Path, expected: dict[str, bytes], kill: Kill, problems: list[str]) -> None:
    found = outputs(out)
    kill.outputs, lines = len(found), manifest_lines(out)
    kill.lines = len(lines)
    for name, data in found.items():
        if expected.get(name) != data:
            problems.append(f"after a kill, {name} is not the complete output ({len(data)} bytes)")
    for number, line in enumerate(lines[:-1], 1):
        try:
            json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"after a kill, manifest line {number} does not parse")


def trial(library: Path, out: Path, expected: dict[str, bytes], rng: random.Random, kills: int) -> Trial:
    result = Trial()
    files = len(LIBRARY) + 2
    for _ in range(kills):
        # 2 manifest lines per file ("writing", then "ok"): aim anywhere in the run, start-up included.
        kill = Kill(after_lines=rng.randrange(0, 2 * files), delay=rng.choice((0.0, rng.uniform(0, 0.05),
                                                                                rng.uniform(0, 0.5))))  # fmt: skip
        kill_at(start(library, out), out, kill)
        check_after_kill(out, expected, kill, result.problems)
        result.kills.append(kill)
    recorded_ok = {record["file"] for record in map(json.loads, _parsed(manifest_lines(out))) if record["status"] == "ok"}
    before = len(manifest_lines(out))
    process = start(library, out)
    _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    if process.returncode != 0 or "Traceback" in stderr:
        result.problems.append(f"the resumed run failed (exit {process.returncode}): {stderr[-500:]}")
    if outputs(out) != expected:
        result.problems.append("the resumed run's outputs differ from an uninterrupted run's")
    if hidden(out):
        result.problems.append(f"temporary files left: {hidden(out)}")
    lines = manifest_lines(out)
    if len(list(_parsed(lines))) != len(lines):
        result.problems.append("the manifest has lines that do not parse after the resumed run")
    resumed = [json.loads(line) for line in _parsed(lines[before:])]
    result.redone = sum(1 for record in resumed if record["status"] == "ok" and record["file"] in recorded_ok)
    if result.redone:
        result.problems.append(f"{result.redone} files done again although a killed run had finished them")
    return result


def _parsed(lines: list[str]):
    for line in lines:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue
        yield line
