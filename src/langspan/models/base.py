"""The model-family seam: what the engines need from a spoken-language classifier, whatever its family.

A *family* (``registry.FAMILIES``) knows how to recognise its checkpoints, read their ``ModelInfo`` from the
configuration alone, and load a ``Classifier``. The engines see only ``Classifier``: ``labels`` (ISO 639-3) and
``predict(batch) -> probabilities``, plus ``info`` for per-family defaults (window length, segmenter settings).

``LoadOptions`` say how a model is loaded (which weights, where, in what precision); they are kept apart from the
analysis options (``DetectOptions``), which say what is done with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import UsageError

DEFAULT_MODEL = "facebook/mms-lid-256"
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "int8", "fp16", "bf16")
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class ModelInfo:
    """What langspan needs to know about a checkpoint before (and without) loading its weights."""

    family: str
    """The family that loads it: ``wav2vec2`` (audio classification), ``whisper``, ``whisper-ct2``, …"""
    name: str
    """Model id or local folder, as the user gave it."""
    revision: str | None
    """Hub revision, or the commit the cached checkpoint came from; None for a local folder."""
    labels: tuple[str, ...]
    """Language of each output column, as ISO 639-3 codes: what timelines report."""
    raw_labels: tuple[str, ...] = ()
    """The model's own label for each column (``en``, ``<|en|>``, ``eng``…), same order; empty = same as labels."""
    sample_rate: int = SAMPLE_RATE
    window: float = 2.0
    """Preferred window length in seconds (``DetectOptions.window`` left unset takes it)."""
    hop: float | None = None
    """Preferred seconds between window starts; None = the window length."""
    switch_penalty: float | None = None
    """Per-family segmenter settings; None keeps langspan's defaults (see segmentation.segmenter)."""
    min_span: float | None = None
    min_confidence: float | None = None
    refine_probes: int | None = None
    """Extra windows per change of language (boundary refinement); None keeps langspan's 3."""


@runtime_checkable
class Classifier(Protocol):
    """What the engines need from a language classifier (``info`` is optional for classifiers of your own)."""

    # Read-only properties, so that a classifier may compute them (from its ModelInfo) or simply set them.
    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def name(self) -> str: ...

    @property
    def revision(self) -> str | None: ...

    def predict(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities [B, len(labels)] for B windows of 16 kHz mono float32 (lengths may differ)."""
        ...


def info_of(classifier: Any) -> ModelInfo:
    """A classifier's ModelInfo; one of your own without ``info`` gets langspan's defaults."""
    info = getattr(classifier, "info", None)
    if isinstance(info, ModelInfo):
        return info
    labels = tuple(classifier.labels)
    return ModelInfo("custom", classifier.name, classifier.revision, labels, labels)


@dataclass(frozen=True)
class LoadOptions:
    """How a model is loaded: checked before any work starts, so a typo fails at once, on any engine."""

    model: str = DEFAULT_MODEL
    revision: str | None = None
    device: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    batch_size: int = 8
    cache: bool = True
    """Keep converted models (int8, fp16, bf16) on disk and load them from there (models/cache.py); False always
    converts from the checkpoint and writes nothing."""

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be at least 1, got {self.threads}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.precision == "int8" and self.device not in ("auto", "cpu"):
            raise UsageError(
                f"--precision int8 runs on the CPU only (device is {self.device}); use fp16 or bf16 on a GPU"
            )


# What ``auto`` means per device: the fastest precision that passes the accuracy guard there. MPS keeps fp32:
# nobody here could measure it.
AUTO_PRECISION = {"cpu": "int8", "cuda": "fp16", "mps": "fp32"}
# Dynamic int8 quantizes activations on every call; that overhead only pays off on large matrices. Below this many
# parameters in Linear layers (a 12-layer base-size wav2vec2 has ~85M, mms-lid-256 ~900M; the 2 MB stand-in and
# a 4-layer hidden-256 model measured slower in int8) ``auto`` keeps fp32 on the CPU.
INT8_MIN_LINEAR_PARAMETERS = 50_000_000


def resolve_device(device: str) -> str:
    """The concrete device for ``auto``; a usage error for a device this machine lacks."""
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


def linear_parameters(model: Any) -> int:
    import torch

    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def prepare_torch(options: LoadOptions) -> str:
    """Checks and process settings every torch family shares: the resolved device, after the thread setting."""
    import torch

    device = resolve_device(options.device)
    resolve_precision(options.precision, device)  # a usage error before the slow part
    if options.threads is not None:
        # Asked for explicitly, so set here at load time and never at import: the process's other torch users
        # share this setting.
        torch.set_num_threads(options.threads)
    return device
