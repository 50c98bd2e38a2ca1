"""What both Whisper families read from a model's files before any weights: which family a folder or hub id
is, and its language tokens in id order.

A Hugging Face Whisper folder has ``config.json`` with ``model_type: whisper`` and safetensors/PyTorch weights;
a faster-whisper (CTranslate2) folder has ``model.bin`` and a ``config.json`` of decoding settings (``lang_ids``,
``suppress_ids``, no ``model_type``). A hub id is looked up in the local Hugging Face cache only (never the
network); an id that is not cached is recognised by its name, so the family's loader can say how to get it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import ModelError
from .whisper_languages import token_code

# Substrings of hub ids that name CTranslate2 conversions (Systran/faster-whisper-*, */whisper-*-ct2, …).
CT2_NAME_HINTS = ("faster-whisper", "ct2", "ctranslate2")
LANGUAGE_LIKE = re.compile(r"<\|[a-z]{2,3}\|>")


def model_file(model: str, revision: str | None, filename: str) -> Path | None:
    """``filename`` of a local folder, or of a hub id's snapshot in the local cache; None when absent."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        path = folder / filename
        return path if path.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, filename, revision=revision)
    except (ValueError, OSError):  # an invalid repo id (HFValidationError) or an unreadable cache: no such file
        return None
    return Path(cached) if isinstance(cached, str) else None


def read_json(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read {path}: {error}") from error
    return value if isinstance(value, dict) else {}


def is_local_or_cached(model: str, revision: str | None) -> bool:
    return Path(model).expanduser().is_dir() or model_file(model, revision, "config.json") is not None


def looks_like_ct2(model: str, revision: str | None) -> bool:
    """A faster-whisper folder (or cached hub snapshot), or an uncached hub id whose name says CTranslate2."""
    if is_local_or_cached(model, revision):
        config = read_json(model_file(model, revision, "config.json"))
        has_weights = model_file(model, revision, "model.bin") is not None
        return has_weights and "model_type" not in config and ("lang_ids" in config or "suppress_ids" in config)
    name = model.lower()
    return "whisper" in name and any(hint in name for hint in CT2_NAME_HINTS)


def looks_like_hf_whisper(model: str, revision: str | None) -> bool:
    """A transformers Whisper folder (or cached snapshot), or an uncached hub id named like one (openai/whisper-*)."""
    if is_local_or_cached(model, revision):
        return read_json(model_file(model, revision, "config.json")).get("model_type") == "whisper"
    name = model.lower()
    return "whisper" in name and not any(hint in name for hint in CT2_NAME_HINTS)


def tokenizer_tokens(model: str, revision: str | None) -> dict[int, str]:
    """id → text of the tokenizer's added (special) tokens, from tokenizer.json."""
    added = read_json(model_file(model, revision, "tokenizer.json")).get("added_tokens", [])
    return {int(entry["id"]): str(entry["content"]) for entry in added if "id" in entry and "content" in entry}


def hf_language_tokens(model: str, revision: str | None) -> list[tuple[str, int]]:
    """(code, token id) of a transformers Whisper checkpoint's languages, in id order."""
    lang_to_id = read_json(model_file(model, revision, "generation_config.json")).get("lang_to_id")
    if not lang_to_id:
        # No generation config: the tokenizer's special tokens that look like language codes (<|xx|>, <|xxx|>).
        tokens = tokenizer_tokens(model, revision).items()
        lang_to_id = {text: token for token, text in tokens if LANGUAGE_LIKE.fullmatch(text)}
    return _codes(model, {int(token): text for text, token in lang_to_id.items()})


def ct2_language_tokens(model: str, revision: str | None) -> list[tuple[str, int]]:
    """(code, token id) of a faster-whisper folder's languages: config.json's ``lang_ids`` named by the tokenizer."""
    ids = read_json(model_file(model, revision, "config.json")).get("lang_ids") or []
    names = tokenizer_tokens(model, revision)
    if not names:
        vocabulary = model_file(model, revision, "vocabulary.json")
        tokens = json.loads(vocabulary.read_text(encoding="utf-8")) if vocabulary else []
        names = dict(enumerate(tokens))
    return _codes(model, {int(token): names.get(int(token), "") for token in ids})


def _codes(model: str, by_id: dict[int, str]) -> list[tuple[str, int]]:
    pairs = [(token_code(text), token) for token, text in sorted(by_id.items())]
    unknown = [by_id[token] for code, token in pairs if code is None]
    if unknown:
        raise ModelError(f"model {model!r}: language tokens langspan has no ISO 639-3 code for: {unknown[:5]}")
    if not pairs:
        raise ModelError(
            f"model {model!r} has no language tokens: an English-only Whisper (*.en) cannot identify languages"
        )
    return [(code, token) for code, token in pairs if code is not None]
