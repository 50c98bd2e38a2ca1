"""The Whisper family through transformers: spoken-language posteriors from one decoder step.

Whisper identifies the language as the first token it decodes: after ``<|startoftranscript|>`` the decoder's
next-token distribution, restricted to the language tokens, is the language posterior (what openai-whisper's
``detect_language`` and faster-whisper do). Per batch of windows this classifier computes the log-mel features
(``WhisperFeatureExtractor``), runs the encoder, runs **one** decoder step, and takes the softmax over the language
tokens only — projected from the decoder's last hidden state onto those ~100 rows of the tied embedding rather
than all 51,865, which the language needs no more of.

**Encoder context.** Whisper was trained on 30 s inputs: shorter audio is padded with silence to 3,000 mel frames
and the encoder always runs 1,500 positions, so a 2 s window costs as much as a 30 s one. With
``short_context=True`` the encoder sees only the window's own frames (rounded up to an even number for the
stride-2 convolution) and the first positions of its positional embedding — the idea of whisper.cpp's
``audio_ctx``. The mel frames are the same as in the padded 30 s input (computed from it, then cut), so the two
modes differ only in what the encoder attends to. Measured in docs/benchmarks.md ("Whisper windows").

Precision: fp32 or dynamic int8 (``quantize_int8``) on CPU, fp16 on CUDA. int8 leaves each block's second
feed-forward layer (``fc2``) in fp32: its input, after the GELU, has outliers that PyTorch's per-tensor dynamic
activation scale flattens — quantizing it too turned 30% of test windows to another top language (mean L1
distance of the posteriors 0.64), without it every window agreed (0.13). CTranslate2's int8 quantizes activations
per row and keeps agreeing with everything quantized.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError, one_line
from .base import LoadOptions, ModelInfo, linear_parameters, prepare_torch, resolve_precision
from .whisper_files import hf_language_tokens, is_local_or_cached, looks_like_hf_whisper
from .whisper_languages import iso639_3

FAMILY_NAME = "whisper"
# Per-family defaults from benchmarks/whisper_windows.py (docs/benchmarks.md, "Whisper windows"): 6 s windows
# (window accuracy 0.49 at 2 s, 0.76 at 6 s; 10 s windows place changes too coarsely in a timeline), and a
# segmenter tuned to Whisper's flatter posteriors: a cheaper change of language (1.5 nats instead of 3) and `und`
# only below 0.2 mean posterior (0.4 turned whole segments it had right into `und`). On the podcasts this took
# per-second accuracy 0.644 → 0.762 and the median boundary error 5.5 s → 1.9 s (spurious spans 0.18 → 1.03/min).
# Two boundary probes instead of three: each probe is a whole 30 s encoder pass, and on the podcasts (CTranslate2
# int8) three probes gave per-second accuracy 0.765 and median boundary error 2.01 s, two 0.755 and 1.91 s, one
# 0.734 and 2.28 s — two cost 56 probe windows where three cost 84 (of 174 model windows in all for 10 minutes).
DEFAULTS = {
    "window": 6.0, "hop": None, "switch_penalty": 1.5, "min_span": None, "min_confidence": 0.2, "refine_probes": 2,
}  # fmt: skip
# Whether the encoder runs on the window's frames only (see the module docstring): 3–5x cheaper, but 8–19 points
# less window accuracy at every window length, so off by default.
SHORT_CONTEXT = False
SAMPLES_PER_FRAME = 160  # 10 ms mel hop at 16 kHz


class WhisperFamily:
    """transformers Whisper checkpoints: ``openai/whisper-*`` hub ids or local folders."""

    name = FAMILY_NAME

    def recognises(self, model: str, revision: str | None) -> bool:
        return looks_like_hf_whisper(model, revision)

    def read_info(self, model: str, revision: str | None) -> ModelInfo:
        if not is_local_or_cached(model, revision):
            raise not_available(model)
        codes = [code for code, _ in hf_language_tokens(model, revision)]
        return whisper_info(FAMILY_NAME, model, revision, codes, DEFAULTS)

    def load(self, options: LoadOptions) -> WhisperClassifier:
        return WhisperClassifier(options)


FAMILY = WhisperFamily()


def whisper_info(family: str, model: str, revision: str | None, codes: list[str], defaults: dict) -> ModelInfo:
    return ModelInfo(
        family=family,
        name=model,
        revision=revision,
        labels=tuple(iso639_3(code) for code in codes),
        raw_labels=tuple(codes),
        **defaults,
    )


def not_available(model: str) -> ModelError:
    if Path(model).expanduser().exists():
        return ModelError(f"cannot load model folder {model!r}: not a Whisper folder (no config.json of a Whisper)")
    return ModelError(
        f"cannot load model {model!r}: not a local folder and not in the Hugging Face cache. Download it where there "
        f"is network with `huggingface-cli download {model}`, or pass --model PATH to a Whisper folder"
    )


class WhisperClassifier:
    """Language posteriors ``[B, n_languages]`` of a transformers Whisper checkpoint, batched."""

    def __init__(self, options: LoadOptions, short_context: bool = SHORT_CONTEXT) -> None:
        import torch

        self.device = prepare_torch(options)  # checks device and precision, sets --threads
        self.info = FAMILY.read_info(options.model, options.revision)
        self.labels, self.name, self.revision = self.info.labels, options.model, options.revision
        self.short_context = short_context
        self.min_context = 0.0  # seconds the short context covers at least (silence after a shorter window)
        self.feature_extractor, network = _load(options.model, options.revision)
        # auto: fp16 on CUDA; on CPU int8 only for large checkpoints (small+), as for the other families.
        self.precision = resolve_precision(options.precision, self.device, linear_parameters(network.model))
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision, torch.float32)
        self.model = _prepare(network, self.device, self.dtype, self.precision)
        token_ids = [token for _, token in hf_language_tokens(options.model, options.revision)]
        # The decoder's output projection is tied to the token embedding: the language rows are all it needs.
        embedding = self.model.decoder.embed_tokens.weight
        self.language_rows = embedding[token_ids].detach().clone().to(self.device, self.dtype)
        self.start = torch.tensor([[network.config.decoder_start_token_id]], device=self.device)

    def predict(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        if not len(batch):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        features = self.features(batch)
        with torch.inference_mode():
            hidden = encode(self.model.encoder, features)
            start = self.start.expand(len(batch), 1)
            decoded = self.model.decoder(input_ids=start, encoder_hidden_states=hidden, use_cache=False)
            logits = decoded.last_hidden_state[:, -1] @ self.language_rows.T
        return torch.softmax(logits.float(), dim=-1).cpu().numpy()

    def features(self, batch: Sequence[np.ndarray]):
        """Log-mel features of the 30 s-padded windows; with the short context, cut to the longest window."""
        inputs = self.feature_extractor(
            [np.asarray(samples, dtype=np.float32) for samples in batch],
            sampling_rate=self.feature_extractor.sampling_rate,
            return_tensors="pt",
        )
        features = inputs["input_features"]
        if self.short_context:
            samples = max(max(len(samples) for samples in batch), int(self.min_context * 16000))
            frames = context_frames(samples, features.shape[-1])
            features = features[..., :frames]
        return features.to(self.device, self.dtype)


def context_frames(samples: int, limit: int) -> int:
    """Mel frames covering ``samples`` of audio, rounded up to even (the encoder's second convolution has stride
    2), at most the full input."""
    frames = -(-samples // SAMPLES_PER_FRAME)
    return min(limit, frames + frames % 2)


def encode(encoder, features):
    """``WhisperEncoder.forward`` for any even number of frames up to 3,000: the same convolutions, layers and
    final norm, with the first ``frames / 2`` positional embeddings instead of insisting on all 1,500."""
    import torch.nn.functional as F

    hidden = F.gelu(encoder.conv2(F.gelu(encoder.conv1(features)))).permute(0, 2, 1)
    hidden = hidden + encoder.embed_positions.weight[: hidden.shape[1]]
    for layer in encoder.layers:
        hidden = layer(hidden, None)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return encoder.layer_norm(hidden)


def keep_fp32(linears) -> None:
    """Hide these Linear layers from ``quantize_int8``, which replaces exactly ``type(module) is nn.Linear``: a
    subclass that adds nothing computes the same and stays fp32."""
    for linear in linears:
        linear.__class__ = _fp32_linear_class()


@functools.cache
def _fp32_linear_class() -> type:
    import torch

    return type("FP32Linear", (torch.nn.Linear,), {"__doc__": "A Linear kept in fp32 by int8 quantization."})


def _load(model: str, revision: str | None):
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    try:
        feature_extractor = WhisperFeatureExtractor.from_pretrained(model, revision=revision or "main")
        network = WhisperForConditionalGeneration.from_pretrained(
            model, revision=revision or "main", dtype=torch.float32
        )
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(f"cannot load Whisper model {model!r}: {one_line(error).rstrip('.')}") from error
    return feature_extractor, network


def _prepare(network, device: str, dtype, precision: str):
    """The WhisperModel (encoder + decoder, without the 51,865-row output layer) in the precision asked for."""
    from .cpu_memory import reuse_large_buffers
    from .quantize import convert, quantize_int8

    model = network.model.eval()
    convert(model, device, dtype)
    if device == "cpu":
        reuse_large_buffers()
    if precision == "int8":
        keep_fp32(layer.fc2 for layer in (*model.encoder.layers, *model.decoder.layers))
        model = quantize_int8(model)
        gc.collect()  # the replaced fp32 layers sit in reference cycles; free their memory now
    return model
