"""Ctrl-C during ``langspan detect``: exit 130 promptly, the ffmpeg child gone (not orphaned, not a zombie), and
no output file, whole or partial. Runs the real CLI in a subprocess, since only a process can receive a signal."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ffmpeg_path, interruptible_children
from langspan import cli
from langspan.cli import common as cli_common
from langspan.cli import detect as cli_detect

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "fixtures" / "tiny-lid")
LONG_SECONDS = 3600  # an hour of audio keeps the tiny model busy for a minute or more: the signal lands mid-run
EXIT_WITHIN_S = 2.0  # from the signal to the end of the process
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


@pytest.fixture(scope="module")
def long_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "hour of silence.flac"  # silence compresses to ~700 kB
    subprocess.run(
        [ffmpeg_path(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
         "-t", str(LONG_SECONDS), "-c:a", "flac", str(path)],
        check=True,
    )  # fmt: skip
    return path


def children(pid: int) -> dict[int, tuple[str, str]]:
    """{child pid: (command name, start time)} from /proc; the start time tells a reused pid from the same one."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is the state, [1] the parent, [19] the start time
        if int(fields[1]) == pid:
            found[int(entry.name)] = (name, fields[19])
    return found


def still_there(pid: int, start_time: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[19] == start_time  # running, orphaned or a zombie: all count


@contextmanager
def adopting_orphans():
    """Make this process the subreaper of its descendants: an ffmpeg that langspan leaves behind becomes our child
    (running or a zombie) instead of vanishing into init, so the test sees it; langspan must reap its own."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip(f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def reap_adopted(name: str) -> list[int]:
    """Pids of adopted processes called ``name`` (left behind by a child), killed and reaped here."""
    adopted = [pid for pid, (command, _) in children(os.getpid()).items() if command == name]
    for pid in adopted:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return adopted


@pytest.mark.skipif(sys.platform != "linux", reason="reads child processes from /proc")
@pytest.mark.parametrize("target", ["process", "process-group"])
@pytest.mark.slow
def test_sigint_during_detect(long_input: Path, tmp_path: Path, target: str) -> None:
    """``process``: the signal reaches langspan alone, so langspan must stop ffmpeg itself. ``process-group``: what
    Ctrl-C in a terminal does, ffmpeg gets it too."""
    output = tmp_path / "out" / "hour.json"
    output.parent.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    # Big batches keep the main thread in the model most of the time, so the signal lands there, not in a read.
    options = ["--model", MODEL, "--batch-size", "64", "-q", "-o", str(output)]
    command = [sys.executable, "-m", "langspan", "detect", *options, str(long_input)]
    with adopting_orphans():
        with interruptible_children():
            process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True,
            )  # fmt: skip
        stdout, stderr, decoders = _interrupt(process, target)
        left_behind = reap_adopted("ffmpeg")
    assert process.returncode == 130
    assert left_behind == []
    assert not any(still_there(pid, start) for pid, (_, start) in decoders.items())
    assert stdout == b""
    lines = stderr.decode().splitlines()
    assert lines[-1] == "langspan: interrupted" and "Traceback" not in stderr.decode()
    assert list(output.parent.iterdir()) == []  # no output and no temporary .part file


def _interrupt(process: subprocess.Popen, target: str) -> tuple[bytes, bytes, dict[int, tuple[str, str]]]:
    try:
        decoders = _wait_for_decoder(process)
        time.sleep(0.5)  # well into decoding and classifying
        assert process.poll() is None, "the run ended before it could be interrupted"
        if target == "process":
            process.send_signal(signal.SIGINT)
        else:
            os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=EXIT_WITHIN_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return stdout, stderr, decoders


def _wait_for_decoder(process: subprocess.Popen) -> dict[int, tuple[str, str]]:
    deadline = time.monotonic() + 120  # interpreter start and model load on a busy machine
    while time.monotonic() < deadline and process.poll() is None:
        decoders = {pid: info for pid, info in children(process.pid).items() if info[0] == "ffmpeg"}
        if decoders:
            return decoders
        time.sleep(0.05)
    pytest.fail(f"no ffmpeg child appeared (exit code {process.poll()})")


def test_interrupt_while_the_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(options):
        raise KeyboardInterrupt

    def exit_now(code: int):  # the real os._exit would end pytest; the subprocess tests above use the real one
        raise SystemExit(code)

    monkeypatch.setattr(cli_detect, "load_classifier", interrupted)
    monkeypatch.setattr(cli_common.os, "_exit", exit_now)
    result = CliRunner().invoke(cli.app, ["detect", "--model", MODEL, str(ROOT / "fixtures" / "media" / "tone.wav")])
    assert result.exit_code == 130
    assert result.stderr == "langspan: interrupted\n" and result.stdout == ""
