"""Which family loads a checkpoint: the one place that reads a model's configuration.

Each family is an object with ``name``, ``recognises(model, revision)`` (from its files or configuration, never its
weights), ``read_info(model, revision) -> ModelInfo`` and ``load(options) -> Classifier``. Families are asked in
order and the first that recognises the checkpoint wins; the wav2vec2-style audio classifiers come last because
they accept any audio-classification checkpoint with language labels.

To add a family: write a module in this package with such an object and put it in ``FAMILIES``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from ..errors import ModelError, one_line
from .base import Classifier, LoadOptions, ModelInfo


class Family(Protocol):
    name: str

    def recognises(self, model: str, revision: str | None) -> bool: ...

    def read_info(self, model: str, revision: str | None) -> ModelInfo: ...

    def load(self, options: LoadOptions) -> Classifier: ...


def families() -> list[Family]:
    """The known families, most specific first (imported here so that importing langspan stays light)."""
    from .wav2vec2 import FAMILY as WAV2VEC2

    return [WAV2VEC2]


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


@lru_cache(maxsize=8)
def hf_config(model: str, revision: str | None) -> Any:
    """A Hugging Face configuration (local folder or hub cache), read once per process."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model, revision=revision)
    except (OSError, ValueError, KeyError) as error:
        raise model_error(model, error) from None


def model_error(model: str, error: BaseException) -> ModelError:
    """A one-line ModelError that says how to get the model."""
    if Path(model).is_dir():
        return ModelError(f"cannot load model folder {model!r}: {one_line(error).rstrip('.')}")
    return ModelError(
        f"cannot load model {model!r}: not a local folder and not in the Hugging Face cache (offline, or no such "
        f"model). Download it where there is network with `huggingface-cli download {model}`, or pass --model PATH "
        "to a folder saved with save_pretrained"
    )
