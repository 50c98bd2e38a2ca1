"""Reading checkpoints from a local folder or the Hugging Face cache (never the network at run time: offline
machines get a one-line error that says how to fetch the model where there is network)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ModelError, one_line


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


def snapshot_commit(model: str, revision: str | None) -> str | None:
    """The commit of the hub-cache snapshot ``model`` loads from; None for a local folder or when not cached.

    transformers 5 no longer sets ``config._commit_hash``; the snapshot folder (``snapshots/<commit>/``) that the
    cached ``config.json`` lies in names it."""
    if Path(model).is_dir():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(model, "config.json", revision=revision)
    except Exception:  # noqa: BLE001 - an id the hub library rejects simply has no known snapshot
        return None
    return Path(path).parent.name if isinstance(path, str) else None
