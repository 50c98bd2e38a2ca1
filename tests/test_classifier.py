import numpy as np
import pytest

from conftest import FIXTURES, TINY_MODEL
from langspan.errors import ModelError, UsageError
from langspan.models.wav2vec2 import HFClassifier

STANDIN_MODEL = FIXTURES / "standin-lid"


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


def test_int8_quantizes_the_linear_layers():
    classifier = HFClassifier(str(TINY_MODEL), device="cpu", precision="int8")
    assert classifier.precision == "int8"
    layer = classifier.model.wav2vec2.encoder.layers[0].feed_forward.intermediate_dense
    assert "quantized" in type(layer).__module__


def _front_end_dtype(classifier):
    return classifier.model.wav2vec2.feature_extractor.conv_layers[0].conv.weight.dtype


@pytest.mark.parametrize("native", [True, False])
def test_int8_runs_the_conv_front_end_in_bf16_only_where_the_cpu_has_bf16(native, monkeypatch):
    import torch

    from langspan.models import quantize

    monkeypatch.setattr(quantize, "native_bf16", lambda: native)
    classifier = HFClassifier(str(TINY_MODEL), device="cpu", precision="int8", cache=False)
    assert _front_end_dtype(classifier) == (torch.bfloat16 if native else torch.float32)
    rng = np.random.default_rng(2)
    probabilities = classifier.predict([rng.standard_normal(32_000).astype(np.float32) for _ in range(2)])
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_the_bf16_front_end_stays_close_to_fp32_and_fp32_stays_fp32(monkeypatch):
    import torch

    from langspan.models import quantize

    monkeypatch.setattr(quantize, "native_bf16", lambda: True)
    rng = np.random.default_rng(3)
    batch = [rng.standard_normal(32_000).astype(np.float32) for _ in range(4)]
    with_bf16 = HFClassifier(str(TINY_MODEL), device="cpu", precision="int8", cache=False)
    monkeypatch.setattr(quantize, "native_bf16", lambda: False)
    without = HFClassifier(str(TINY_MODEL), device="cpu", precision="int8", cache=False)
    exact = HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32")
    assert _front_end_dtype(exact) == torch.float32
    fast, slow = with_bf16.predict(batch), without.predict(batch)
    assert not np.array_equal(fast, slow)  # the front end really ran in bf16
    assert np.abs(fast - slow).max() < 0.05


def test_auto_is_int8_on_cpu_only_for_large_models():
    from langspan.models.base import INT8_MIN_LINEAR_PARAMETERS, resolve_precision

    assert HFClassifier(str(TINY_MODEL), device="cpu", precision="auto").precision == "fp32"
    assert resolve_precision("auto", "cpu", 900_000_000) == "int8"  # mms-lid-256's Linear layers
    assert resolve_precision("auto", "cpu", INT8_MIN_LINEAR_PARAMETERS - 1) == "fp32"


def test_fp32_stays_available_and_unquantized():
    import torch

    classifier = HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32")
    layer = classifier.model.wav2vec2.encoder.layers[0].feed_forward.intermediate_dense
    assert classifier.precision == "fp32" and isinstance(layer, torch.nn.Linear)
    assert layer.weight.dtype == torch.float32


def test_int8_off_the_cpu_is_a_usage_error():
    from langspan.models.base import resolve_precision

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


@pytest.mark.cuda
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["auto", "fp16", "bf16"])
def test_cuda_half_precisions_agree_with_fp32(precision):
    rng = np.random.default_rng(3)
    batch = [rng.standard_normal(32_000).astype(np.float32) for _ in range(16)]
    reference = HFClassifier(str(TINY_MODEL), device="cpu", precision="fp32").predict(batch)
    gpu = HFClassifier(str(TINY_MODEL), device="cuda", precision=precision)
    assert gpu.precision in ("fp16", "bf16")
    assert np.allclose(gpu.predict(batch), reference, atol=2e-2)


@pytest.fixture(scope="module")
def demo_windows():
    """Every 2 s window of the demo media (speech in four languages, music, silence), each audio stream."""
    from langspan.frontend import media
    from langspan.frontend.windows import WindowSpec, iter_windows

    spec = WindowSpec(window=2.0)
    windows = []
    for path in sorted(p for p in (FIXTURES / "demo").iterdir() if p.suffix in (".mp3", ".mp4", ".mkv")):
        for stream in media.probe(path).audio_streams:
            windows += [w.samples for w in iter_windows(media.decode(path, stream.index), spec)]
    return windows


@pytest.fixture(scope="module")
def standin_fp32(demo_windows):
    reference = HFClassifier(str(STANDIN_MODEL), device="cpu", precision="fp32")
    return np.concatenate([reference.predict(demo_windows[i : i + 8]) for i in range(0, len(demo_windows), 8)])


@pytest.mark.parametrize("precision", ["int8", "bf16"])
@pytest.mark.slow
def test_fast_precisions_agree_with_fp32_on_99_percent_of_the_stand_in_windows(precision, demo_windows, standin_fp32):
    # The accuracy guard behind `--precision auto`: the trained stand-in on the demo media, window by window.
    fast = HFClassifier(str(STANDIN_MODEL), device="cpu", precision=precision)
    assert fast.precision == precision
    answers = np.concatenate([fast.predict(demo_windows[i : i + 8]) for i in range(0, len(demo_windows), 8)])
    agreement = float(np.mean(answers.argmax(axis=1) == standin_fp32.argmax(axis=1)))
    assert len(demo_windows) >= 100 and agreement >= 0.99
    assert not np.array_equal(answers, standin_fp32)  # it really ran in another precision
