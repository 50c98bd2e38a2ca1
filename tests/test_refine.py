import numpy as np
import pytest

from langspan.segmentation.refine import AudioBuffer, BoundaryRefiner, ClassifierProbe, fit_boundary
from langspan.segmentation.segmenter import Boundary
from langspan.timeline import WindowResult

LABELS = ("eng", "deu")


def mixed(start, end, change):
    """Posterior of a window [start, end) whose audio is eng before ``change`` and deu after it."""
    deu = float(np.clip((end - change) / (end - start), 0, 1))
    return np.array([1 - deu, deu])


def boundary_at(time, change, window=2.0):
    left = WindowResult(time - window, time, mixed(time - window, time, change))
    right = WindowResult(time, time + window, mixed(time, time + window, change))
    return Boundary(time, left, right, 0, 1)


class CoverageProbe:
    """A probe whose answers follow how much of each language an interval covers (what a real model does)."""

    def __init__(self, change):
        self.change = change
        self.asked = []

    def __call__(self, intervals):
        self.asked.extend(intervals)
        return np.stack([mixed(a, b, self.change) for a, b in intervals])


@pytest.mark.parametrize("change", [9.1, 9.6, 10.0, 10.35, 10.9])
def test_a_change_inside_the_boundary_region_is_found(change):
    probe = CoverageProbe(change)
    refiner = BoundaryRefiner(probe, window=2.0, probes=3)
    assert refiner(boundary_at(10.0, change)) == pytest.approx(change, abs=0.02)
    assert probe.asked == [(8.5, 10.5), (9.0, 11.0), (9.5, 11.5)]  # evenly inside the window around the edge
    assert refiner.windows_used == 3 and refiner.refined == 1


def test_noisy_probes_still_land_within_half_a_second():
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(200):
        change = rng.uniform(9, 11)

        def noisy(intervals, change=change):
            shares = np.clip([mixed(a, b, change)[1] + rng.normal(0, 0.15) for a, b in intervals], 0, 1)
            return np.stack([[1 - s, s] for s in shares])

        errors.append(abs(BoundaryRefiner(noisy, 2.0, 3)(boundary_at(10.0, change)) - change))
    assert np.median(errors) < 0.25 and np.percentile(errors, 90) < 0.5


def test_probes_are_cut_to_the_audio_and_skipped_when_too_short():
    probe = CoverageProbe(0.6)
    boundary = Boundary(1.0, WindowResult(0, 1.0, mixed(0, 1, 0.6)), WindowResult(1.0, 2.2, mixed(1, 2.2, 0.6)), 0, 1)
    BoundaryRefiner(probe, window=2.0, probes=3)(boundary)
    assert probe.asked == [(0.0, 1.5), (0.0, 2.0), (0.5, 2.2)]  # none before 0 or after the audio seen so far


def test_no_audio_means_no_refinement_and_is_counted():
    refiner = BoundaryRefiner(lambda intervals: None, window=2.0)
    assert refiner(boundary_at(10.0, 9.5)) is None
    assert refiner.unrefined == 1 and refiner.windows_used == 0
    assert BoundaryRefiner(CoverageProbe(9.5), window=2.0, probes=0)(boundary_at(10.0, 9.5)) is None


def test_fit_boundary_prefers_the_middle_of_equally_good_times():
    assert fit_boundary([(0.0, 2.0, 0.0)], 0.0, 4.0) == pytest.approx(3.0, abs=0.01)  # any x ≥ 2 fits: middle


def test_audio_buffer_keeps_recent_samples_only():
    buffer = AudioBuffer(seconds=1.0, sample_rate=100)
    signal = np.arange(10_000, dtype=np.float32)
    for start in range(0, 10_000, 50):  # windows of 100 samples every 50: overlapping
        buffer.add(start, signal[start : start + 100])
        assert len(buffer._samples) <= 2 * 100
    np.testing.assert_array_equal(buffer.get(99.5, 100.0), signal[9950:10000])
    assert buffer.get(0.0, 1.0) is None  # long gone
    np.testing.assert_array_equal(buffer.get(99.9, 101.0), signal[9990:])  # cut at what was seen


def test_classifier_probe_declines_when_any_interval_is_gone():
    buffer = AudioBuffer(seconds=1.0, sample_rate=100)
    buffer.add(0, np.ones(500, np.float32))
    calls = []
    probe = ClassifierProbe(lambda batch: calls.append([len(b) for b in batch]) or np.ones((len(batch), 2)), buffer)
    assert probe([(4.0, 5.0), (4.2, 4.8)]).shape == (2, 2) and calls == [[100, 60]]
    assert probe([(0.0, 1.0)]) is None and len(calls) == 1
