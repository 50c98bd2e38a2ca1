"""The Ray Data engine on a local Ray instance: byte-for-byte the local engine's outputs, same resume rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, MEDIA, TINY_MODEL
from langspan.cli import app
from langspan.engine.batch import MANIFEST_NAME, Batch
from langspan.errors import UsageError
from langspan.options import DetectOptions
from langspan.writers import WRITERS

ray = pytest.importorskip("ray", reason="the Ray engine needs the extra: pip install -e '.[ray]' (make setup does)")
# Ray 2.60's DataContext warns about deprecated fields of its own each time one is created (not our settings).
pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings(r"ignore::DeprecationWarning:ray\.data\.context")]

MODEL = str(TINY_MODEL)
# Short windows in ragged batches: several spans per file, and a last batch smaller than the others. Boundary
# refinement stays on (the default): the Ray engine must place changes exactly as the local one does.
OPTIONS = ["--model", MODEL, "--window", "0.5", "--batch-size", "3", "-f", "all"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    (root / "sub").mkdir(parents=True)
    shutil.copy(MEDIA / "chirp.mp3", root / "chirp.mp3")
    shutil.copy(FIXTURES / "demo" / "single.mp4", root / "single.mp4")  # speech: the speech detector has work
    shutil.copy(MEDIA / "stereo48k.flac", root / "sub" / "stereo48k.flac")
    shutil.copy(MEDIA / "two_tracks.mkv", root / "sub" / "two_tracks.mkv")
    shutil.copy(MEDIA / "corrupt.mp4", root / "sub" / "corrupt.mp4")
    return root


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST_NAME}


def statuses(folder: Path) -> list[tuple[str, str]]:
    records = [json.loads(line) for line in (folder / MANIFEST_NAME).read_text().splitlines()]
    return sorted((Path(r["file"]).name, r["status"]) for r in records if r["status"] != "writing")


def test_ray_engine_writes_what_the_local_engine_writes(local_ray, library, tmp_path):
    local, distributed = tmp_path / "local", tmp_path / "ray"
    result = CliRunner().invoke(app, ["detect", str(library), "-r", "-d", str(local), *OPTIONS, "-q"])
    assert result.exit_code == 1, result.output  # corrupt.mp4
    result = CliRunner().invoke(app, ["detect", str(library), "-r", "-d", str(distributed), "--engine", "ray", *OPTIONS])
    assert result.exit_code == 1, result.output
    assert "corrupt.mp4" in result.stderr and "5 files: 4 done, 0 up to date, 1 failed" in result.stderr

    expected = files(local)
    # chirp, single, two_tracks (html combines the streams), stereo48k
    formats = len(WRITERS)
    assert len(expected) == formats + formats + (formats - 1) * 2 + 1 + formats
    assert files(distributed) == expected
    assert statuses(distributed) == statuses(local) == [
        ("chirp.mp3", "ok"), ("corrupt.mp4", "failed"), ("single.mp4", "ok"), ("stereo48k.flac", "ok"),
        ("two_tracks.mkv", "ok"),
    ]  # fmt: skip
    spans = [json.loads(line) for line in expected["single.jsonl"].decode().splitlines()]
    assert len(spans) >= 2 and spans[0]["language"] == "nonspeech"  # enough structure for the comparison to mean something

    # Same resume rules: a second Ray run finds everything up to date (the failed file is tried again).
    (library / "sub" / "corrupt.mp4").unlink()
    batch = Batch([library], _options(), output_dir=distributed, formats=["all"], recursive=True)
    again = list(batch.run("ray"))
    assert sorted(r.status for r in again) == ["skipped"] * 4
    assert files(distributed) == expected


def test_ray_engine_results_carry_timelines_without_output_dir(local_ray, library):
    (library / "sub" / "corrupt.mp4").unlink()
    results = {r.path.name: r for r in Batch([library / "sub"], _options()).run("ray")}
    local = {r.path.name: r for r in Batch([library / "sub"], _options()).run("local")}
    assert set(results) == {"stereo48k.flac", "two_tracks.mkv"}
    for name, result in results.items():
        assert result.status == "ok" and result.outputs == ()
        assert result.timelines == local[name].timelines
        assert result.audio_seconds == pytest.approx(local[name].audio_seconds)


def test_ray_engine_refines_boundaries_as_the_local_engine_does(local_ray, tmp_path):
    """With default options, on speech that changes language: the same outputs, boundary probes included."""
    podcast = FIXTURES / "demo" / "podcast.mp3"
    local, distributed = tmp_path / "local", tmp_path / "ray"
    standin = ["--model", str(FIXTURES / "standin-lid"), "-f", "json", "-f", "srt"]
    for engine, out in (("local", local), ("ray", distributed)):
        result = CliRunner().invoke(app, ["detect", str(podcast), "-d", str(out), "--engine", engine, *standin, "-q"])
        assert result.exit_code == 0, result.output
    assert files(distributed) == files(local)
    document = json.loads((distributed / "podcast.json").read_text())
    assert document["options"]["refine_probes"] == 3
    assert document["stats"]["refinement_windows"] > 0 and document["stats"]["boundaries_refined"] >= 4


def test_a_local_run_after_a_ray_run_redoes_nothing_wrongly(local_ray, library, tmp_path):
    """Regression: the Ray engine once forced refine_probes=0 while the manifest recorded the options asked for, so a
    later local run skipped outputs made without refinement. The manifest now records what was done."""
    (library / "sub" / "corrupt.mp4").unlink()
    out = tmp_path / "out"
    ray_results = list(Batch([library / "sub"], _options(), output_dir=out).run("ray"))
    assert [r.status for r in ray_results] == ["ok", "ok"]
    made_by_ray = files(out)
    records = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    records = [record for record in records if record["status"] == "ok"]
    local_batch = Batch([library / "sub"], _options(), output_dir=out)
    local_results = list(local_batch.run("local"))
    # The engine is part of what was done: the local run does the files itself, and writes the same bytes.
    assert [r.status for r in local_results] == ["ok", "ok"]
    assert records[0]["fingerprint"] != local_batch.fingerprint
    assert files(out) == made_by_ray


def test_bad_device_fails_before_ray_starts(library, tmp_path):
    result = CliRunner().invoke(app, ["detect", str(library), "-d", str(tmp_path / "o"), "--engine", "ray",
                                      "--model", MODEL, "--device", "tpu"])  # fmt: skip
    assert result.exit_code == 2 and "--device must be one of" in result.stderr
    assert not (tmp_path / "o").exists()


def test_ray_options_are_checked():
    from langspan.engine.ray import RayOptions

    with pytest.raises(UsageError, match="--ray-actors"):
        RayOptions(actors=0)
    with pytest.raises(UsageError, match="--ray-gpus"):
        RayOptions(gpus_per_actor=-1)
    result = CliRunner().invoke(app, ["detect", str(MEDIA), "-d", "x", "--ray-address", "auto", "--model", MODEL])
    assert result.exit_code == 2 and "--ray-address needs --engine ray" in result.stderr


def _options() -> DetectOptions:
    return DetectOptions(model=MODEL, window=0.5, batch_size=3)
