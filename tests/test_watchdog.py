"""The decode watchdog: an ffmpeg (or ffprobe) that stops producing is killed after ``--stall-timeout`` seconds and
the file fails with one line, so a single stalled file cannot block a batch forever.

The stalls are real: a running ffmpeg frozen with SIGSTOP (what a hung NFS mount or a demuxer stuck in a loop looks
like from outside: alive, silent), and a real ffprobe that stops itself before it starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ffmpeg_path
from fuzz_corpus import hang_alarm
from langspan.cli import app
from langspan.errors import MediaError
from langspan.frontend import media

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "fixtures" / "tiny-lid")
TONE = ROOT / "fixtures" / "media" / "tone8k.wav"


@pytest.fixture(scope="module")
def long_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten minutes of silence (small as FLAC): ffmpeg is still busy, blocked on the full pipe, when it is frozen."""
    path = tmp_path_factory.mktemp("long") / "a.flac"
    subprocess.run(
        [ffmpeg_path(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "600",
         "-c:a", "flac", str(path)],
        check=True,
    )  # fmt: skip
    return path


def ffmpeg_children(parent: int, needle: str) -> list[int]:
    """Pids of the ffmpeg processes whose parent is ``parent`` and whose command line mentions ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if entry.name.isdigit() and int(fields[1]) == parent and "(ffmpeg)" in stat and needle in command:
            found.append(int(entry.name))
    return found


def wait_for(find, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := find():
            return found
        time.sleep(0.005)
    raise AssertionError("never appeared")


@pytest.mark.slow
def test_a_frozen_ffmpeg_fails_the_file_and_is_reaped(long_input: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(media.STALL_TIMEOUT_ENV, "1")
    chunks = media.decode(long_input)
    assert len(next(chunks)) == media.SAMPLE_RATE * media.CHUNK_SECONDS  # decoding works, ffmpeg is mid-file
    (pid,) = ffmpeg_children(os.getpid(), str(long_input))
    os.kill(pid, signal.SIGSTOP)
    with hang_alarm(30), pytest.raises(MediaError, match=r"a\.flac: ffmpeg stalled: no audio for 1 s, stopped"):
        for _ in chunks:
            pass
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped: neither running nor a zombie


def test_a_frozen_ffprobe_fails_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = media.find_ffmpeg()
    frozen = tmp_path / "ffprobe"
    frozen.write_text(f'#!/bin/sh\nkill -STOP $$\nexec {real.ffprobe} "$@"\n')  # the real ffprobe, frozen first
    frozen.chmod(0o755)
    monkeypatch.setattr(media, "find_ffmpeg", lambda: media.FFmpegBinaries(real.ffmpeg, str(frozen)))
    monkeypatch.setenv(media.STALL_TIMEOUT_ENV, "0.5")
    with hang_alarm(30), pytest.raises(MediaError, match=r"tone8k\.wav: ffprobe stalled: no answer within 0\.5 s"):
        media.probe(TONE)


@pytest.mark.slow
def test_a_stalled_file_does_not_block_the_batch(long_input: Path, tmp_path: Path) -> None:
    folder, out = long_input.parent, tmp_path / "out"
    (folder / "b.wav").write_bytes(TONE.read_bytes())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    command = [sys.executable, "-m", "langspan", "detect", str(folder), "-d", str(out), "--model", MODEL,
               "--no-vad", "--threads", "1", "--stall-timeout", "2"]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        (pid,) = wait_for(lambda: ffmpeg_children(child.pid, "a.flac"))
        os.kill(pid, signal.SIGSTOP)
        _, stderr = child.communicate(timeout=120)  # a hang detector; the watchdog fires after 2 s
    finally:
        child.kill()
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert child.returncode == 1, stderr
    assert errors == [f"langspan: error: {long_input}: ffmpeg stalled: no audio for 2 s, stopped (see --stall-timeout)"]
    records = [json.loads(line) for line in (out / "langspan-manifest.jsonl").read_text().splitlines()]
    outcomes = [(Path(r["file"]).name, r["status"]) for r in records]
    assert outcomes == [("a.flac", "failed"), ("b.wav", "writing"), ("b.wav", "ok")]
    assert sorted(path.name for path in out.iterdir()) == ["b.json", "langspan-manifest.jsonl"]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--stall-timeout", "-1"], {}, "--stall-timeout must be a number of seconds ≥ 0, got -1.0"),
        ([], {media.STALL_TIMEOUT_ENV: "soon"}, "LANGSPAN_STALL_TIMEOUT='soon': expected a number of seconds"),
    ],
)
def test_a_bad_stall_timeout_is_a_usage_error(args: list[str], env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(app, ["detect", *args, str(TONE)], env={media.STALL_TIMEOUT_ENV: None, **env})
    assert result.exit_code == 2
    assert result.stderr == f"langspan: error: {message}\n"
