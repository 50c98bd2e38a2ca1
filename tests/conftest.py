"""Shared fixtures: paths to the committed test media and checkpoints, a scripted classifier, the tiny model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

# Tests never touch the network: transformers must resolve everything from local folders.
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
MEDIA = FIXTURES / "media"
TINY_MODEL = FIXTURES / "tiny-lid"


class ScriptedClassifier:
    """A fake classifier that answers from a function of each window's samples (for fast unit tests)."""

    name = "scripted"
    revision = None

    def __init__(self, labels: Sequence[str], answer) -> None:
        self.labels = tuple(labels)
        self.answer = answer
        self.calls: list[int] = []

    def predict(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        self.calls.append(len(batch))
        return np.stack([self.answer(samples) for samples in batch]).astype(np.float32)


def one_hot(labels: Sequence[str], label: str, confidence: float = 0.9) -> np.ndarray:
    rest = (1 - confidence) / (len(labels) - 1)
    return np.array([confidence if name == label else rest for name in labels], dtype=np.float32)


@pytest.fixture(scope="session")
def tiny_classifier():
    from langspan.classifier import HFClassifier

    return HFClassifier(str(TINY_MODEL), device="cpu")
