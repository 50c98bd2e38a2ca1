"""Place a change of language more precisely than the window grid, with a few extra windows.

Windows tile the audio without overlap, so a change found between two windows is only known to within a window
(2 s). Overlapping every window would halve that at twice the cost; instead, only where the segmenter decided
that the language changes, ``BoundaryRefiner`` classifies ``probes`` extra windows of the same length, centred
evenly inside the boundary region (for 3 probes and 2 s windows: 0.5 s before, at, and 0.5 s after the window
edge). A window that covers a fraction f of the new language should give it a share p_new / (p_old + p_new)
close to f, so the boundary x is fitted by least squares: each probe — and each of the two neighbouring windows
— over [a, b) predicts the share clip((b - x) / (b - a), 0, 1), and x is searched on a 10 ms grid within one window
of the edge. Several probes average out the noise of any single one.

Audio for the probes comes from ``AudioBuffer``, which keeps only the most recent stretch of the stream (tens of
seconds), so memory does not grow with the input; a boundary decided after its audio has left the buffer keeps
its grid position and is counted as unrefined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .segmenter import Boundary

GRID_STEP = 0.01  # seconds: finer than any model can resolve
# Probes shorter than this share of a window (clipped at the stream start or end) are not worth classifying.
MIN_PROBE_SHARE = 0.5

# Probabilities [n, labels] for n intervals (start, end) in seconds, or None when their audio is not available.
Probe = Callable[[Sequence[tuple[float, float]]], "np.ndarray | None"]


# Probes per change of language: each is one more classified window; three place a change within a fraction of
# the window on the segmenter simulation (docs/benchmarks.md). A model family may choose fewer (ModelInfo).
REFINE_PROBES = 3


class BoundaryRefiner:
    """A ``refine`` callback for ``SmoothingSegmenter``: ``probes`` extra windows per language change."""

    def __init__(self, probe: Probe, window: float, probes: int = REFINE_PROBES) -> None:
        self.probe = probe
        self.window = window
        self.probes = probes
        self.windows_used = 0  # extra classifier windows, for the timeline's stats
        self.refined = 0  # boundaries placed
        self.unrefined = 0  # boundaries whose audio was no longer available

    def __call__(self, boundary: Boundary) -> float | None:
        if self.probes < 1:
            return None
        lo, hi = boundary.left.start, boundary.right.end
        intervals = [(a, b) for a, b in self._probe_intervals(boundary.time, hi) if b - a >= MIN_PROBE_SHARE * self.window]
        probabilities = self.probe(intervals) if intervals else None
        if probabilities is None:
            self.unrefined += 1
            return None
        self.windows_used += len(intervals)
        observed = [(a, b, share(p, boundary)) for (a, b), p in zip(intervals, probabilities, strict=True)]
        for window in (boundary.left, boundary.right):  # the two windows that disagreed are evidence too
            if window.probabilities is not None and abs(window.end - window.start - self.window) < 1e-6:
                observed.append((window.start, window.end, share(window.probabilities, boundary)))
        self.refined += 1
        return fit_boundary(observed, lo, hi)

    def _probe_intervals(self, time: float, audio_end: float) -> list[tuple[float, float]]:
        """Evenly spaced inside the window-wide region around ``time``, cut to [0, audio_end)."""
        half = self.window / 2
        centres = [time - half + self.window * (i + 1) / (self.probes + 1) for i in range(self.probes)]
        return [(max(0.0, c - half), min(c + half, audio_end)) for c in centres]


def share(probabilities: np.ndarray, boundary: Boundary) -> float:
    """How much a window sounds like the right-hand language rather than the left-hand one, in [0, 1]."""
    left, right = float(probabilities[boundary.left_label]), float(probabilities[boundary.right_label])
    return 0.5 if left + right <= 0 else right / (left + right)


def fit_boundary(observed: Sequence[tuple[float, float, float]], lo: float, hi: float) -> float:
    """The change time x in [lo, hi] whose predicted shares clip((b - x) / (b - a), 0, 1) best match the observed
    shares of windows [a, b) (least squares; the middle of the best stretch when several times fit equally)."""
    candidates = np.arange(lo, hi + GRID_STEP / 2, GRID_STEP)
    starts, ends, shares = (np.array(column, dtype=np.float64)[:, None] for column in zip(*observed, strict=True))
    predicted = np.clip((ends - candidates[None, :]) / (ends - starts), 0.0, 1.0)
    error = np.sum((predicted - shares) ** 2, axis=0)
    best = np.flatnonzero(error <= error.min() + 1e-9)
    return float(candidates[best[len(best) // 2]])


class AudioBuffer:
    """The most recent ``seconds`` of a stream's samples, fed window by window (windows may overlap)."""

    def __init__(self, seconds: float, sample_rate: int) -> None:
        self.capacity = max(1, round(seconds * sample_rate))
        self.sample_rate = sample_rate
        self._samples = np.zeros(0, dtype=np.float32)
        self._offset = 0  # stream index of self._samples[0]

    @property
    def end(self) -> int:
        return self._offset + len(self._samples)

    def add(self, start_sample: int, samples: np.ndarray) -> None:
        new = samples[max(0, self.end - start_sample) :]
        self._samples = np.concatenate([self._samples, new])
        # Trim only once the buffer is twice its capacity, so each sample is copied a bounded number of times.
        if len(self._samples) > 2 * self.capacity:
            drop = len(self._samples) - self.capacity
            self._samples, self._offset = self._samples[drop:], self._offset + drop

    def get(self, start: float, end: float) -> np.ndarray | None:
        """Samples of [start, end) seconds (cut at the end of what was seen), or None if they left the buffer."""
        first, last = round(start * self.sample_rate), min(round(end * self.sample_rate), self.end)
        if first < self._offset or last <= first:
            return None
        return self._samples[first - self._offset : last - self._offset]


class ClassifierProbe:
    """A ``Probe`` that classifies buffered audio, with the same language restriction as the main windows."""

    def __init__(self, predict: Callable[[list[np.ndarray]], np.ndarray], buffer: AudioBuffer) -> None:
        self.predict = predict
        self.buffer = buffer

    def __call__(self, intervals: Sequence[tuple[float, float]]) -> np.ndarray | None:
        batch = [self.buffer.get(start, end) for start, end in intervals]
        if any(samples is None for samples in batch):
            return None
        return self.predict(batch)  # type: ignore[arg-type]
