import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langspan.errors import UsageError
from langspan.frontend.windows import WindowSpec, iter_windows

RATE = 16_000


def chunks_of(signal: np.ndarray, sizes: list[int]):
    position = 0
    for size in sizes:
        yield signal[position : position + size]
        position += size
    yield signal[position:]


def test_tiles_without_overlap_and_keeps_a_short_last_window():
    signal = np.arange(5 * RATE, dtype=np.float32)
    windows = list(iter_windows([signal], WindowSpec(window=2.0)))
    assert [(w.start_sample, w.end_sample) for w in windows] == [(0, 32000), (32000, 64000), (64000, 80000)]
    assert [(w.tile_start, w.tile_end) for w in windows] == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.0)]
    assert np.array_equal(windows[2].samples, signal[64000:])


def test_last_window_below_minimum_is_dropped():
    signal = np.zeros(int(4.3 * RATE), dtype=np.float32)
    windows = list(iter_windows([signal], WindowSpec(window=2.0, min_window=0.5)))
    assert [w.end_sample for w in windows] == [32000, 64000]


def test_audio_shorter_than_minimum_gives_no_window():
    assert list(iter_windows([np.zeros(100, dtype=np.float32)], WindowSpec())) == []


def test_overlapping_windows_speak_for_their_centre_hop():
    signal = np.zeros(6 * RATE, dtype=np.float32)
    windows = list(iter_windows([signal], WindowSpec(window=2.0, hop=1.0)))
    assert [w.start_sample // RATE for w in windows] == [0, 1, 2, 3, 4, 5]
    tiles = [(w.tile_start, w.tile_end) for w in windows]
    assert tiles[:3] == [(0.0, 1.5), (1.5, 2.5), (2.5, 3.5)]
    assert tiles[-1] == (5.5, 6.0)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tiles))


def test_nan_and_inf_never_reach_the_model():
    signal = np.array([np.nan, np.inf, -np.inf] * RATE, dtype=np.float32)
    (window,) = iter_windows([signal], WindowSpec(window=3.0))
    assert np.isfinite(window.samples).all()


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"window": 2, "hop": 3}, {"window": 2, "hop": 0}, {"min_window": 5}])
def test_invalid_geometry_is_a_usage_error(kwargs):
    with pytest.raises(UsageError):
        WindowSpec(**kwargs)


@settings(max_examples=50, deadline=None)
@given(
    length=st.integers(0, 7 * RATE),
    sizes=st.lists(st.integers(1, 3 * RATE), max_size=8),
    hop=st.sampled_from([None, 1.0, 0.5]),
)
def test_chunking_never_changes_the_windows(length, sizes, hop):
    signal = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    spec = WindowSpec(window=2.0, hop=hop)
    whole = list(iter_windows([signal], spec))
    pieces = list(iter_windows(chunks_of(signal, sizes), spec))
    assert [(w.start_sample, w.end_sample) for w in pieces] == [(w.start_sample, w.end_sample) for w in whole]
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(pieces, whole, strict=True))
    assert all(np.array_equal(w.samples, signal[w.start_sample : w.end_sample]) for w in whole)
