"""faster-whisper folders through CTranslate2 (extra ``langspan[ctranslate2]``): the same language posteriors as
``whisper.py``, from CTranslate2's own encoder and ``detect_language``.

A faster-whisper folder holds ``model.bin`` (CTranslate2 weights), ``config.json`` (decoding settings, among them
``lang_ids``), ``tokenizer.json`` and ``vocabulary.json``; ``--model`` takes such a folder or the hub id of one
in the local Hugging Face cache (Systran/faster-whisper-*). Features are Whisper's log-mel spectrogram of the
window padded to 30 s (``WhisperFeatureExtractor``, the same numbers as the transformers family);
``Whisper.detect_language`` returns the softmax over the language tokens after ``<|startoftranscript|>`` —
exactly the posterior the transformers family computes, which tests/test_whisper_agree.py checks.

Precision: int8 on the CPU by default (see ``AUTO``), fp32 on request, fp16 on CUDA.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError, UsageError, one_line
from .base import LoadOptions, ModelInfo
from .whisper import DEFAULTS as WHISPER_DEFAULTS
from .whisper import SHORT_CONTEXT, context_frames, not_available, whisper_info
from .whisper_files import ct2_language_tokens, is_local_or_cached, looks_like_ct2, model_file

FAMILY_NAME = "whisper-ct2"
# The same network as the transformers family, so the same measured defaults (see whisper.py).
DEFAULTS = WHISPER_DEFAULTS
# langspan precision → CTranslate2 compute type. ``auto`` is fp16 on CUDA and int8 on CPU: on the quiet development
# host (AMD EPYC, AVX-512 VNNI) whole `langspan detect` runs with whisper-base were 1.21x faster in int8 than in
# fp32, with the same timeline quality (docs/benchmarks.md, "Whisper timelines at speed"). An earlier measurement
# had int8 1.4–2.3x *slower*, taken at load average ≈ 9 with CTranslate2's default of 4 threads on 2 shared cores.
COMPUTE_TYPES = {"fp32": "float32", "int8": "int8", "fp16": "float16", "bf16": "bfloat16"}
AUTO = {"cpu": "int8", "cuda": "fp16"}
INSTALL_HINT = "pip install 'langspan[ctranslate2]'"
# On the CPU, CTranslate2 runs Whisper's encoder faster one window at a time than in a batch (the attention
# activations of eight 30 s inputs outgrow the caches): whole 10-minute runs on the quiet development host at 9.68x
# realtime with batches of 8, 10.89x with 2, 11.07x with 1 (docs/benchmarks.md). The engine's batches are split
# here; a GPU gets them whole.
CPU_ENCODER_BATCH = 1


class WhisperCT2Family:
    """faster-whisper (CTranslate2) folders, or hub ids of them in the local cache."""

    name = FAMILY_NAME

    def recognises(self, model: str, revision: str | None) -> bool:
        return looks_like_ct2(model, revision)

    def read_info(self, model: str, revision: str | None) -> ModelInfo:
        if not is_local_or_cached(model, revision):
            raise not_available(model)
        codes = [code for code, _ in ct2_language_tokens(model, revision)]
        return whisper_info(FAMILY_NAME, model, revision, codes, DEFAULTS)

    def load(self, options: LoadOptions) -> WhisperCT2Classifier:
        return WhisperCT2Classifier(options)


FAMILY = WhisperCT2Family()


def import_ctranslate2():
    try:
        import ctranslate2
    except ImportError:
        raise ModelError(f"faster-whisper folders need CTranslate2, which is not installed: {INSTALL_HINT}") from None
    return ctranslate2


class WhisperCT2Classifier:
    """Language posteriors ``[B, n_languages]`` of a faster-whisper folder, batched, through CTranslate2."""

    def __init__(self, options: LoadOptions, short_context: bool = SHORT_CONTEXT) -> None:
        self.short_context = short_context  # the encoder on the window's frames only, as in whisper.py
        ctranslate2 = import_ctranslate2()
        self.info = FAMILY.read_info(options.model, options.revision)
        self.labels, self.name, self.revision = self.info.labels, options.model, options.revision
        self.device = resolve_device(options.device, ctranslate2)
        self.precision = AUTO[self.device] if options.precision == "auto" else options.precision
        folder = _folder(options.model, options.revision)
        try:
            self.model = ctranslate2.models.Whisper(
                str(folder),
                device=self.device,
                compute_type=COMPUTE_TYPES[self.precision],
                intra_threads=options.threads or 0,
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise ModelError(
                f"cannot load faster-whisper folder {options.model!r}: {one_line(error).rstrip('.')}"
            ) from error
        self.feature_extractor = _feature_extractor(folder, self.model.n_mels)
        self.index = {f"<|{code}|>": i for i, code in enumerate(self.info.raw_labels)}
        self._storage = ctranslate2.StorageView

    def predict(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(batch), len(self.labels)), dtype=np.float32)
        if not len(batch):
            return out
        features = self.feature_extractor(
            [np.asarray(samples, dtype=np.float32) for samples in batch],
            sampling_rate=self.feature_extractor.sampling_rate,
            return_tensors="np",
        )["input_features"]
        if self.short_context:  # CTranslate2's encoder takes any even number of frames up to 3,000
            features = features[..., : context_frames(max(len(samples) for samples in batch), features.shape[-1])]
        step = CPU_ENCODER_BATCH if self.device == "cpu" else len(batch)
        results = []
        for first in range(0, len(batch), step):
            part = np.ascontiguousarray(features[first : first + step], np.float32)
            results += self.model.detect_language(self._storage.from_array(part))
        for row, pairs in enumerate(results):
            for token, probability in pairs:
                column = self.index.get(token)
                if column is not None:
                    out[row, column] = probability
        return out


def resolve_device(device: str, ctranslate2) -> str:
    cuda = ctranslate2.get_cuda_device_count() > 0
    if device == "auto":
        return "cuda" if cuda else "cpu"
    if device == "mps":
        raise UsageError("--device mps: CTranslate2 runs on the CPU or CUDA only")
    if device == "cuda" and not cuda:
        raise UsageError("--device cuda: no CUDA device is available to CTranslate2")
    return device


def _folder(model: str, revision: str | None) -> Path:
    """The local folder of a faster-whisper model: the path itself, or the cached snapshot of a hub id."""
    weights = model_file(model, revision, "model.bin")
    if weights is None:
        raise ModelError(f"cannot load faster-whisper model {model!r}: no model.bin there or in the local cache")
    return weights.parent


def _feature_extractor(folder: Path, n_mels: int):
    """The folder's preprocessor_config.json when it has one, else Whisper's standard extractor for ``n_mels``."""
    from transformers import WhisperFeatureExtractor

    if (folder / "preprocessor_config.json").is_file():
        return WhisperFeatureExtractor.from_pretrained(str(folder))
    return WhisperFeatureExtractor(feature_size=n_mels)
