"""Adaptive window density: which windows the model sees, which are inferred, and that timelines do not change."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ScriptedClassifier
from langspan import detect
from langspan.engine.density import AdaptiveDensity, grid_stride
from langspan.errors import UsageError
from langspan.options import DetectOptions

ENG, DEU = np.array([0.9, 0.1]), np.array([0.1, 0.9])
UNSURE = np.array([0.55, 0.45])


def scripted(answers: dict[int, np.ndarray]):
    """A predict callback answering from a table of positions, recording every position asked for."""
    asked: list[int] = []

    def predict(positions: list[int]) -> np.ndarray:
        asked.extend(positions)
        return np.stack([answers[i] for i in positions])

    return predict, asked


def test_the_grid_skips_less_than_min_span():
    assert grid_stride(3.0, 2.0) == 2  # one skipped 2 s window < 3 s
    assert grid_stride(4.0, 2.0) == 2  # two would be exactly 4 s: not shorter
    assert grid_stride(4.5, 2.0) == 3
    assert grid_stride(2.0, 2.0) == 1 and grid_stride(0.0, 2.0) == 1


def test_agreeing_confident_anchors_leave_the_windows_between_them_to_inference():
    predict, asked = scripted(dict.fromkeys(range(7), ENG))
    posteriors, inferred = AdaptiveDensity(stride=2)([True] * 7, predict)
    assert sorted(asked) == [0, 2, 4, 6]
    assert inferred == {1, 3, 5}
    assert all(np.allclose(posteriors[i], ENG) for i in range(7))


def test_a_disagreement_or_low_confidence_sends_the_gap_to_the_model():
    answers = {**dict.fromkeys(range(8), ENG), 8: DEU, 9: DEU, 10: UNSURE, 11: ENG, 12: ENG}
    predict, asked = scripted(answers)
    posteriors, inferred = AdaptiveDensity(stride=2)([True] * 13, predict)
    assert inferred == {1, 3, 5}  # anchors 0, 2, 4, 6 all English and sure
    assert {7, 9, 11} <= set(asked)  # 6|8 disagree, 8|10 disagree, 10 is unsure
    assert np.allclose(posteriors[7], ENG) and np.allclose(posteriors[9], DEU)


def test_two_agreeing_anchors_need_a_third_to_infer():
    # A burst of errors: anchors 2 and 4 both say German, the window between is English, as are 0 and 6.
    answers = {0: ENG, 1: ENG, 2: DEU, 3: ENG, 4: DEU, 5: ENG, 6: ENG}
    predict, asked = scripted(answers)
    posteriors, inferred = AdaptiveDensity(stride=2)([True] * 7, predict)
    assert 3 in asked and not inferred & {1, 3, 5}
    assert np.allclose(posteriors[3], ENG)


def test_speech_after_a_pause_is_always_classified():
    speech = [True, True, True, False, False, True, True, True]
    predict, asked = scripted(dict.fromkeys(range(8), ENG))
    posteriors, inferred = AdaptiveDensity(stride=2)(speech, predict)
    assert {0, 2, 5, 7} <= set(asked)  # run starts and ends
    assert 3 not in posteriors and 4 not in posteriors  # pauses get nothing
    assert inferred <= {1, 6}


def test_stride_one_classifies_every_speech_window_in_one_pass():
    predict, asked = scripted(dict.fromkeys(range(5), ENG))
    posteriors, inferred = AdaptiveDensity(stride=1)([True, False, True, True, True], predict)
    assert asked == [0, 2, 3, 4] and not inferred and set(posteriors) == {0, 2, 3, 4}


def test_a_run_continues_across_blocks_from_the_carried_window():
    density = AdaptiveDensity(stride=2)
    first, _ = scripted(dict.fromkeys(range(4), ENG))
    density([True] * 4, first)
    predict, asked = scripted(dict.fromkeys(range(4), ENG))
    posteriors, inferred = density([True] * 4, predict)
    assert 0 in inferred and 0 not in asked  # between the carried window and anchor 1, both English
    assert set(posteriors) == {0, 1, 2, 3}


def speaking(language_of_second):
    """A scripted model that reads the 'language' from the signal: positive samples are English, else German."""
    labels = ("eng", "deu")
    return ScriptedClassifier(
        labels, lambda s: np.array([0.95, 0.05] if s.mean() > 0 else [0.05, 0.95], dtype=np.float32)
    )


def test_auto_gives_the_dense_timeline_with_fewer_model_windows():
    rate = 16_000
    signal = np.concatenate([np.full(40 * rate, 0.1), np.full(40 * rate, -0.1)]).astype(np.float32)
    timelines = {}
    for density in ("dense", "auto"):
        model = speaking(None)
        (timelines[density],) = detect(signal, sample_rate=rate, classifier=model, vad=False, density=density,
                                       include_windows=True)  # fmt: skip
        timelines[density + "_calls"] = sum(model.calls)
    dense, auto = timelines["dense"], timelines["auto"]
    assert [(s.start, s.end, s.language) for s in auto.spans] == [(s.start, s.end, s.language) for s in dense.spans]
    assert [s.language for s in dense.spans] == ["eng", "deu"]
    assert dense.stats["inferred_windows"] == 0 and dense.stats["classified_windows"] == 40
    assert auto.stats["inferred_windows"] > 10
    assert auto.stats["classified_windows"] + auto.stats["inferred_windows"] == 40
    assert timelines["auto_calls"] < timelines["dense_calls"]
    assert auto.stats["classified_per_minute"] < dense.stats["classified_per_minute"]
    assert any(w.inferred for w in auto.windows) and not any(w.inferred for w in dense.windows)
    assert auto.options["density"] == "auto" and dense.options["density"] == "dense"


def test_density_is_checked():
    with pytest.raises(UsageError, match="--density"):
        DetectOptions(density="sparse")
