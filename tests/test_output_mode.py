"""Outputs get the permissions any new file gets (0666 less the umask), not the private 0600 of the temporary file
they are written through — a media server running as another user must be able to read the subtitles."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import MEDIA, TINY_MODEL
from langspan.cli import app


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(umask: int, mode: int, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "tone.wav").write_bytes((MEDIA / "tone.wav").read_bytes())
    previous = os.umask(umask)
    try:
        single = CliRunner().invoke(app, ["detect", str(library / "tone.wav"), "-o", str(tmp_path / "one.srt"),
                                          "--model", str(TINY_MODEL), "--no-vad", "-q"])  # fmt: skip
        batch = CliRunner().invoke(app, ["detect", str(library), "-d", str(tmp_path / "out"), "-f", "json",
                                         "--model", str(TINY_MODEL), "--no-vad", "-q"])  # fmt: skip
    finally:
        os.umask(previous)
    assert single.exit_code == 0 and batch.exit_code == 0, single.output + batch.output
    for output in (tmp_path / "one.srt", tmp_path / "out" / "tone.json"):
        assert stat.S_IMODE(output.stat().st_mode) == mode, output
