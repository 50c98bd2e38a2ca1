"""Media on standard input: spooled to a private temporary file that never outlives the command."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import MEDIA, ROOT, TINY_MODEL, ffmpeg_path
from langspan.errors import MediaError
from langspan.frontend.spool import spooled_stdin

MODEL = str(TINY_MODEL)


def test_spool_holds_the_bytes_in_a_private_folder_removed_afterwards():
    data = os.urandom(3 * 1024 * 1024 + 17)  # several copy chunks and a ragged end
    with spooled_stdin(io.BytesIO(data)) as path:
        assert path.read_bytes() == data
        assert path.parent.stat().st_mode & 0o777 == 0o700
        folder = path.parent
    assert not folder.exists()


def test_spool_is_removed_when_the_work_fails_and_errors_name_stdin():
    folders = []

    def fail_on_the_spooled_file() -> None:
        with spooled_stdin(io.BytesIO(b"not media")) as path:
            folders.append(path.parent)
            raise MediaError(f"{path}: not a readable media file (file:{path.absolute()}: Invalid data)", "tail")

    with pytest.raises(MediaError) as caught:
        fail_on_the_spooled_file()
    assert folders and not folders[0].exists()
    assert str(caught.value) == "-: not a readable media file (file:-: Invalid data)"
    assert caught.value.stderr_tail == "tail"


def test_empty_stdin_is_a_media_error_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with pytest.raises(MediaError, match="no data on standard input"), spooled_stdin(io.BytesIO(b"")):
        pass
    assert list(tmp_path.iterdir()) == []


def _langspan(args: list[str], tmp_path: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    (tmp_path / "tmp").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "langspan", "detect", *args, "--model", MODEL, "-q"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


@pytest.mark.slow
def test_mp4_with_its_index_at_the_end_reads_from_stdin(tmp_path):
    # 60 s of AAC: the moov atom comes after half a megabyte of data, more than a pipe lets ffmpeg look ahead.
    media = tmp_path / "late_index.m4a"
    subprocess.run([ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i", "sine=f=300:d=60", "-c:a", "aac", str(media)],
                   check=True)  # fmt: skip
    data = media.read_bytes()
    assert data.find(b"moov") > 500_000 > data.find(b"mdat")
    with open(media, "rb") as stdin:
        process = _langspan(["-", "-f", "jsonl"], tmp_path, stdin=stdin)
        out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    spans = [json.loads(line) for line in out.decode().splitlines()]
    assert spans and all(span["source"] == "-" for span in spans)
    assert spans[0]["start"] == 0 and spans[-1]["end"] == pytest.approx(60, abs=0.1)
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.slow
def test_bad_media_on_stdin_fails_with_one_line_naming_stdin(tmp_path):
    with open(MEDIA / "corrupt.mp4", "rb") as stdin:
        process = _langspan(["-"], tmp_path, stdin=stdin)
        out, err = process.communicate(timeout=300)
    assert process.returncode == 1 and out == b""
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("langspan: error: -: ")
    assert "langspan-stdin" not in lines[0]
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.slow
def test_sigterm_while_reading_stdin_removes_the_spool(tmp_path):
    process = _langspan(["-"], tmp_path, stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(b"\0" * 100_000)
    process.stdin.flush()
    deadline = time.monotonic() + 120
    while not list((tmp_path / "tmp").glob("langspan-stdin-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list((tmp_path / "tmp").glob("langspan-stdin-*")), "the spool never appeared"
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert list((tmp_path / "tmp").iterdir()) == []
