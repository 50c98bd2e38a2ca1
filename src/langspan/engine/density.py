"""Adaptive window density: classify a sparse grid of windows, then only the windows in between that could matter.

The segmenter gives any language span shorter than ``min_span`` to a neighbour. So when two classified windows
less than ``min_span`` apart agree — the same most probable language, each at least ``agree`` sure — the windows
between them cannot become a span of their own: whatever they would say, the segmenter's languages stay the same.
Those windows are *inferred* (the mean of their two neighbours' posteriors, marked ``inferred`` in the window
results) instead of classified. Everywhere else every window is classified, as in a dense pass:

- anchors: the first and last window of every run of speech windows (speech resuming after a pause is always
  looked at), and every ``stride``-th window in between, where ``stride`` is the largest step whose gap is still
  shorter than ``min_span`` (2 s windows, 3 s min span: every second window);
- the windows between two anchors are inferred only when the anchors agree and so does a third anchor next to them
  (the one before or the one after); otherwise they are classified. Two agreeing anchors alone are not enough: in
  a burst of errors both can be wrong the same way while the window between them is right, and that one window
  is what keeps the segmenter from making a span of the error (measured: benchmarks/density_sim.py).

It works block by block (a block is ``stride`` model batches of windows), carrying only the last window's posterior
to the next block: the look-ahead is one block, memory stays flat and spans are final as early as in a dense pass.
With ``stride`` 1 (``--density dense``, or a ``min_span`` no longer than the hop) every speech window is classified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

# How sure both neighbours must be for the windows between them to be inferred rather than classified. Chosen on the
# segmenter simulation (benchmarks/density_sim.py, docs/benchmarks.md): below it the saving grows but so does the
# error; above it almost nothing is saved.
AGREEMENT = 0.7

# (positions in the block to classify) → posteriors, one row per position
Predict = Callable[[list[int]], np.ndarray]


def grid_stride(min_span: float, hop: float) -> int:
    """The largest stride whose skipped stretch ((stride - 1) hops) is still shorter than ``min_span``."""
    if hop <= 0:
        return 1
    return max(1, math.ceil(min_span / hop - 1e-9))


class AdaptiveDensity:
    """Posteriors for the speech windows of consecutive blocks of one stream, classifying as few as is safe."""

    def __init__(self, stride: int, agreement: float = AGREEMENT) -> None:
        self.stride = max(1, stride)
        self.agreement = agreement
        self.carried: np.ndarray | None = None  # the previous block's last window, when it was speech
        self.carried_agreed = False  # whether that window agreed with the anchor before it

    def __call__(self, speech: Sequence[bool], predict: Predict) -> tuple[dict[int, np.ndarray], set[int]]:
        """({position: posterior} for every speech window of the block, positions that were inferred)."""
        posteriors: dict[int, np.ndarray] = {}
        runs: list[list[int]] = []  # the anchors of each run, the carried window first when a run continues it
        for first, last in _runs(speech):
            continued = first == 0 and self.carried is not None
            runs.append(([-1] if continued else []) + _anchors(first, last, self.stride, continued))
        if self.carried is not None:
            posteriors[-1] = self.carried
        posteriors.update(_classify([a for anchors in runs for a in anchors if a >= 0], predict))
        inferred: set[int] = set()
        refill: list[int] = []
        carried_agreed = False
        for anchors in runs:
            agreed = [self._agree(posteriors[a], posteriors[b]) for a, b in pairwise(anchors)]
            for j, (a, b) in enumerate(pairwise(anchors)):
                if b - a < 2:
                    continue
                before = self.carried_agreed if a == -1 else (j > 0 and agreed[j - 1])
                after = j + 1 < len(agreed) and agreed[j + 1]
                if agreed[j] and (before or after):
                    middle = (posteriors[a] + posteriors[b]) / 2
                    posteriors.update((i, middle) for i in range(a + 1, b))
                    inferred.update(range(a + 1, b))
                else:
                    refill += range(a + 1, b)
            if anchors and anchors[-1] == len(speech) - 1:
                carried_agreed = bool(agreed) and agreed[-1]
        posteriors.update(_classify(refill, predict))
        posteriors.pop(-1, None)
        self.carried = posteriors.get(len(speech) - 1) if speech and speech[-1] else None
        self.carried_agreed = carried_agreed and self.carried is not None
        return posteriors, inferred

    def _agree(self, left: np.ndarray, right: np.ndarray) -> bool:
        best = int(np.argmax(left))
        return best == int(np.argmax(right)) and min(left[best], right[best]) >= self.agreement


def _runs(speech: Sequence[bool]) -> list[tuple[int, int]]:
    """(first, last) position of each run of consecutive speech windows."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, is_speech in enumerate([*speech, False]):
        if is_speech and start is None:
            start = i
        elif not is_speech and start is not None:
            runs.append((start, i - 1))
            start = None
    return runs


def _anchors(first: int, last: int, stride: int, continued: bool) -> list[int]:
    """The grid of a run: every ``stride``-th window from its start (from the carried window before the block when
    the run continues one), always including the run's last window, and its first unless it continues a run."""
    origin = first - 1 if continued else first
    grid = list(range(origin + stride, last + 1, stride)) if continued else list(range(first, last + 1, stride))
    if not grid or grid[-1] != last:
        grid.append(last)
    return grid


def _classify(positions: list[int], predict: Predict) -> dict[int, np.ndarray]:
    if not positions:
        return {}
    return dict(zip(positions, predict(positions), strict=True))
