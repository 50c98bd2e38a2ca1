import numpy as np
import pytest

from conftest import FIXTURES, TINY_MODEL
from langspan.classifier import HFClassifier
from langspan.errors import ModelError, UsageError


def test_labels_come_from_the_checkpoint_config(tiny_classifier):
    assert tiny_classifier.labels == ("eng", "deu", "fra", "spa", "cmn")


def test_predict_returns_one_distribution_per_window(tiny_classifier):
    rng = np.random.default_rng(0)
    batch = [rng.standard_normal(32_000).astype(np.float32) for _ in range(3)]
    probabilities = tiny_classifier.predict(batch)
    assert probabilities.shape == (3, 5)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(probabilities[0], probabilities[1])  # the input matters


def test_a_short_window_padded_in_a_batch_scores_as_if_alone(tiny_classifier):
    rng = np.random.default_rng(1)
    full = rng.standard_normal(32_000).astype(np.float32)
    short = rng.standard_normal(12_000).astype(np.float32)
    alone = tiny_classifier.predict([short])[0]
    padded = tiny_classifier.predict([full, short])[1]
    assert np.allclose(alone, padded, atol=1e-4)


def test_unknown_hub_model_offline_is_a_model_error_with_instructions():
    with pytest.raises(ModelError, match="huggingface-cli download no-such/model.*--model PATH"):
        HFClassifier("no-such/model")


def test_folder_without_a_checkpoint_is_a_model_error():
    with pytest.raises(ModelError, match="cannot load model folder"):
        HFClassifier(str(FIXTURES / "media"))


def test_bad_device_and_precision_are_usage_errors():
    with pytest.raises(UsageError, match="--device"):
        HFClassifier(str(TINY_MODEL), device="tpu")
    with pytest.raises(UsageError, match="--precision"):
        HFClassifier(str(TINY_MODEL), precision="int3")
