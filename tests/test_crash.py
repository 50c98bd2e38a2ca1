"""Crashes, torn manifests and two batches on one output folder (tests/crash_harness.py does the killing).

SIGKILL is what the OOM killer, a reboot or ``kill -9`` deliver: no handler runs, so whatever the batch leaves must
already be safe. The deterministic tests below rebuild the states a kill or a power cut leaves at the worst
moments; the random ones kill a real batch.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crash_harness as harness
from crash_harness import MANIFEST, MEDIA, MODEL, hidden, make_library, outputs
from langspan.cli import app


def run(library: Path, out: Path, *args: str):
    args = ("--no-vad", "--threads", "1", *args)
    return CliRunner().invoke(app, ["detect", str(library), "-d", str(out), "--model", MODEL, *args])


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    shutil.copy(MEDIA / "tone.wav", folder / "a.wav")
    shutil.copy(MEDIA / "chirp.mp3", folder / "b.mp3")
    return folder


def test_a_kill_between_writing_outputs_and_recording_them_is_resumed(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(library, out, "-f", "json", "-f", "srt").exit_code == 0
    expected = outputs(out)
    # What SIGKILL right after b's outputs were renamed into place leaves: its "writing" record, no final one.
    lines = (out / MANIFEST).read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["writing", "ok", "writing", "ok"]
    (out / MANIFEST).write_text("\n".join(lines[:3]) + "\n")

    result = run(library, out, "-f", "json", "-f", "srt")

    assert result.exit_code == 0, result.output  # not "b.json: already exists": those outputs are ours
    resumed = [(Path(r["file"]).name, r["status"]) for r in records(out)[3:]]
    assert resumed == [("a.wav", "skipped"), ("b.mp3", "writing"), ("b.mp3", "ok")]
    assert outputs(out) == expected


def test_a_torn_last_manifest_line_is_reported_and_its_file_done_again(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(library, out).exit_code == 0
    text = (out / MANIFEST).read_text()
    (out / MANIFEST).write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # a power cut mid-append

    result = run(library, out)

    assert result.exit_code == 0, result.output
    assert f"langspan: warning: {out / MANIFEST}: ignored 1 incomplete line left by an interrupted run" in result.stderr
    assert "Traceback" not in result.output
    statuses = [(Path(r["file"]).name, r["status"]) for r in map(json.loads, _whole_lines(out))]
    assert statuses[-3:] == [("a.wav", "skipped"), ("b.mp3", "writing"), ("b.mp3", "ok")]  # only b is redone
    assert json.loads((out / "b.json").read_text())["duration"] > 0


def _whole_lines(out: Path) -> list[str]:
    lines = []
    for line in (out / MANIFEST).read_text().splitlines():
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue
        lines.append(line)
    return lines


def test_temporary_files_of_a_killed_run_are_removed(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.json.k2j9x_0q.part").write_text('{"schema": "langspan.timel')  # what SIGKILL mid-write leaves
    (out / ".notes.part").write_text("not ours: another name pattern")
    assert run(library, out).exit_code == 0
    assert hidden(out) == [".notes.part"]


def locked_by_someone(folder: Path) -> bool:
    """Whether /proc/locks lists a flock on ``folder`` (by its inode)."""
    inode = os.stat(folder).st_ino
    return any(line.split()[1] == "FLOCK" and line.split()[5].endswith(f":{inode}")
               for line in Path("/proc/locks").read_text().splitlines())  # fmt: skip


@pytest.mark.slow
def test_a_second_batch_on_the_same_output_folder_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    library, out = make_library(tmp_path / "library"), tmp_path / "out"
    first = harness.start(library, out)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and locked_by_someone(out)) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.poll() is None, "the first batch ended before the second could start"
        second = subprocess.run(
            harness.command(library, out), env=harness.environment(), capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        _, first_stderr = first.communicate(timeout=300)
    finally:
        first.kill()
    assert second.returncode == 1
    assert second.stderr == (f"langspan: error: {out}: another langspan batch is writing to this output folder; "
                             "wait for it to finish or use another --output-dir\n")  # fmt: skip
    assert first.returncode == 0, first_stderr
    assert all(record["status"] in ("writing", "ok") for record in records(out))  # every line whole, one writer
    assert len([r for r in records(out) if r["status"] == "ok"]) == 8
    assert hidden(out) == []


@pytest.mark.slow
def test_three_sigkills_at_random_moments_then_resume(tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    expected = harness.reference(library, tmp_path / "reference")
    result = harness.trial(library, tmp_path / "out", expected, random.Random(1), kills=3)
    assert result.problems == []
    assert any(kill.landed for kill in result.kills)
