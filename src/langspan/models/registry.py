"""Which family loads a checkpoint: the one place that reads a model's configuration.

Each family is an object with ``name``, ``recognises(model, revision)`` (from its files or configuration, never its
weights), ``read_info(model, revision) -> ModelInfo`` and ``load(options) -> Classifier``. Families are asked in
order and the first that recognises the checkpoint wins; the wav2vec2-style audio classifiers come last because
they accept any audio-classification checkpoint with language labels.

To add a family: write a module in this package with such an object and add it to ``families()``.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import ModelError
from .base import Classifier, LoadOptions, ModelInfo
from .wav2vec2 import FAMILY as WAV2VEC2
from .whisper import FAMILY as WHISPER
from .whisper_ct2 import FAMILY as WHISPER_CT2


class Family(Protocol):
    name: str

    def recognises(self, model: str, revision: str | None) -> bool: ...

    def read_info(self, model: str, revision: str | None) -> ModelInfo: ...

    def load(self, options: LoadOptions) -> Classifier: ...


def families() -> list[Family]:
    """The known families, most specific first."""
    # faster-whisper folders before transformers Whisper (an uncached hub id named "…faster-whisper…" is both by
    # name); the wav2vec2 family accepts anything left, so it comes last.
    return [WHISPER_CT2, WHISPER, WAV2VEC2]


def family_for(model: str, revision: str | None = None) -> Family:
    for family in families():
        if family.recognises(model, revision):
            return family
    raise ModelError(f"model {model!r} is not a spoken-language classifier langspan knows how to run")


def read_info(model: str, revision: str | None = None) -> ModelInfo:
    """The model's ModelInfo from its configuration alone: no weights are loaded."""
    return family_for(model, revision).read_info(model, revision)


def load_classifier(options: LoadOptions) -> Classifier:
    """Load the model once, with the family that recognises it."""
    return family_for(options.model, options.revision).load(options)
