"""The model-family seam (as specified by the lead's layout; on merge, main's base.py replaces this file).

Written here only so the Whisper families can be built and tested before the layout commit lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ModelInfo:
    family: str
    name: str
    revision: str | None
    labels: tuple[str, ...]
    raw_labels: tuple[str, ...]
    sample_rate: int = 16000
    window: float = 2.0
    hop: float | None = None
    switch_penalty: float | None = None
    min_span: float | None = None
    min_confidence: float | None = None


@dataclass(frozen=True)
class LoadOptions:
    model: str
    revision: str | None = None
    device: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    batch_size: int = 8


class Classifier(Protocol):
    info: ModelInfo
    labels: tuple[str, ...]
    name: str
    revision: str | None

    def predict(self, batch: Sequence[np.ndarray]) -> np.ndarray: ...
