"""Spoken-language classifiers: anything with ``labels`` and ``predict(batch) -> probabilities``.

``HFClassifier`` wraps any Hugging Face audio-classification checkpoint whose labels are language codes — by
default ``facebook/mms-lid-256`` — through ``AutoFeatureExtractor`` + ``AutoModelForAudioClassification``.

Precision is where the speed is (measured in docs/benchmarks.md): on CPU, dynamic int8 linear layers run the
full-size model about 4x faster than fp32 and agree with it on ≥ 99% of windows (tests/test_classifier.py); bf16
comes close on CPUs with AVX-512 BF16 and is slow on others. ``auto`` therefore means int8 on CPU for large
models (small ones stay fp32: quantizing activations costs more than it saves on small matrices), fp16 on CUDA.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelError, UsageError
from .cpu_memory import reuse_large_buffers
from .quantize import convert, quantize_int8

DEFAULT_MODEL = "facebook/mms-lid-256"
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "int8", "fp16", "bf16")
# What ``auto`` means per device: the fastest precision that passes the accuracy guard there. MPS keeps fp32:
# nobody here could measure it.
AUTO_PRECISION = {"cpu": "int8", "cuda": "fp16", "mps": "fp32"}
# Dynamic int8 quantizes activations on every call; that overhead only pays off on large matrices. Below this many
# parameters in Linear layers (a 12-layer base-size wav2vec2 has ~85M, mms-lid-256 ~900M; the 2 MB stand-in and
# a 4-layer hidden-256 model measured slower in int8) ``auto`` keeps fp32 on the CPU.
INT8_MIN_LINEAR_PARAMETERS = 50_000_000


class Classifier(Protocol):
    """What the pipeline needs from a language classifier."""

    labels: tuple[str, ...]
    name: str
    revision: str | None

    def predict(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities [B, len(labels)] for B windows of 16 kHz mono float32 (lengths may differ)."""
        ...


class HFClassifier:
    """A transformers audio-classification checkpoint, run batched under ``torch.inference_mode``."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        revision: str | None = None,
        device: str = "auto",
        precision: str = "auto",
        threads: int | None = None,
    ) -> None:
        import torch  # imported here so `langspan --help` and the writers stay fast

        if device not in DEVICES:
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
        if precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if threads is not None and threads < 1:
            raise UsageError(f"--threads must be at least 1, got {threads}")
        self.name = model
        self.revision = revision
        self.device = resolve_device(device)
        resolve_precision(precision, self.device)  # a usage error before the slow part
        if threads is not None:
            # Asked for explicitly, so set here at load time and never at import: the process's other torch
            # users share this setting.
            torch.set_num_threads(threads)
        self.feature_extractor, self.model = _load(model, revision)
        self.precision = resolve_precision(precision, self.device, linear_parameters(self.model))
        # int8 keeps fp32 activations between its quantized linear layers.
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision, torch.float32)
        convert(self.model, self.device, self.dtype)
        self.model.eval()
        if self.device == "cpu":
            reuse_large_buffers()  # ~20% faster forward passes on glibc, see cpu_memory.py
        if self.precision == "int8":
            self.model = quantize_int8(self.model)
            # The replaced fp32 Linear layers sit in reference cycles; collecting them now unmaps the checkpoint
            # file (see quantize.py) instead of whenever the collector next runs.
            gc.collect()
        id2label = self.model.config.id2label
        self.labels = tuple(str(id2label[i]) for i in range(len(id2label)))
        # Echo the exact weights used: the hub commit when the checkpoint came from the hub cache.
        self.revision = revision or getattr(self.model.config, "_commit_hash", None)
        self.sampling_rate = getattr(self.feature_extractor, "sampling_rate", 16_000)

    def predict(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        # padding=True pads to the longest window and returns the attention mask that tells the model (whose
        # feature extractor uses layer norm) which samples are real — a short last window stays honest.
        inputs = self.feature_extractor(
            list(batch), sampling_rate=self.sampling_rate, padding=True, return_attention_mask=True, return_tensors="pt"
        )
        values = inputs["input_values"].to(self.device, dtype=self.dtype)
        mask = inputs["attention_mask"].to(self.device)
        with torch.inference_mode():
            logits = self.model(input_values=values, attention_mask=mask).logits
        return torch.softmax(logits.float(), dim=-1).cpu().numpy()


def resolve_precision(precision: str, device: str, linear_parameters: int | None = None) -> str:
    """The concrete precision for a resolved device (and model size, for ``auto`` on CPU); int8 is CPU-only."""
    if precision == "auto":
        chosen = AUTO_PRECISION.get(device, "fp32")
        if chosen == "int8" and linear_parameters is not None and linear_parameters < INT8_MIN_LINEAR_PARAMETERS:
            return "fp32"
        return chosen
    if precision == "int8" and device != "cpu":
        raise UsageError(f"--precision int8 runs on the CPU only (device is {device}); use fp16 or bf16 on a GPU")
    return precision


def linear_parameters(model) -> int:
    import torch

    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available")
    if device == "mps" and not torch.backends.mps.is_available():
        raise UsageError("--device mps: no Apple GPU is available")
    return device


def _load(model: str, revision: str | None):
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    try:
        feature_extractor = AutoFeatureExtractor.from_pretrained(model, revision=revision)
        network = AutoModelForAudioClassification.from_pretrained(model, revision=revision)
    except (OSError, ValueError, KeyError) as error:
        raise model_error(model, error) from error
    if not getattr(network.config, "id2label", None):
        raise ModelError(f"model {model!r} has no id2label: not a language classifier")
    return feature_extractor, network


def model_error(model: str, error: BaseException) -> ModelError:
    """A one-line ModelError that says how to get the model."""
    if Path(model).is_dir():
        return ModelError(f"cannot load model folder {model!r}: {_first_line(error)}")
    return ModelError(
        f"cannot load model {model!r}: not a local folder and not in the Hugging Face cache (offline, or no such "
        f"model). Download it where there is network with `huggingface-cli download {model}`, or pass --model PATH "
        "to a folder saved with save_pretrained"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0].rstrip(".")
