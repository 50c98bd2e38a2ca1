"""Folder batches: which files, where their outputs go, the manifest, resuming, and one bad file among good ones."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import langspan
from conftest import MEDIA, TINY_MODEL, ffmpeg_path, interruptible_children
from langspan import detect, detect_many
from langspan.cli import app
from langspan.engine.batch import MANIFEST_NAME, Batch, find_media, fingerprint
from langspan.options import DetectOptions
from langspan.writers import get_writer

MODEL = str(TINY_MODEL)


@pytest.fixture
def classifier(tiny_classifier):
    return tiny_classifier


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A small media library: good files at two depths, a broken one, and things that are not media."""
    root = tmp_path / "library"
    (root / "season 1").mkdir(parents=True)
    shutil.copy(MEDIA / "tone.wav", root / "tone.wav")
    shutil.copy(MEDIA / "chirp.mp3", root / "season 1" / "chirp.mp3")
    shutil.copy(MEDIA / "two_tracks.mkv", root / "season 1" / "two tracks.MKV")
    shutil.copy(MEDIA / "corrupt.mp4", root / "season 1" / "broken.mp4")
    (root / "notes.txt").write_text("not media")
    (root / ".hidden.wav").write_bytes((MEDIA / "tone.wav").read_bytes())
    return root


def manifest(output_dir: Path) -> list[dict]:
    """The records that say what happened to a file (not the "writing" records that come before outputs)."""
    records = [json.loads(line) for line in (output_dir / MANIFEST_NAME).read_text().splitlines()]
    return [record for record in records if record["status"] != "writing"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["detect", *args, "--model", MODEL])
    return result.exit_code, result.stdout, result.stderr


def test_find_media_by_extension_hidden_and_depth(library):
    shallow = [job.path.relative_to(library).as_posix() for job in find_media([library])]
    assert shallow == ["tone.wav"]
    deep = find_media([library], recursive=True)
    assert [job.path.relative_to(library).as_posix() for job in deep] == [
        "season 1/broken.mp4", "season 1/chirp.mp3", "season 1/two tracks.MKV", "tone.wav"
    ]  # fmt: skip
    assert [job.stem.as_posix() for job in deep] == ["season 1/broken", "season 1/chirp", "season 1/two tracks", "tone"]


def test_a_symlink_loop_is_scanned_once(library):
    (library / "season 1" / "loop").symlink_to(library)
    found = [job.path.relative_to(library).as_posix() for job in find_media([library], recursive=True)]
    assert found == ["season 1/broken.mp4", "season 1/chirp.mp3", "season 1/two tracks.MKV", "tone.wav"]


def test_same_stem_keeps_the_extension_and_output_dir_is_not_scanned(tmp_path):
    shutil.copy(MEDIA / "tone.wav", tmp_path / "a.wav")
    shutil.copy(MEDIA / "chirp.mp3", tmp_path / "a.mp3")
    (tmp_path / "out").mkdir()
    shutil.copy(MEDIA / "tone.wav", tmp_path / "out" / "old.wav")
    jobs = find_media([tmp_path], recursive=True, exclude=tmp_path / "out")
    assert [job.stem.as_posix() for job in jobs] == ["a.mp3", "a.wav"]


def test_fingerprint_changes_when_a_local_model_folder_changes(tmp_path):
    model = shutil.copytree(TINY_MODEL, tmp_path / "model")
    before = fingerprint(DetectOptions(model=str(model)), ["json"])
    assert before == fingerprint(DetectOptions(model=str(model)), ["json"])
    weights = model / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000_000_000))  # retrained
    assert fingerprint(DetectOptions(model=str(model)), ["json"]) != before


def test_fingerprint_changes_with_model_options_and_formats():
    base = fingerprint(DetectOptions(model=MODEL), ["json"])
    assert base == fingerprint(DetectOptions(model=MODEL), ["json"])
    assert base != fingerprint(DetectOptions(model="other"), ["json"])
    assert base != fingerprint(DetectOptions(model=MODEL, top_k=2), ["json"])
    assert base != fingerprint(DetectOptions(model=MODEL), ["json", "srt"])
    assert fingerprint(DetectOptions(model=MODEL), ["srt", "json"]) == fingerprint(DetectOptions(model=MODEL), ["json", "srt"])


@pytest.mark.slow
def test_batch_processes_every_file_records_it_and_a_second_run_skips(library, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run(str(library), "-r", "-d", str(out), "-f", "json", "-f", "srt")
    assert code == 1  # the broken file failed …
    assert stdout == ""
    assert "broken.mp4" in stderr and "4 files: 3 done, 0 up to date, 1 failed" in stderr and "h audio" in stderr
    records = {Path(r["file"]).name: r for r in manifest(out)}
    assert {name: r["status"] for name, r in records.items()} == {
        "broken.mp4": "failed", "chirp.mp3": "ok", "two tracks.MKV": "ok", "tone.wav": "ok"
    }  # fmt: skip
    assert records["broken.mp4"]["error"] and records["tone.wav"]["error"] is None
    assert records["two tracks.MKV"]["audio_seconds"] == pytest.approx(8.0)
    assert all(isinstance(r["seconds"], float) for r in records.values())
    # … but not the others, whose outputs mirror the library's tree.
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        MANIFEST_NAME, "season 1/chirp.json", "season 1/chirp.srt",
        "season 1/two tracks.stream1.json", "season 1/two tracks.stream1.srt",
        "season 1/two tracks.stream2.json", "season 1/two tracks.stream2.srt", "tone.json", "tone.srt",
    ]  # fmt: skip
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}

    code, _, stderr = run(str(library), "-r", "-d", str(out), "-f", "json", "-f", "srt")
    assert code == 1 and "4 files: 0 done, 3 up to date, 1 failed" in stderr
    second = manifest(out)[4:]
    assert sorted(r["status"] for r in second) == ["failed", "skipped", "skipped", "skipped"]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == before  # nothing rewritten

    (library / "season 1" / "broken.mp4").unlink()
    code, _, stderr = run(str(library), "-r", "-d", str(out), "-f", "srt", "-f", "json")
    assert code == 0 and "3 files: 0 done, 3 up to date, 0 failed" in stderr


@pytest.mark.slow
def test_changed_input_option_or_missing_output_is_redone(library, tmp_path):
    out = tmp_path / "out"
    (library / "season 1" / "broken.mp4").unlink()
    assert run(str(library), "-r", "-d", str(out), "-q")[0] == 0
    tone = library / "tone.wav"
    os.utime(tone, ns=(tone.stat().st_atime_ns, tone.stat().st_mtime_ns + 10**9))
    (out / "season 1" / "chirp.json").unlink()
    assert run(str(library), "-r", "-d", str(out), "-q")[0] == 0
    third = {Path(r["file"]).name: r["status"] for r in manifest(out)[3:]}
    assert third == {"tone.wav": "ok", "chirp.mp3": "ok", "two tracks.MKV": "skipped"}
    assert (out / "season 1" / "chirp.json").exists()
    assert run(str(library), "-r", "-d", str(out), "-q", "--top-k", "2")[0] == 0
    assert {r["status"] for r in manifest(out)[6:]} == {"ok"}
    assert json.loads((out / "tone.json").read_text())["options"]["top_k"] == 2


@pytest.mark.slow
def test_a_file_we_did_not_write_is_not_replaced_without_overwrite(library, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "tone.json").write_text("mine")
    code, _, stderr = run(str(library), "-d", str(out))
    assert code == 1 and "already exists (pass --overwrite" in stderr
    assert (out / "tone.json").read_text() == "mine"
    assert run(str(library), "-d", str(out), "--overwrite", "-q")[0] == 0
    assert json.loads((out / "tone.json").read_text())["source"] == str(library / "tone.wav")


@pytest.mark.slow
def test_batch_outputs_equal_single_file_outputs(library, tmp_path, classifier):
    out = tmp_path / "out"
    assert run(str(library / "season 1" / "chirp.mp3"), str(library), "-d", str(out), "-f", "all", "-q")[0] == 0
    timelines = detect(library / "tone.wav", DetectOptions(model=MODEL), classifier=classifier)
    for name in ("json", "csv", "vtt", "rttm", "jsonl", "html"):
        writer = get_writer(name)
        assert (out / f"tone.{writer.extension}").read_text(encoding="utf-8") == writer.dumps_all(timelines)
    assert (out / "chirp.json").exists()


@pytest.mark.slow
def test_a_folder_without_output_dir_is_not_a_batch_and_stdin_is_not_part_of_one(tmp_path):
    code, stdout, stderr = run(str(MEDIA))
    assert (code, stdout) == (1, "") and "is a directory, not a media file" in stderr
    assert run(str(MEDIA), "-", "-d", str(tmp_path))[0] == 2
    assert run(str(MEDIA), "--engine", "ray")[0] == 2  # a Ray batch needs --output-dir too
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_detect_many_without_output_dir_yields_timelines(library, classifier):
    results = list(detect_many([library], DetectOptions(model=MODEL), recursive=True, classifier=classifier))
    assert [(r.path.name, r.status) for r in results] == [
        ("broken.mp4", "failed"), ("chirp.mp3", "ok"), ("two tracks.MKV", "ok"), ("tone.wav", "ok")
    ]  # fmt: skip
    assert "broken.mp4" in (results[0].error or "") and results[0].timelines == ()
    assert [t.stream for t in results[2].timelines] == [1, 2]
    assert results[3].timelines == tuple(detect(library / "tone.wav", model=MODEL, classifier=classifier))


@pytest.mark.slow
def test_detect_many_resumes_like_the_cli(library, tmp_path, classifier):
    out = tmp_path / "out"
    first = list(detect_many([library / "tone.wav"], model=MODEL, output_dir=out, formats=["vtt"], classifier=classifier))
    assert [(r.status, [p.name for p in r.outputs]) for r in first] == [("ok", ["tone.vtt"])]
    again = list(detect_many([library / "tone.wav"], model=MODEL, output_dir=out, formats=["vtt"]))
    assert [(r.status, r.outputs, r.audio_seconds) for r in again] == [("skipped", (out / "tone.vtt",), 5.0)]
    assert len(Batch([library / "tone.wav"], DetectOptions(model=MODEL), output_dir=out).jobs) == 1


@pytest.mark.slow
def test_a_torn_manifest_line_is_ignored(library, tmp_path, classifier):
    out = tmp_path / "out"
    list(detect_many([library / "tone.wav"], model=MODEL, output_dir=out, classifier=classifier))
    with open(out / MANIFEST_NAME, "a") as handle:
        handle.write('{"file": "half a rec')
    again = list(detect_many([library / "tone.wav"], model=MODEL, output_dir=out))
    assert [r.status for r in again] == ["skipped"]


@pytest.mark.slow
def test_ctrl_c_keeps_finished_files_in_the_manifest_and_leaves_no_partial_output(tmp_path):
    library, out = tmp_path / "library", tmp_path / "out"
    library.mkdir()
    shutil.copy(MEDIA / "tone.wav", library / "a.wav")
    # An hour of silence keeps the tiny model busy long enough for the signal to land mid-file.
    subprocess.run([ffmpeg_path(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3600",
                    "-c:a", "flac", str(library / "b.flac")], check=True)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(langspan.__file__).parent.parent), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "langspan", "detect", str(library), "-d", str(out), "--model", MODEL, "-q"]
    with interruptible_children():
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / MANIFEST_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # well into b.flac
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    assert "run again to resume" in stderr.decode()
    assert [(Path(r["file"]).name, r["status"]) for r in manifest(out)] == [("a.wav", "ok")]
    assert sorted(p.name for p in out.iterdir()) == ["a.json", MANIFEST_NAME]  # nothing of b, not even a .part
