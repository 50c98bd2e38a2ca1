"""The model-family seam: ModelInfo read once from the configuration, the registry, per-family defaults."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FIXTURES, TINY_MODEL, ScriptedClassifier, one_hot
from langspan import detect
from langspan.errors import ModelError, UsageError
from langspan.models.base import LoadOptions, ModelInfo, info_of
from langspan.models.registry import family_for, read_info
from langspan.options import DetectOptions


def test_model_info_comes_from_the_configuration_alone():
    info = read_info(str(TINY_MODEL))
    assert info.family == "wav2vec2"
    assert info.labels == ("eng", "deu", "fra", "spa", "cmn") == info.raw_labels
    assert info.window == 2.0 and info.sample_rate == 16_000
    assert family_for(str(FIXTURES / "standin-lid")).name == "wav2vec2"


def test_a_folder_that_is_no_model_is_a_one_line_model_error():
    with pytest.raises(ModelError) as caught:
        read_info(str(FIXTURES / "media"))
    assert "\n" not in str(caught.value) and "cannot load model folder" in str(caught.value)


def test_load_options_are_checked_before_anything_loads():
    with pytest.raises(UsageError, match="--device"):
        LoadOptions(device="tpu")
    with pytest.raises(UsageError, match="int8 runs on the CPU only"):
        LoadOptions(device="cuda", precision="int8")
    with pytest.raises(UsageError, match="--device"):
        DetectOptions(device="tpu")  # the analysis options carry the loading options and check them too


WHISPERISH = ModelInfo("test", "m", None, ("eng", "deu"), window=6.0, hop=3.0, switch_penalty=5.0, min_span=4.0)


def test_unset_settings_take_the_family_defaults_and_set_ones_win():
    resolved = DetectOptions().resolved(WHISPERISH)
    assert (resolved.window, resolved.hop, resolved.switch_penalty, resolved.min_span) == (6.0, 3.0, 5.0, 4.0)
    assert resolved.min_confidence == 0.4  # the family leaves it to langspan's default
    mine = DetectOptions(window=2.5, min_span=1.0).resolved(WHISPERISH)
    assert (mine.window, mine.hop, mine.min_span) == (2.5, None, 1.0)  # my window tiles: the family's hop is not mine
    assert DetectOptions(hop=1.0).resolved(WHISPERISH).hop == 1.0


def test_settings_that_do_not_fit_the_family_window_are_usage_errors():
    with pytest.raises(UsageError, match="--hop"):
        DetectOptions(hop=7.0).resolved(WHISPERISH)


class SixSecondModel(ScriptedClassifier):
    """A classifier of a family whose preferred window is 6 s."""

    def __init__(self):
        super().__init__(("eng", "deu"), self.answer_and_measure)
        self.info = ModelInfo("test", self.name, None, self.labels, window=6.0)
        self.lengths: list[int] = []

    def answer_and_measure(self, samples: np.ndarray) -> np.ndarray:
        self.lengths.append(len(samples))
        return one_hot(("eng", "deu"), "eng")


def test_detect_uses_the_family_window_and_echoes_it():
    model = SixSecondModel()
    (timeline,) = detect(np.zeros(30 * 16_000, dtype=np.float32), sample_rate=16_000, classifier=model, vad=False)
    assert timeline.stats["windows"] == 5 and timeline.options["window"] == 6.0
    assert set(model.lengths) == {6 * 16_000}
    (own,) = detect(np.zeros(30 * 16_000, dtype=np.float32), sample_rate=16_000, classifier=model, vad=False, window=3.0)
    assert own.stats["windows"] == 10 and own.options["window"] == 3.0


def test_a_classifier_without_info_gets_langspan_defaults():
    plain = ScriptedClassifier(("eng",), lambda s: np.ones(1, dtype=np.float32))
    assert info_of(plain).window == 2.0 and info_of(plain).labels == ("eng",)


@pytest.mark.slow
def test_a_hub_model_reports_the_snapshot_commit_it_was_loaded_from(tmp_path):
    """transformers 5 no longer sets config._commit_hash: the revision echoed in outputs comes from the hub cache."""
    import hashlib
    import os
    import subprocess
    import sys

    from model_builders import as_hub_cache

    hub = tmp_path / "hub"
    repo = as_hub_cache(FIXTURES / "standin-lid", hub)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub)}
    code = "import sys; from langspan.models.registry import read_info; print(read_info(sys.argv[1]).revision)"
    result = subprocess.run([sys.executable, "-c", code, repo], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == hashlib.sha1(repo.encode()).hexdigest()


def test_refine_probes_follow_the_family_unless_the_user_sets_them():
    from langspan import DetectOptions
    from langspan.models.base import ModelInfo

    whisper_like = ModelInfo("whisper", "m", None, ("eng", "deu"), window=6.0, refine_probes=2)
    assert DetectOptions().resolved(whisper_like).refine_probes == 2
    assert DetectOptions(refine_probes=3).resolved(whisper_like).refine_probes == 3
    assert DetectOptions(refine_probes=0).resolved(whisper_like).refine_probes == 0  # 0 (off) is not "unset"
    assert DetectOptions().resolved(ModelInfo("wav2vec2", "m", None, ("eng", "deu"))).refine_probes == 3
