"""Probe clips of one audio stream, decoded in a background thread as far as the scan has asked, in order.

The sparse scan (engine/sparse.py) decides after every batch how many more probes it needs, often one to three,
so a fixed read-ahead (frontend/prefetch.py) either starves the model or decodes clips that a stop throws away,
each an ffmpeg process competing with the model for the cores. Here the scan asks for clips ahead of taking them:
the first ``min_probes`` of every stream at once, before the model has loaded (they decode while its weights
load and while the previous stream's probes are classified), then a few beyond each batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np


class ProbeClips:
    """The clips ``decode(start)`` for ``starts``, in order; ``ask`` says how far ahead to decode, ``take`` waits."""

    def __init__(self, decode: Callable[[float], np.ndarray], starts: Sequence[float], ask: int = 0) -> None:
        self._decode, self._starts = decode, list(starts)
        self._ready: list[np.ndarray] = []  # decoded, not yet taken
        self._asked = self._taken = self._decoded = 0
        self._error: BaseException | None = None
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._produce, name="langspan-probes", daemon=True)
        self._thread.start()
        self.ask(ask)

    def ask(self, count: int) -> None:
        """Have the next ``count`` clips after those taken decoded (or decoding) in the background."""
        with self._changed:
            self._asked = min(len(self._starts), max(self._asked, self._taken + count))
            self._changed.notify_all()

    def take(self, count: int) -> list[np.ndarray]:
        """The next ``count`` clips (fewer at the end of ``starts``), waiting for their decoding."""
        self.ask(count)
        with self._changed:
            wanted = min(count, len(self._starts) - self._taken)
            self._changed.wait_for(lambda: len(self._ready) >= wanted or self._error is not None)
            if len(self._ready) < wanted and self._error is not None:  # the clips before the failed one come first
                raise self._error
            batch, self._ready = self._ready[:wanted], self._ready[wanted:]
            self._taken += len(batch)
            return batch

    def close(self) -> None:
        """Stop decoding (a clip being decoded is finished first) and wait for the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()

    def _produce(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closed or self._decoded < self._asked)
                if self._closed:
                    return
                start = self._starts[self._decoded]
            try:
                clip = self._decode(start)
            except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it in take()
                with self._changed:
                    self._error = error
                    self._changed.notify_all()
                return
            with self._changed:
                self._decoded += 1
                self._ready.append(clip)
                self._changed.notify_all()
