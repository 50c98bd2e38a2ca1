"""Online Viterbi decoding of window posteriors into one label per window, with a penalty per change of label.

The states are the model's labels; a window's emission score is its log posterior, floored so that one window can
never outweigh more than ``log(1/floor)``; staying costs nothing and changing costs ``switch_penalty``. Windows
without posteriors (non-speech) carry no evidence and are stepped over without a transition, so the label before
a pause competes with the label after it as if the pause were not there.
"""

from __future__ import annotations

import numpy as np

from ..timeline import WindowResult

SILENT = -1  # label of a window without posteriors


class OnlineViterbi:
    """Viterbi decoding with one switch penalty, emitting each window's label as soon as it is final.

    A label is final once the back-pointers of every state lead to the same state (all surviving paths share
    it). If that takes more than ``max_lag`` speech windows, the oldest windows take the labels of the current
    best path and decoding restarts from that decision, so memory and delay stay bounded.
    """

    def __init__(self, switch_penalty: float, max_lag: int, floor: float) -> None:
        self.switch_penalty = switch_penalty
        self.max_lag = max_lag
        self.floor = floor
        self._scores: np.ndarray | None = None  # best path score ending in each state, after the newest window
        self._fixed: int | None = None  # the decided state just before the pending windows
        # Pending windows: (window, emission scores or None for non-speech, back-pointers or None)
        self._pending: list[tuple[WindowResult, np.ndarray | None, np.ndarray | None]] = []

    def push(self, window: WindowResult) -> list[tuple[WindowResult, int]]:
        self._append(window)
        return self._decide()

    def flush(self) -> list[tuple[WindowResult, int]]:
        state = SILENT if self._scores is None else int(np.argmax(self._scores))
        return self._commit(len(self._pending), state)

    def _append(self, window: WindowResult) -> None:
        if window.probabilities is None:
            self._pending.append((window, None, None))
        else:
            emission = np.log(np.maximum(window.probabilities, self.floor))
            self._pending.append((window, emission, self._step(emission)))

    def _step(self, emission: np.ndarray) -> np.ndarray | None:
        if self._scores is None:
            self._scores = emission.copy()
            if self._fixed is not None:  # restarted after a forced decision: paths must continue from it
                self._scores = emission + np.where(np.arange(len(emission)) == self._fixed, 0.0, -self.switch_penalty)
            return None
        best = int(np.argmax(self._scores))
        switch = self._scores[best] - self.switch_penalty
        stay = self._scores >= switch
        pointers = np.where(stay, np.arange(len(emission)), best)
        self._scores = emission + np.where(stay, self._scores, switch)
        self._scores -= self._scores.max()  # keep numbers small over hours of audio
        return pointers

    def _decide(self) -> list[tuple[WindowResult, int]]:
        speech = [i for i, (_, emission, _) in enumerate(self._pending) if emission is not None]
        if not speech:  # only non-speech pending: nothing to wait for
            return self._commit(len(self._pending), SILENT)
        if len(speech) > self.max_lag:
            return self._force(speech[-self.max_lag])  # keep the newest max_lag speech windows pending
        # Follow every state back until the paths meet: from there back, the path is shared and final.
        states = np.arange(len(self._scores))  # type: ignore[arg-type]
        for n in range(len(speech) - 1, -1, -1):
            pointers = self._pending[speech[n]][2]
            if pointers is None:  # the first window after a (re)start: nothing older to agree on
                break
            states = np.unique(pointers[states])
            if len(states) == 1:
                # Paths meet in a window that is either pending (decide up to it) or already decided.
                return self._commit(speech[n], int(states[0]) if n else SILENT)
        # Non-speech windows before the first pending speech window are final whatever comes next.
        return self._commit(speech[0], SILENT)

    def _commit(self, count: int, state: int) -> list[tuple[WindowResult, int]]:
        """Decide the first ``count`` pending windows, the newest speech one among them being in ``state``."""
        path = self._trace(state, count - 1)
        decided = [(window, path.get(i, SILENT)) for i, (window, _, _) in enumerate(self._pending[:count])]
        del self._pending[:count]
        return decided

    def _trace(self, state: int, position: int) -> dict[int, int]:
        """Pending index → state, following back-pointers from ``state`` at the newest speech window at or before
        pending index ``position``."""
        path: dict[int, int] = {}
        for i in range(position, -1, -1):
            _, emission, pointers = self._pending[i]
            if emission is None:
                continue
            path[i] = state
            if pointers is not None:
                state = int(pointers[state])
        return path

    def _force(self, count: int) -> list[tuple[WindowResult, int]]:
        """Decide the first ``count`` pending windows along the current best path, then re-decode the others
        starting from that decision (so later decisions stay consistent with it)."""
        best_path = self._trace(int(np.argmax(self._scores)), len(self._pending) - 1)  # type: ignore[arg-type]
        decided = [(window, best_path.get(i, SILENT)) for i, (window, _, _) in enumerate(self._pending[:count])]
        self._fixed = next(best_path[i] for i in range(count - 1, -1, -1) if i in best_path)
        rest = [window for window, _, _ in self._pending[count:]]
        self._pending, self._scores = [], None
        for window in rest:
            self._append(window)
        return decided
