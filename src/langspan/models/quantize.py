"""int8 quantization and fp16/bf16 conversion of a loaded checkpoint, one tensor at a time, in bounded memory.

Weights become int8 per output channel; activations are quantized per call from their observed range, so no
calibration data is needed. Attention products stay fp32. The convolutional front end runs in bf16 where the CPU
computes bf16 natively (``bf16_front_end``): it was ~18% of an int8 forward pass in fp32 and takes half that in
bf16, while int8 through unfold + quantized Linear was slower than bf16 and 2.4% off (docs/benchmarks.md). Uses PyTorch's eager
x86 (fbgemm) kernels via ``torch.ao.nn.quantized.dynamic.Linear`` — what ``quantize_dynamic`` swaps in. The
maintained successor, torchao's ``Int8DynamicActivationInt8WeightConfig``, was measured too: in eager mode on CPU
it is *slower than fp32* (it only gets fast under ``torch.compile``, which costs minutes per input shape), see
docs/benchmarks.md. The deprecation warnings of the older API are silenced only around these calls.

Memory is the reason for doing it layer by layer. transformers memory-maps the safetensors checkpoint; reading a
weight to quantize it makes its pages resident, and ``quantize_dynamic`` over the whole model made all 3.7 GB of
mms-lid-256's fp32 checkpoint resident at once, next to the new 1 GB of int8 weights (a 5.2–5.6 GB process peak
for a model that then runs in 2 GB). Here each fp32 weight's pages are handed back to the kernel
(``madvise(MADV_DONTNEED)``) as soon as its int8 copy exists, so the peak stays near the int8 model's size.

The checkpoint's mappings are found by the tensors they hold, not by the file's name: the Hugging Face cache maps
``blobs/<hash>`` (the snapshot's ``model.safetensors`` is a symlink to it), so a search for ``*.safetensors``
found nothing for a hub model — the default ``facebook/mms-lid-256`` included — and its load peaked at the whole
checkpoint plus the int8 model (5.3 GB instead of 1.6 GB, docs/benchmarks.md).
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import mmap
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .cpu_memory import libc

MADV_DONTNEED = 4  # Linux: drop the pages from this process; a file-backed page is re-read if touched again
MAPS = Path("/proc/self/maps")


def quantize_int8(model):
    """Replace every ``nn.Linear`` of ``model`` by a dynamic int8 Linear, in place; returns ``model``."""
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig

    checkpoint_mappings = mappings_holding(_tensors_of(model))
    _copy_off_the_checkpoint_file(model, checkpoint_mappings)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        for parent, name, linear in list(_linear_layers(model)):
            linear.qconfig = per_channel_dynamic_qconfig
            setattr(parent, name, DynamicLinear.from_float(linear))
            release_pages(linear.weight, checkpoint_mappings)
    return model


def bf16_front_end(model) -> bool:
    """Run a wav2vec2-style network's convolutional feature encoder in bf16 (weights and activations; its output
    goes back to fp32 for the rest of the network), in place, when this CPU computes bf16 natively (AVX-512 BF16 or
    AMX: oneDNN's check). Returns whether it did. Without native bf16 the emulated kernels are slower than fp32.

    Hooks instead of a wrapper module keep the parameter names, so the converted-model cache is unaffected."""
    import torch

    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    encoder = getattr(base, "feature_extractor", None)
    if encoder is None or not native_bf16():
        return False
    encoder.to(torch.bfloat16)
    encoder.register_forward_pre_hook(lambda module, args: (args[0].to(torch.bfloat16), *args[1:]))
    encoder.register_forward_hook(lambda module, args, output: output.float())
    return True


def native_bf16() -> bool:
    import torch

    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def convert(model, device: str, dtype) -> None:
    """``model.to(device, dtype)`` one tensor at a time, handing each fp32 source's checkpoint pages back.

    ``Module.to`` converts every tensor before letting go of any, so fp16/bf16 (or any copy to a GPU) made the
    whole fp32 checkpoint resident on top of the converted model: a 5.9 GB peak for mms-lid-256 in bf16. Tensors
    already on ``device`` in ``dtype`` stay as they are (fp32 on the CPU: nothing is copied).
    """

    def converted(module, name: str, tensor):
        return tensor.to(device, dtype=dtype if tensor.is_floating_point() else None)

    _replace_tensors(model, converted, mappings_holding(_tensors_of(model)))


def _tensors_of(model) -> Iterator:
    return itertools.chain(model.parameters(), model.buffers())


def _linear_layers(model) -> Iterator[tuple[Any, str, Any]]:  # torch modules (torch is imported lazily)
    import torch

    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is torch.nn.Linear:
                yield parent, name, child


def _copy_off_the_checkpoint_file(model, mappings: list[tuple[int, int]]) -> None:
    """Give every tensor that survives quantization (all but the Linear weights) memory of its own.

    Any tensor loaded from the memory-mapped checkpoint keeps the *whole* mapping alive: the fp32 tensors left
    after quantization (convolutions, norms, the Linear biases that the int8 layers keep: ~70 MB for
    mms-lid-256) would pin all 3.7 GB of the fp32 checkpoint. Copying them first lets the mapping go once the fp32
    Linear weights are replaced.
    """
    import torch

    def copied(module, name: str, tensor):
        return tensor if type(module) is torch.nn.Linear and name == "weight" else tensor.clone()

    _replace_tensors(model, copied, mappings)


def _replace_tensors(model, replacement: Callable, mappings: list[tuple[int, int]]) -> None:
    """Set each parameter and buffer of ``model`` to ``replacement(module, name, tensor)``, one at a time; a tensor
    replaced by another hands its checkpoint pages back at once, before the next one is read."""
    import torch

    with torch.no_grad():
        for module in model.modules():
            for name, parameter in module.named_parameters(recurse=False):
                source = parameter.data
                new = replacement(module, name, source)
                if new is not source:
                    parameter.data = new
                    release_pages(source, mappings)
            for name, buffer in module.named_buffers(recurse=False):
                new = replacement(module, name, buffer)
                if new is not buffer:
                    module._buffers[name] = new
                    release_pages(buffer, mappings)


def mappings_holding(tensors: Iterable) -> list[tuple[int, int]]:
    """Address ranges of the file mappings that hold any of ``tensors``: a model's checkpoint files, whatever their
    names (a hub cache's ``blobs/<hash>``, a local ``*.safetensors``, langspan's converted-model cache)."""
    pointers = sorted(tensor.data_ptr() for tensor in tensors if tensor.device.type == "cpu")
    holding = []
    for low, high in file_mappings():
        first = bisect.bisect_left(pointers, low)
        if first < len(pointers) and pointers[first] < high:
            holding.append((low, high))
    return holding


def file_mappings() -> list[tuple[int, int]]:
    """Address ranges of this process's file-backed mappings (Linux; elsewhere none, and nothing is released)."""
    try:
        lines = MAPS.read_text().splitlines()
    except OSError:
        return []
    ranges = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):  # anonymous memory has no path, [heap] and [stack] brackets
            low, high = (int(address, 16) for address in fields[0].split("-"))
            ranges.append((low, high))
    return ranges


def release_pages(tensor, mappings: list[tuple[int, int]]) -> bool:
    """Drop the resident pages of a tensor that lives in a mapped checkpoint file; True if it did.

    Only whole pages inside the tensor, and only inside a file mapping: there ``MADV_DONTNEED`` loses nothing (a
    page touched again is read back from the file), whereas on ordinary memory it would zero the data.
    """
    start = tensor.data_ptr()
    end = start + tensor.numel() * tensor.element_size()
    if not any(low <= start and end <= high for low, high in mappings):
        return False
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    last = end // mmap.PAGESIZE * mmap.PAGESIZE
    if last <= first:
        return False
    madvise = libc().madvise
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), MADV_DONTNEED) == 0
