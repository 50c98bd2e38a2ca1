import numpy as np
import pytest

from conftest import FIXTURES, MEDIA, TINY_MODEL
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


def test_auto_precision_is_int8_on_cpu_with_quantized_linear_layers():
    classifier = HFClassifier(str(TINY_MODEL), device="cpu", precision="auto")
    assert classifier.precision == "int8"
    layer = classifier.model.wav2vec2.encoder.layers[0].feed_forward.intermediate_dense
    assert "quantized" in type(layer).__module__


def test_fp32_stays_available_and_unquantized():
    import torch

    classifier = HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32")
    layer = classifier.model.wav2vec2.encoder.layers[0].feed_forward.intermediate_dense
    assert classifier.precision == "fp32" and isinstance(layer, torch.nn.Linear)
    assert layer.weight.dtype == torch.float32


def test_int8_off_the_cpu_is_a_usage_error():
    from langspan.classifier import resolve_precision

    with pytest.raises(UsageError, match="int8 runs on the CPU only"):
        resolve_precision("int8", "cuda")
    assert resolve_precision("auto", "cuda") == "fp16"
    assert resolve_precision("auto", "mps") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"


def test_threads_option_sets_torch_threads_only_when_asked():
    import torch

    before = torch.get_num_threads()
    HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32")
    assert torch.get_num_threads() == before
    try:
        HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(UsageError, match="--threads"):
        HFClassifier(str(TINY_MODEL), threads=0)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["auto", "fp16", "bf16"])
def test_cuda_half_precisions_agree_with_fp32(precision):
    rng = np.random.default_rng(3)
    batch = [rng.standard_normal(32_000).astype(np.float32) for _ in range(16)]
    reference = HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32").predict(batch)
    gpu = HFClassifier(str(TINY_MODEL), device="cuda", precision=precision)
    assert gpu.precision in ("fp16", "bf16")
    assert np.allclose(gpu.predict(batch), reference, atol=2e-2)


def _windows_of(paths, hop=1.0):
    from langspan import media
    from langspan.windows import WindowSpec, iter_windows

    spec = WindowSpec(window=2.0, hop=hop)
    return [w.samples for path in paths for w in iter_windows(media.decode(path), spec)]


def _agreement(model, windows, precision):
    reference = HFClassifier(str(model), device="cpu", precision="fp32")
    fast = HFClassifier(str(model), device="cpu", precision=precision)
    same = [
        int(np.argmax(a)) == int(np.argmax(b))
        for start in range(0, len(windows), 8)
        for a, b in zip(reference.predict(windows[start : start + 8]), fast.predict(windows[start : start + 8]))
    ]
    return sum(same) / len(same), len(same)


def test_int8_agrees_with_fp32_on_at_least_99_percent_of_windows():
    windows = _windows_of([MEDIA / name for name in ("tone.wav", "chirp.mp3", "stereo48k.flac")])
    agreement, count = _agreement(TINY_MODEL, windows, "int8")
    assert count >= 8 and agreement >= 0.99
