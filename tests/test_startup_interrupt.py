"""Ctrl-C in the first moments of ``langspan``, while Python is still importing: exit 130, no traceback, no output.

Every entry point goes through langspan._entry (the console script and ``python -m langspan``), whose handler is
in place before the command line is imported; each run below gets SIGINT a little later, from the first imports to
the command's own start. The clock starts when the interpreter has installed its own SIGINT handler: the 20–40 ms
before our first line runs (the interpreter importing ``site`` and ``runpy``) belong to Python, which reports an
interrupt there with its own traceback — a traceback from the interpreter's start-up, with no frame of ours or of
any library we import, is the one thing tolerated.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import interruptible_children

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "fixtures" / "tiny-lid")
TONE = str(ROOT / "fixtures" / "media" / "tone.wav")
# The console script that pip writes: `from langspan._entry import main; sys.exit(main())`.
CONSOLE_SCRIPT = "import sys; from langspan._entry import main; sys.argv[0] = 'langspan'; sys.exit(main())"
# Seconds after the interpreter is up: its imports, langspan's (~0.3 s), the command's callback, the command.
DELAYS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.7, 1.0)


def interrupted_run(launcher: list[str], delay: float, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path]), "HF_HUB_OFFLINE": "1"}
    args = ["detect", TONE, "--model", MODEL, "--no-vad", "-q", "-o", str(out)]
    with interruptible_children():
        child = subprocess.Popen([*launcher, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while not catches_sigint(child.pid) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)  # a hang detector
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def catches_sigint(pid: int) -> bool:
    """Whether the process has a handler for SIGINT (bit 2 of SigCgt): the interpreter is up."""
    status = Path(f"/proc/{pid}/status").read_text()
    return bool(int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.MULTILINE).group(1), 16) & 2)  # type: ignore[union-attr]


def from_interpreter_start_up(stderr: str) -> bool:
    """An interrupt reported by the interpreter before any code of ours ran: only frozen start-up frames."""
    frames = re.findall(r'File "([^"]+)"', stderr)
    return bool(frames) and all(frame.startswith("<frozen ") for frame in frames)


@pytest.mark.parametrize("launcher", ["module", "console-script"])
@pytest.mark.slow
def test_ctrl_c_during_start_up(launcher: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "langspan"] if launcher == "module" else [sys.executable, "-c", CONSOLE_SCRIPT]
    handled = 0
    for number, delay in enumerate(DELAYS):
        result = interrupted_run(command, delay, tmp_path / f"out{number}.json")
        assert result.stdout == ""
        assert not (tmp_path / f"out{number}.json").exists()
        if from_interpreter_start_up(result.stderr):
            continue  # a very busy machine: the signal came before the interpreter ran our first line
        assert "Traceback" not in result.stderr, f"after {delay} s: {result.stderr}"
        if result.returncode == -signal.SIGINT:
            # Python re-raises an interrupt that reaches its top level as a real SIGINT death (shells report 130).
            assert result.stderr == ""
            continue
        assert result.returncode == 130, result.stderr
        assert result.stderr.endswith("langspan: interrupted\n") and result.stderr.count("\n") <= 2, result.stderr
        handled += 1
    assert handled >= len(DELAYS) - 2  # the test must mostly exercise our handling, not the interpreter's


def test_the_console_script_and_python_m_use_the_same_entry() -> None:
    scripts = (ROOT / "pyproject.toml").read_text().split("[project.scripts]")[1].split("\n[")[0]
    assert re.findall(r"^(\w+) = \"(.+)\"$", scripts, re.MULTILINE) == [("langspan", "langspan._entry:main")]
    assert (ROOT / "src" / "langspan" / "__main__.py").read_text() == "from ._entry import main\n\nmain()\n"


def test_importing_the_package_does_not_import_the_engine() -> None:
    # The start-up window the handler cannot cover is `import langspan` itself: it must stay tiny.
    code = "import sys, langspan; print(sorted(m for m in sys.modules if m.startswith(('langspan.', 'numpy'))))"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    loaded = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_run_leaves_nothing_in_the_temporary_directory(tmp_path: Path) -> None:
    # Importing torch._dynamo (transformers' model classes do) makes torch's compile-cache folder; the entry point
    # sends it to the user's cache folder instead of $TMPDIR, where every run would leave one.
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path]), "HF_HUB_OFFLINE": "1",
           "TMPDIR": str(tmp_path / "tmp"), "XDG_CACHE_HOME": str(tmp_path / "cache")}  # fmt: skip
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    command = [sys.executable, "-m", "langspan", "detect", TONE, "--model", MODEL, "--no-vad", "-q"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "tmp").iterdir()) == []
    assert (tmp_path / "cache" / "torch" / "inductor").is_dir()


def test_a_ctrl_c_inside_a_finalizer_is_raised_at_the_next_safe_point(monkeypatch) -> None:
    """Regression: a SIGINT that landed in a ``__del__`` (the regex package's, while transformers loads) raised
    KeyboardInterrupt there, which Python prints and drops: the command went on and wrote its output, exit 0."""
    from types import SimpleNamespace

    from langspan import _entry

    monkeypatch.setattr(_entry, "_interrupt_seen", False)
    _entry.raise_if_interrupted()  # nothing pending: no-op
    finalizer = SimpleNamespace(f_code=SimpleNamespace(co_name="__del__"))
    _entry._keyboard_interrupt(signal.SIGINT, finalizer)  # noted, not raised inside the finalizer
    with pytest.raises(KeyboardInterrupt):
        _entry.raise_if_interrupted()
    with pytest.raises(KeyboardInterrupt):  # anywhere else it raises at once, as Python's own handler does
        _entry._keyboard_interrupt(signal.SIGINT, SimpleNamespace(f_code=SimpleNamespace(co_name="detect")))
