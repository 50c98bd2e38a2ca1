"""Generate the small test fixtures: a tiny random-weight LID checkpoint and short media files.

    .venv/bin/python scripts/make_test_fixtures.py

The checkpoint has the real model's architecture flags (layer-norm feature extractor, stable layer norm, conv bias,
mean pooling) at a toy size, so it exercises the exact ``from_pretrained`` path of ``facebook/mms-lid-256``.
Its weights are random: it says nothing true about languages (the trained stand-in in fixtures/standin-lid does).
The media are synthetic tones made by ffmpeg's lavfi sources; every file is a few kB.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "fixtures" / "tiny-lid"
MEDIA_DIR = ROOT / "fixtures" / "media"
LABELS = ["eng", "deu", "fra", "spa", "cmn"]
SEED = 1234


def make_tiny_model() -> None:
    torch.manual_seed(SEED)
    config = Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8, 8),
        conv_stride=(5, 4, 16),  # total stride 320 = one frame per 20 ms, like MMS
        conv_kernel=(10, 4, 16),
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        conv_bias=True,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=8,
        use_weighted_layer_sum=False,
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model = Wav2Vec2ForSequenceClassification(config).eval()
    model.save_pretrained(MODEL_DIR)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    ).save_pretrained(MODEL_DIR)
    (MODEL_DIR / "README.md").write_text(
        "# tiny-lid: a random-weight test checkpoint\n\n"
        "Wav2Vec2ForSequenceClassification with the flags of facebook/mms-lid-256 at toy size "
        f"(hidden 16, 1 layer), labels {', '.join(LABELS)}, seed {SEED}. Random weights: its answers mean nothing; "
        "it exists to test loading, batching and masking offline. Made by scripts/make_test_fixtures.py.\n"
    )


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_media() -> None:
    MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    tone = "sine=frequency=440:duration=5:sample_rate=16000"
    chirp = "aevalsrc=0.5*sin(2*PI*(200+100*t)*t):d=5:s=22050"
    ffmpeg("-f", "lavfi", "-i", tone, str(MEDIA_DIR / "tone.wav"))
    ffmpeg("-f", "lavfi", "-i", chirp, "-ac", "2", "-b:a", "32k", str(MEDIA_DIR / "chirp.mp3"))
    ffmpeg("-f", "lavfi", "-i", chirp, "-c:a", "aac", "-b:a", "24k", str(MEDIA_DIR / "chirp.m4a"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=3:sample_rate=48000", "-ac", "2", str(MEDIA_DIR / "stereo48k.flac"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=3:sample_rate=8000", str(MEDIA_DIR / "tone8k.wav"))
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=32x32:rate=2:duration=4",
        "-f", "lavfi", "-i", "sine=frequency=500:duration=4:sample_rate=16000",
        "-f", "lavfi", "-i", "aevalsrc=0.3*sin(2*PI*(300+200*t)*t):d=4:s=16000",
        "-map", "0:v", "-map", "1:a", "-map", "2:a",
        "-c:v", "mpeg4", "-q:v", "31", "-c:a", "libopus", "-b:a", "16k",
        "-metadata:s:a:0", "language=und", "-metadata:s:a:1", "language=eng",
        str(MEDIA_DIR / "two_tracks.mkv"),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32:rate=2:duration=2", "-c:v", "mpeg4", "-q:v", "31", str(MEDIA_DIR / "video_only.mp4"))
    # Random bytes behind a media extension: what a broken download looks like.
    (MEDIA_DIR / "corrupt.mp4").write_bytes(np.random.default_rng(SEED).bytes(4096))


if __name__ == "__main__":
    make_tiny_model()
    make_media()
    print(f"wrote {MODEL_DIR} and {MEDIA_DIR}")
