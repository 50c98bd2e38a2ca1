"""The result types: immutable spans of one language, and the timeline of one audio stream."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .languages import NONSPEECH, UNKNOWN, language_name

# Output times are rounded to milliseconds: finer precision is noise at 20 ms model frames.
TIME_DECIMALS = 3


@dataclass(frozen=True, order=True)
class Alternative:
    """One candidate language of a span with its probability."""

    probability: float
    language: str

    def to_dict(self) -> dict[str, Any]:
        return {"language": self.language, "name": language_name(self.language), "probability": round(self.probability, 4)}


@dataclass(frozen=True, order=True)
class Span:
    """A stretch of audio in one language (or ``nonspeech``/``und``), ordered by start time.

    ``confidence`` is the mean posterior probability of ``language`` over the windows of the span;
    ``alternatives`` lists the best candidates, best first, with the same kind of probability.
    """

    start: float
    end: float
    language: str
    confidence: float = 0.0
    alternatives: tuple[Alternative, ...] = ()

    def __post_init__(self) -> None:
        if not (0 <= self.start <= self.end):
            raise ValueError(f"invalid span times {self.start}..{self.end}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def name(self) -> str:
        return language_name(self.language)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, TIME_DECIMALS),
            "end": round(self.end, TIME_DECIMALS),
            "language": self.language,
            "name": self.name,
            "confidence": round(self.confidence, 4),
            "alternatives": [alt.to_dict() for alt in self.alternatives],
        }


@dataclass(frozen=True)
class WindowResult:
    """The classifier's posterior over all labels for one window (``None`` for windows never classified, e.g.
    because the speech detector found too little speech in them).

    ``speech`` is the fraction of the window the speech detector judged to be speech and ``speech_intervals`` where
    (absolute seconds, clipped to the window); ``None`` and ``()`` when speech detection was off.
    """

    start: float
    end: float
    probabilities: np.ndarray | None
    speech: float | None = None
    speech_intervals: tuple[tuple[float, float], ...] = ()
    inferred: bool = False
    """True when the posterior was not classified but inferred from two agreeing neighbours (adaptive density)."""

    def to_dict(self, labels: tuple[str, ...], top_k: int) -> dict[str, Any]:
        document: dict[str, Any] = {"start": round(self.start, TIME_DECIMALS), "end": round(self.end, TIME_DECIMALS)}
        if self.speech is not None:
            document["speech"] = round(self.speech, 4)
        if self.probabilities is None:
            return {**document, "top": []}
        if self.inferred:
            document["inferred"] = True
        order = np.argsort(-self.probabilities, kind="stable")[:top_k]
        top = [{"language": labels[i], "probability": round(float(self.probabilities[i]), 4)} for i in order]
        return {**document, "top": top}


@dataclass(frozen=True)
class Timeline:
    """Language spans of one audio stream, with everything needed to say how they were made."""

    source: str
    stream: int | None
    duration: float
    model: str
    revision: str | None
    options: dict[str, Any]
    spans: tuple[Span, ...]
    labels: tuple[str, ...] = ()
    windows: tuple[WindowResult, ...] | None = field(default=None, compare=False)
    stats: dict[str, Any] = field(default_factory=dict, compare=False)
    precision: str | None = field(default=None, compare=False)
    """The precision the model really ran in (``int8`` when ``auto`` chose it); None when the classifier does not
    say (a classifier of your own)."""

    def languages(self) -> list[str]:
        """Distinct span languages in order of first appearance."""
        return list(dict.fromkeys(span.language for span in self.spans))

    def speech_seconds(self) -> dict[str, float]:
        """Seconds of each language, leaving out non-speech and unknown spans."""
        totals: dict[str, float] = {}
        for span in self.spans:
            if span.language not in (NONSPEECH, UNKNOWN):
                totals[span.language] = totals.get(span.language, 0.0) + span.duration
        return totals

    def speech_share(self) -> dict[str, float]:
        """Share (0 to 1) of the timeline's duration spoken in each language, leaving out non-speech and unknown
        spans; empty for a timeline without duration."""
        if self.duration <= 0:
            return {}
        return {language: seconds / self.duration for language, seconds in self.speech_seconds().items()}


def options_to_dict(options: Any) -> dict[str, Any]:
    """A JSON-friendly copy of an options dataclass (tuples become lists), without the fields marked
    ``metadata={"echo": False}``: those that cannot change an output (``cache``)."""
    hidden = {item.name for item in fields(options) if item.metadata.get("echo") is False}
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in asdict(options).items()
        if key not in hidden
    }
