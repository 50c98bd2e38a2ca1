"""Random-weight wav2vec2 language classifiers of a chosen size, saved like a real checkpoint (for memory tests).

The committed fixtures are tiny (≤ 2 MB), too small for a process's memory to show whether a loader keeps the
checkpoint resident; these are large enough for that (~230 MB) and still build in seconds.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

LABELS = ("eng", "deu", "fra", "spa")


def build_wav2vec2(folder: Path, hidden: int = 768, layers: int = 8, ffn: int = 3072) -> Path:
    """A wav2vec2 audio classifier (mms-lid-256's layout: stable layer norm, 7 conv layers) saved in ``folder``."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    config = Wav2Vec2Config(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=8, intermediate_size=ffn,
        feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, conv_dim=(128,) * 7,
        num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=16, classifier_proj_size=256,
        id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
    )  # fmt: skip
    torch.manual_seed(0)
    Wav2Vec2ForSequenceClassification(config).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16_000, return_attention_mask=True).save_pretrained(folder)
    return folder


def as_hub_cache(folder: Path, cache: Path, repo: str = "someone/lid-model") -> str:
    """Lay ``folder`` out as the Hugging Face cache does (``snapshots/<commit>/NAME`` → ``blobs/<hash>``) under
    ``cache`` (use it as ``HF_HUB_CACHE``); returns the model id to load."""
    commit = hashlib.sha1(repo.encode()).hexdigest()
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    (root / "blobs").mkdir(exist_ok=True)
    (root / "snapshots" / commit).mkdir(parents=True, exist_ok=True)
    for file in folder.iterdir():
        blob = root / "blobs" / hashlib.sha256(file.name.encode()).hexdigest()
        if not blob.exists():
            os.link(file, blob)
        link = root / "snapshots" / commit / file.name
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(blob, link.parent))
    return repo
