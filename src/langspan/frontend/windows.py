"""Cut a stream of 16 kHz sample chunks into fixed windows, with exact sample bookkeeping.

Windows start every ``hop`` seconds and last ``window`` seconds; the default tiles the audio without overlap
(hop == window) because overlapping every window doubles the model cost for little gain. The last window may be
shorter: it is classified as it is (the classifier pads it and masks the padding) unless it is shorter than
``min_window`` seconds, in which case it is dropped — under half a second a language guess is noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError


@dataclass(frozen=True)
class WindowSpec:
    """Window geometry in seconds, converted to whole samples once."""

    window: float = 2.0
    hop: float | None = None
    min_window: float = 0.5
    sample_rate: int = 16_000

    def __post_init__(self) -> None:
        if not self.window > 0:
            raise UsageError(f"--window must be positive, got {self.window}")
        if self.hop is not None and not 0 < self.hop <= self.window:
            raise UsageError(f"--hop must be in (0, window], got {self.hop}")
        if not 0 <= self.min_window <= self.window:
            raise UsageError(f"--min-window must be in [0, window], got {self.min_window}")

    @property
    def window_samples(self) -> int:
        return round(self.window * self.sample_rate)

    @property
    def hop_samples(self) -> int:
        return round((self.hop or self.window) * self.sample_rate)

    @property
    def min_samples(self) -> int:
        return max(1, round(self.min_window * self.sample_rate))

    def seconds(self, samples: float) -> float:
        # Fractional sample positions too: an overlapping window's tile edge lies half the overlap inside it.
        return samples / self.sample_rate


@dataclass(frozen=True)
class Window:
    """Samples [start, end) of the stream, and the interval of the timeline this window speaks for.

    Without overlap the two are the same. With overlap each window speaks for the ``hop``-long stretch around its
    centre, so neighbouring windows tile the timeline instead of claiming the same seconds twice.
    """

    index: int
    start_sample: int
    end_sample: int
    samples: np.ndarray
    tile_start: float
    tile_end: float


def iter_windows(chunks: Iterable[np.ndarray], spec: WindowSpec) -> Iterator[Window]:
    """Windows over a stream of chunks; holds at most one window plus one chunk of samples in memory."""
    buffer = np.zeros(0, dtype=np.float32)
    buffer_offset = 0  # stream sample index of buffer[0]
    next_start = 0
    index = 0
    size, hop = spec.window_samples, spec.hop_samples
    for chunk in chunks:
        # Decoders can emit NaN/Inf from broken float streams; the model must never see them.
        buffer = np.concatenate([buffer, np.nan_to_num(chunk, nan=0.0, posinf=1.0, neginf=-1.0)])
        while next_start + size <= buffer_offset + len(buffer):
            local = next_start - buffer_offset
            yield _make_window(index, next_start, buffer[local : local + size].copy(), spec, last=False)
            index += 1
            next_start += hop
        drop = next_start - buffer_offset
        if drop > 0:
            buffer, buffer_offset = buffer[drop:], next_start
    # At most one shorter last window: any later start would only see a subset of the same samples.
    tail = buffer[next_start - buffer_offset :]
    if len(tail) >= spec.min_samples:
        yield _make_window(index, next_start, tail.copy(), spec, last=True)


def _make_window(index: int, start: int, samples: np.ndarray, spec: WindowSpec, last: bool) -> Window:
    end = start + len(samples)
    margin = (spec.window_samples - spec.hop_samples) / 2
    tile_start = 0.0 if index == 0 else spec.seconds(start + margin)
    tile_end = spec.seconds(end) if last else spec.seconds(start + margin + spec.hop_samples)
    return Window(index, start, end, samples, tile_start, tile_end)
