"""int8 quantization layer by layer: same model as quantize_dynamic, and the checkpoint's pages handed back."""

import numpy as np
import pytest
import torch
from safetensors import safe_open

from conftest import FIXTURES
from langspan.models.quantize import file_mappings, quantize_int8, release_pages

STANDIN_MODEL = FIXTURES / "standin-lid"


def _load(folder):
    from transformers import AutoModelForAudioClassification

    return AutoModelForAudioClassification.from_pretrained(str(folder)).eval()


@pytest.mark.slow
def test_layer_by_layer_gives_the_same_model_as_quantize_dynamic():
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    ours = quantize_int8(_load(STANDIN_MODEL))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = quantize_dynamic(
            _load(STANDIN_MODEL), {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
        )
    assert not any(type(module) is torch.nn.Linear for module in ours.modules())
    audio = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 32_000)).astype(np.float32))
    with torch.inference_mode():
        assert torch.equal(ours(audio).logits, reference(audio).logits)
        assert not torch.allclose(ours(audio).logits, _load(STANDIN_MODEL)(audio).logits)  # it is really int8


def test_pages_of_a_mapped_checkpoint_are_released_and_read_back_intact():
    path = str(STANDIN_MODEL / "model.safetensors")
    with safe_open(path, framework="pt") as checkpoint:
        # The largest tensor spans whole pages.
        name = max(checkpoint.keys(), key=lambda key: int(np.prod(checkpoint.get_slice(key).get_shape())))
        mapped = checkpoint.get_tensor(name)
        copy = mapped.clone()
        mappings = file_mappings()
        if not mappings or not any(low <= mapped.data_ptr() < high for low, high in mappings):
            pytest.fail("safetensors did not memory-map the checkpoint: the release cannot be tested")
        assert release_pages(mapped, mappings)
        assert torch.equal(mapped, copy)  # a dropped page of a file mapping is read back from the file


def test_ordinary_memory_is_never_released():
    tensor = torch.arange(1 << 20, dtype=torch.float32)  # 4 MB of heap: MADV_DONTNEED would zero it
    assert not release_pages(tensor, file_mappings())
    assert torch.equal(tensor, torch.arange(1 << 20, dtype=torch.float32))


def test_conversion_tensor_by_tensor_gives_the_same_model_as_module_to():
    from langspan.models.quantize import convert

    ours = _load(STANDIN_MODEL)
    convert(ours, "cpu", torch.bfloat16)
    reference = _load(STANDIN_MODEL).to(dtype=torch.bfloat16)
    assert {p.dtype for p in ours.parameters()} == {torch.bfloat16}
    audio = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 32_000)).astype(np.float32))
    with torch.inference_mode():
        assert torch.equal(ours(audio.bfloat16()).logits, reference(audio.bfloat16()).logits)
