"""The wav2vec2-style family: Hugging Face audio-classification checkpoints whose labels are languages.

By default ``facebook/mms-lid-256``, through ``AutoFeatureExtractor`` + ``AutoModelForAudioClassification``; any
checkpoint of that kind with ``id2label`` language codes works (the stand-in and the tiny test model too).

Precision is where the speed is (measured in docs/benchmarks.md): on CPU, dynamic int8 linear layers run the
full-size model about 4x faster than fp32 and agree with it on ≥ 99% of windows (tests/test_classifier.py); bf16
comes close on CPUs with AVX-512 BF16 and is slow on others. ``auto`` therefore means int8 on CPU for large
models (small ones stay fp32: quantizing activations costs more than it saves on small matrices), fp16 on CUDA.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

import numpy as np

from ..errors import ModelError, UsageError
from ..languages import to_iso639_3
from . import cache
from .base import DEFAULT_MODEL, LoadOptions, ModelInfo, linear_parameters, prepare_torch, resolve_precision
from .cpu_memory import reuse_large_buffers
from .hub import hf_config, model_error, snapshot_commit
from .quantize import bf16_front_end, convert, quantize_int8


class Wav2Vec2Family:
    """Any audio-classification checkpoint with language labels (the fallback family: it is asked last)."""

    name = "wav2vec2"

    def recognises(self, model: str, revision: str | None) -> bool:
        return True  # the last family asked; read_info says clearly when the checkpoint is no language classifier

    def read_info(self, model: str, revision: str | None) -> ModelInfo:
        config = hf_config(model, revision)
        id2label = getattr(config, "id2label", None)
        if not id2label or getattr(config, "model_type", None) == "whisper":
            raise ModelError(f"model {model!r} has no id2label: not a language classifier")
        raw = tuple(str(id2label[i]) for i in range(len(id2label)))
        # Echo the exact weights used: the hub commit when the checkpoint came from the hub cache.
        commit = revision or getattr(config, "_commit_hash", None) or snapshot_commit(model, revision)
        return ModelInfo(self.name, model, commit, tuple(_iso639_3(label) for label in raw), raw)

    def load(self, options: LoadOptions) -> HFClassifier:
        return HFClassifier(options, self.read_info(options.model, options.revision))


FAMILY = Wav2Vec2Family()


def _iso639_3(label: str) -> str:
    """A model label as ISO 639-3: three-letter labels (MMS's) stay exactly as they are, two-letter ones (``en``) are
    mapped, and a label that is no language code is kept as the model says it."""
    if len(label) == 3 and label.isalpha() and label.islower():
        return label
    try:
        return to_iso639_3(label)
    except UsageError:
        return label


class HFClassifier:
    """A transformers audio-classification checkpoint, run batched under ``torch.inference_mode``."""

    def __init__(self, options: LoadOptions | str = DEFAULT_MODEL, info: ModelInfo | None = None, **load) -> None:
        if isinstance(options, str):  # HFClassifier("path", device="cpu"): the short form for scripts and tests
            options = LoadOptions(model=options, **load)
        self.device = prepare_torch(options)
        self.info = info or FAMILY.read_info(options.model, options.revision)
        self.feature_extractor = _feature_extractor(options.model, options.revision)
        self.model, self.precision = _network(options, self.device)
        # int8 keeps fp32 activations between its quantized linear layers.
        self.dtype = torch_dtype(self.precision)
        self.sampling_rate = getattr(self.feature_extractor, "sampling_rate", self.info.sample_rate)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def revision(self) -> str | None:
        return self.info.revision

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


def _network(options: LoadOptions, device: str):
    """(the network in its precision, the precision): from the converted-model cache when it has an entry (see
    cache.py), else loaded and converted (and then cached). int8 runs its conv front end in bf16 where the CPU
    can (see quantize.bf16_front_end); that happens after the cache, which keeps the front end in fp32."""
    network, precision = _cached_or_converted(options, device)
    if precision == "int8":
        bf16_front_end(network)
    return network, precision


def _cached_or_converted(options: LoadOptions, device: str):
    config = hf_config(options.model, options.revision)
    frame = skeleton(options.model, config)
    precision = resolve_precision(options.precision, device, linear_parameters(frame))
    commit = getattr(config, "_commit_hash", None) or snapshot_commit(options.model, options.revision)
    entry = cache.entry_for(options.model, commit, precision) if options.cache else None
    if entry is not None:
        if device == "cpu":
            reuse_large_buffers()
        network = entry.load(frame)
        if network is not None:
            convert(network, device, torch_dtype(precision))  # to the GPU if that is the device; on the CPU, nothing
            return network, precision
    network = _converted(options, device, precision)
    if entry is not None:
        entry.store(network)
    return network, precision


def _converted(options: LoadOptions, device: str, precision: str):
    """The checkpoint loaded and converted to ``precision``, in bounded memory (see quantize.py)."""
    network = _pretrained(options.model, options.revision)
    convert(network, device, torch_dtype(precision))
    network.eval()
    if device == "cpu":
        reuse_large_buffers()  # ~20% faster forward passes on glibc, see cpu_memory.py
    if precision == "int8":
        network = quantize_int8(network)
        # The replaced fp32 Linear layers sit in reference cycles; collecting them now unmaps the checkpoint
        # file (see quantize.py) instead of whenever the collector next runs.
        gc.collect()
    return network


def torch_dtype(precision: str):
    """The dtype of the network's weights and activations (int8 layers take and give fp32 activations)."""
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)


def skeleton(model: str, config):
    """The network without weights (on the meta device: no memory, no initialisation), built from its configuration:
    its sizes decide ``auto`` precision, and a cached model's tensors are put into it."""
    import copy

    import torch
    from transformers import AutoModelForAudioClassification

    try:
        with torch.device("meta"):
            return AutoModelForAudioClassification.from_config(copy.deepcopy(config)).eval()
    except (OSError, ValueError, KeyError) as error:
        raise model_error(model, error) from error


def _feature_extractor(model: str, revision: str | None):
    from transformers import AutoFeatureExtractor

    try:
        return AutoFeatureExtractor.from_pretrained(model, revision=revision)
    except (OSError, ValueError, KeyError) as error:
        raise model_error(model, error) from error


def _pretrained(model: str, revision: str | None):
    from transformers import AutoModelForAudioClassification

    try:
        return AutoModelForAudioClassification.from_pretrained(model, revision=revision)
    except (OSError, ValueError, KeyError) as error:
        raise model_error(model, error) from error
