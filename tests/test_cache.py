"""The converted-model cache: same outputs as a fresh conversion, atomic entries, corrupt entries rebuilt, opt-out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, MEDIA, TINY_MODEL
from langspan.cli import app
from langspan.engine.batch import fingerprint
from langspan.models import cache, wav2vec2
from langspan.models.cache import CacheWarning
from langspan.models.wav2vec2 import HFClassifier
from langspan.options import DetectOptions
from langspan.timeline import options_to_dict

STANDIN_MODEL = FIXTURES / "standin-lid"
SRC = Path(__file__).resolve().parent.parent / "src"
AUDIO = [
    np.random.default_rng(0).standard_normal(32_000).astype(np.float32),
    np.random.default_rng(1).standard_normal(21_000).astype(np.float32),  # a short one: padding and its mask
]


@pytest.fixture
def cache_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LANGSPAN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def no_conversion(monkeypatch):
    """Fails the test if the checkpoint is loaded from its files: the model must come from the cache."""

    def refuse(model, revision):
        raise AssertionError("the checkpoint was converted again instead of read from the cache")

    monkeypatch.setattr(wav2vec2, "_pretrained", refuse)


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors")) if folder.exists() else []


@pytest.mark.parametrize("precision", ["int8", "bf16"])
@pytest.mark.slow
def test_a_cached_model_gives_bit_identical_outputs(cache_folder, monkeypatch, precision):
    fresh = HFClassifier(str(STANDIN_MODEL), device="cpu", precision=precision, cache=False).predict(AUDIO)
    assert _entries(cache_folder) == []  # cache=False writes nothing
    first = HFClassifier(str(STANDIN_MODEL), device="cpu", precision=precision).predict(AUDIO)  # converts, stores
    (entry,) = _entries(cache_folder)
    assert precision in entry.name
    monkeypatch.setattr(wav2vec2, "_pretrained", None)  # a warm load must not touch the checkpoint's weights
    warm = HFClassifier(str(STANDIN_MODEL), device="cpu", precision=precision)
    assert np.array_equal(warm.predict(AUDIO), fresh)
    assert np.array_equal(first, fresh)
    assert warm.precision == precision


@pytest.mark.slow
def test_the_cached_int8_model_has_int8_layers(cache_folder):
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    HFClassifier(str(TINY_MODEL), device="cpu", precision="int8")
    warm = HFClassifier(str(TINY_MODEL), device="cpu", precision="int8")
    layers = [module for module in warm.model.modules() if isinstance(module, DynamicLinear)]
    assert layers and all(layer.weight().dtype == torch.qint8 for layer in layers)
    assert not any(type(module).__name__ == "Linear" and not isinstance(module, DynamicLinear)
                   for module in warm.model.modules())  # fmt: skip


def test_fp32_is_not_cached(cache_folder):
    HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32")
    assert _entries(cache_folder) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped byte", "empty"])
@pytest.mark.slow
def test_a_damaged_entry_is_detected_and_rebuilt(cache_folder, damage):
    fresh = HFClassifier(str(STANDIN_MODEL), device="cpu", precision="int8").predict(AUDIO)
    (entry,) = _entries(cache_folder)
    data = bytearray(entry.read_bytes())
    if damage == "truncated":
        data = data[: len(data) * 2 // 3]
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    elif damage == "flipped byte":  # inside the tensors, past the header: only the checksums can tell
        data[len(data) - 1000] ^= 0x40
    else:
        data = bytearray()
    entry.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="unusable cached model"):
        rebuilt = HFClassifier(str(STANDIN_MODEL), device="cpu", precision="int8")
    assert np.array_equal(rebuilt.predict(AUDIO), fresh)
    assert entry.read_bytes() != bytes(data)  # written again, whole
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and good from now on
        HFClassifier(str(STANDIN_MODEL), device="cpu", precision="int8")


def test_an_entry_of_another_model_is_not_used(cache_folder):
    HFClassifier(str(TINY_MODEL), device="cpu", precision="int8")
    HFClassifier(str(STANDIN_MODEL), device="cpu", precision="int8")
    tiny, standin = (cache.entry_for(str(m), None, "int8") for m in (TINY_MODEL, STANDIN_MODEL))
    assert tiny.path != standin.path
    # A key that names another model is refused even under this model's file name (a hash collision, a copy).
    shutil.copy(tiny.path, standin.path)
    with pytest.warns(CacheWarning, match="key does not match"):
        HFClassifier(str(STANDIN_MODEL), device="cpu", precision="int8")


def test_the_key_follows_the_model_files_and_the_versions(tmp_path, cache_folder, monkeypatch):
    folder = tmp_path / "model"
    shutil.copytree(TINY_MODEL, folder)
    before = cache.entry_for(str(folder), None, "int8")
    assert cache.entry_for(str(folder), None, "int8") == before  # stable
    assert cache.entry_for(str(folder), None, "bf16").path != before.path
    weights = folder / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1))  # replaced checkpoint
    assert cache.entry_for(str(folder), None, "int8").path != before.path
    import torch

    monkeypatch.setattr(torch, "__version__", "0.0.0")
    assert cache.entry_for(str(folder), None, "int8").key != before.key
    # A hub model is known by its snapshot's commit; without one it is not cached at all.
    assert (
        cache.entry_for("someone/model", "a" * 40, "int8").path
        != cache.entry_for("someone/model", "b" * 40, "int8").path
    )
    assert cache.entry_for("someone/model", None, "int8") is None


def test_no_cache_neither_reads_nor_writes(cache_folder):
    HFClassifier(str(TINY_MODEL), device="cpu", precision="int8")
    (entry,) = _entries(cache_folder)
    entry.write_bytes(b"not an entry")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a read would warn about the broken entry
        HFClassifier(str(TINY_MODEL), device="cpu", precision="int8", cache=False)
    assert entry.read_bytes() == b"not an entry"


def test_an_unwritable_cache_costs_only_a_warning(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("LANGSPAN_CACHE_DIR", str(blocked / "models"))
    with pytest.warns(CacheWarning, match="cannot write"):
        classifier = HFClassifier(str(TINY_MODEL), device="cpu", precision="int8")
    assert classifier.predict(AUDIO).shape == (2, len(classifier.labels))


# Converts the standin to int8 with the cache on and prints its outputs: run by several processes at once.
CONVERT = """
import json, sys
import numpy as np
from langspan.models.wav2vec2 import HFClassifier
audio = [np.random.default_rng(0).standard_normal(32_000).astype(np.float32)]
print(json.dumps(HFClassifier(sys.argv[1], device="cpu", precision="int8").predict(audio).tolist()))
"""


@pytest.mark.slow
def test_processes_converting_at_once_leave_one_whole_entry(cache_folder, no_conversion):
    env = {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "LANGSPAN_CACHE_DIR": str(cache_folder)}
    command = [sys.executable, "-c", CONVERT, str(STANDIN_MODEL)]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [process.communicate()[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert len({output for output in outputs}) == 1
    assert _entries(cache_folder) and len(_entries(cache_folder)) == 1
    assert not [p for p in cache_folder.iterdir() if p.suffix == ".part"]  # no temporary file left behind
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warm = HFClassifier(str(STANDIN_MODEL), device="cpu", precision="int8")  # read, not converted
    assert np.array_equal(warm.predict(AUDIO[:1]), json.loads(outputs[0]))


def test_cache_changes_neither_the_fingerprint_nor_the_echoed_options():
    assert fingerprint(DetectOptions(cache=False), ["json"]) == fingerprint(DetectOptions(), ["json"])
    assert "cache" not in options_to_dict(DetectOptions(cache=False))
    assert DetectOptions(cache=False).load_options().cache is False


@pytest.mark.parametrize("command", ["detect", "scan"])
@pytest.mark.slow
def test_no_cache_on_the_command_line(cache_folder, command):
    arguments = [command, str(MEDIA / "chirp.mp3"), "--model", str(TINY_MODEL), "--precision", "int8", "-q"]
    result = CliRunner().invoke(app, [*arguments, "--no-cache"])
    assert result.exit_code == 0, result.stderr
    assert _entries(cache_folder) == []
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.stderr
    assert len(_entries(cache_folder)) == 1


@pytest.mark.slow
def test_tag_passes_no_cache_on(cache_folder, tmp_path, monkeypatch, tiny_classifier):
    from langspan.cli import tag

    seen = []
    monkeypatch.setattr(tag, "load_classifier", lambda options: seen.append(options) or tiny_classifier)
    source = tmp_path / "two_tracks.mkv"
    shutil.copy(MEDIA / "two_tracks.mkv", source)
    for flag, expected in (("--no-cache", False), ("--cache", True)):
        result = CliRunner().invoke(app, ["tag", str(source), "--dry-run", "--model", str(TINY_MODEL), flag, "-q"])
        assert result.exit_code == 0, result.stderr
        assert seen[-1].cache is expected


@pytest.mark.slow
def test_a_hub_model_is_cached_by_its_snapshot_commit(tmp_path, cache_folder):
    from model_builders import as_hub_cache

    hub = tmp_path / "hub"
    repo = as_hub_cache(STANDIN_MODEL, hub)
    env = {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub),
           "LANGSPAN_CACHE_DIR": str(cache_folder)}  # fmt: skip
    first = subprocess.run([sys.executable, "-c", CONVERT, repo], env=env, capture_output=True, text=True, check=True)
    (entry,) = _entries(cache_folder)
    written = entry.stat().st_mtime_ns
    again = subprocess.run([sys.executable, "-c", CONVERT, repo], env=env, capture_output=True, text=True, check=True)
    assert entry.stat().st_mtime_ns == written  # read, not written again
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert entry.name.startswith("lid-model-int8-")
