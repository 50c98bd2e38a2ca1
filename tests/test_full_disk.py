"""A filesystem that runs out of space under outputs, the stdin spool, a batch's manifest and ``tag --in-place``'s
temporary copy: one clean error line, nothing partial left behind, the original media untouched.

The full disk is real: a small tmpfs mounted for the test and filled up (mounting needs root — CI runs as root —
so without it these tests are skipped, with the reason).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuzz_corpus import private_tempdir, seed_files
from langspan.cli import app
from langspan.errors import MediaError
from langspan.tagging import write

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "fixtures" / "tiny-lid")
MEDIA = ROOT / "fixtures" / "media"
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, mounted for this test only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root (CI runs the suite as root)")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mount)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (no CAP_SYS_ADMIN?): {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0) -> None:
    """Fill ``disk`` until at most ``leave`` bytes are free."""
    with open(disk / "filler", "wb") as filler:
        try:
            while True:
                free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
                if free <= leave:
                    break
                filler.write(b"\0" * min(free - leave, 1 << 16))
                filler.flush()
        except OSError as error:
            if error.errno != errno.ENOSPC:  # a full disk is the point; anything else is a broken fixture
                raise


def contents(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "filler"
    }


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(app, [*args, "--model", MODEL, "-q"], **kwargs)


def assert_one_error_line(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("langspan: error: ") and text in lines[0], result.stderr


def test_an_output_on_a_full_disk(disk: Path) -> None:
    fill(disk)
    result = invoke("detect", str(MEDIA / "tone.wav"), "--no-vad", "-o", str(disk / "tone.json"), "-f", "json")
    assert_one_error_line(result, f"{disk / 'tone.json'}: cannot write ({NO_SPACE})")
    assert contents(disk) == {}  # no tone.json, no .tone.json.XXXX.part


def test_several_outputs_on_a_disk_that_fills_up_between_them(disk: Path) -> None:
    # The SRT written first is taken back when the HTML picture does not fit.
    fill(disk, leave=4096)  # one page: the 52-byte SRT fits, the 7.5 kB HTML does not
    result = invoke("detect", str(MEDIA / "tone.wav"), "--no-vad", "-d", str(disk), "-f", "srt", "-f", "html")
    assert_one_error_line(result, f"cannot write ({NO_SPACE})")
    assert contents(disk) == {}


@pytest.mark.slow
def test_a_batch_whose_output_folder_fills_up(disk: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    for name in ("tone.wav", "chirp.mp3"):
        shutil.copy(MEDIA / name, library / name)
    fill(disk, leave=4096)
    result = invoke("detect", str(library), "--no-vad", "-d", str(disk / "out"), "-f", "json", "-f", "html")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert all(line.startswith("langspan: error: ") and NO_SPACE in line for line in result.stderr.splitlines())
    # No output is half there; manifest lines that made it are whole (a torn one was taken back).
    out = disk / "out"
    for path in out.rglob("*"):
        if path.name == "langspan-manifest.jsonl":
            assert all(json.loads(line) for line in path.read_text().splitlines())
        else:
            assert not path.name.startswith(".") and json.loads(path.read_text()) if path.suffix == ".json" else True
            assert path.suffix != ".html" or path.read_text().rstrip().endswith("</html>")
    os.unlink(disk / "filler")  # room again: the next run finishes the job
    again = invoke("detect", str(library), "--no-vad", "-d", str(out), "-f", "json", "-f", "html")
    assert again.exit_code == 0, again.output
    assert sorted(contents(out)) == ["chirp.html", "chirp.json", "langspan-manifest.jsonl", "tone.html", "tone.json"]


def test_the_stdin_spool_on_a_full_disk(disk: Path) -> None:
    fill(disk, leave=16 * 1024)  # less than the 160 kB piped in
    with private_tempdir(disk):
        result = invoke("detect", "-", "--no-vad", input=(MEDIA / "tone.wav").read_bytes())
    assert_one_error_line(result, f"-: cannot spool standard input to {disk} ({NO_SPACE})")
    assert result.stdout == ""
    assert sorted(path.name for path in disk.iterdir()) == ["filler"]  # the spool folder is gone


@pytest.fixture
def movie(disk: Path, tmp_path: Path) -> Path:
    """An untagged two-track MKV (27 kB) on the disk, which is then filled up to 8 kB."""
    media = disk / "movie.mkv"
    shutil.copy(seed_files(tmp_path / "seeds", tag=True)["mkv"], media)  # untagged: a tag would be written
    fill(disk, leave=8 * 1024)
    return media


def test_tag_in_place_refuses_before_copying_when_there_is_no_room(movie: Path) -> None:
    before = movie.read_bytes()
    result = invoke("tag", str(movie), "--in-place", "--min-confidence", "0")
    assert_one_error_line(result, f"{movie}: not enough free space beside it for the tagged copy (27 kB needed, ")
    assert movie.read_bytes() == before
    assert sorted(path.name for path in movie.parent.iterdir()) == ["filler", "movie.mkv"]


def test_tag_in_place_when_the_disk_fills_up_during_the_copy(movie: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The room check passes (the space was there when it looked, then something else took it): ffmpeg 5.1 then
    # exits 0 with a truncated copy whose header still looks complete — this once replaced the original with it.
    monkeypatch.setattr(write.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1 << 40, 0, 1 << 40))
    before = movie.read_bytes()
    result = invoke("tag", str(movie), "--in-place", "--min-confidence", "0")
    assert_one_error_line(result, f"{movie}: ffmpeg could not copy the streams")
    assert movie.read_bytes() == before
    assert sorted(path.name for path in movie.parent.iterdir()) == ["filler", "movie.mkv"]  # no temporary copy


def test_a_copy_cut_short_is_caught_by_its_packet_counts(tmp_path: Path) -> None:
    # The second line of defence, should a failed write ever go unreported: a copy that lost its tail has the
    # source's header but fewer packets.
    source = seed_files(tmp_path / "seeds", tag=True)["mkv"]
    short = tmp_path / "short.mkv"
    short.write_bytes(source.read_bytes()[:8192])
    with pytest.raises(MediaError, match=r"short copy is not faithful, nothing was replaced: stream 0 has \d+ pack"):
        write.verify_packets(source, short, "short copy")
