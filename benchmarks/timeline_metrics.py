"""Timeline metrics against a known truth, on a 0.1 s grid: per-second language accuracy, spurious spans per
minute, boundary errors. Used by benchmarks/whisper_windows.py.

* accuracy: the share of speech time (truth is a language) where the timeline names that language; ``nonspeech``
  or ``und`` over speech counts as wrong.
* spurious spans per minute: language spans whose language is not the truth's majority language under them.
* boundary error: for each change of language in the truth (direct or across a pause), the distance from the
  new language's first speech to the nearest start of a span of that language; none within ``MISS`` seconds
  counts as ``MISS`` (and as a miss).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

STEP = 0.1
MISS = 10.0
NOT_LANGUAGES = ("nonspeech", "und")


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    label: str  # an ISO 639-3 code, or "nonspeech"


def grid(segments: list[Segment], duration: float) -> np.ndarray:
    labels = np.full(round(duration / STEP), "nonspeech", dtype=object)
    for segment in segments:
        labels[round(segment.start / STEP) : round(segment.end / STEP)] = segment.label
    return labels


def scores(truth: list[Segment], spans: list[Segment], duration: float) -> dict[str, float]:
    want, got = grid(truth, duration), grid(spans, duration)
    speech = np.array([label not in NOT_LANGUAGES for label in want])
    accuracy = float(np.mean(want[speech] == got[speech])) if speech.any() else float("nan")
    errors, misses = boundary_errors(truth, spans)
    return {
        "accuracy": accuracy,
        "spurious_per_min": spurious(want, spans) / (duration / 60),
        "boundary_median": float(np.median(errors)) if errors else float("nan"),
        "boundary_p90": float(np.percentile(errors, 90)) if errors else float("nan"),
        "boundary_misses": misses,
        "changes": len(errors),
    }


def spurious(want: np.ndarray, spans: list[Segment]) -> int:
    count = 0
    for span in spans:
        if span.label in NOT_LANGUAGES:
            continue
        under = [label for label in want[round(span.start / STEP) : round(span.end / STEP)]]
        languages = Counter(label for label in under if label not in NOT_LANGUAGES)
        if not languages or languages.most_common(1)[0][0] != span.label:
            count += 1
    return count


def boundary_errors(truth: list[Segment], spans: list[Segment]) -> tuple[list[float], int]:
    speech = [segment for segment in truth if segment.label not in NOT_LANGUAGES]
    starts: dict[str, list[float]] = {}
    for span in spans:
        starts.setdefault(span.label, []).append(span.start)
    errors, misses = [], 0
    for before, after in pairwise(speech):
        if before.label == after.label:
            continue
        candidates = [abs(start - after.start) for start in starts.get(after.label, [])]
        error = min(candidates, default=MISS)
        if error >= MISS:
            misses += 1
        errors.append(min(error, MISS))
    return errors, misses


def merge(labels: list[tuple[float, float, str]]) -> list[Segment]:
    """Consecutive equal labels → one segment each (the naive merge)."""
    out: list[Segment] = []
    for start, end, label in labels:
        if out and out[-1].label == label and abs(out[-1].end - start) < 1e-6:
            out[-1] = Segment(out[-1].start, end, label)
        else:
            out.append(Segment(start, end, label))
    return out
