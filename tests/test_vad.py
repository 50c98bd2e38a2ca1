import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import ROOT
from langspan import media
from langspan.vad import (
    FRAME_SAMPLES,
    SpeechDetector,
    _load_network,
    nearest_pause,
    silero_weights_path,
    speech_offset,
    speech_onset,
)

RATE = 16_000


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """2 s silence, an espeak-ng sentence, 3 s silence: (samples, speech start, speech end) at 16 kHz."""
    wav = tmp_path_factory.mktemp("speech") / "hello.wav"
    text = "Hello, this is a short test of speech detection, spoken by a synthetic voice."
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav), text], check=True)
    voice = np.concatenate(list(media.decode(wav)))
    voiced = np.flatnonzero(np.abs(voice) > 0.01)
    voice = voice[voiced[0] : voiced[-1] + 1]  # espeak pads with silence: keep the truth exact
    samples = np.concatenate([np.zeros(2 * RATE, np.float32), voice, np.zeros(3 * RATE, np.float32)])
    return samples, 2.0, 2.0 + len(voice) / RATE


def windows_of(samples, size=2 * RATE, hop=2 * RATE):
    for start in range(0, len(samples), hop):
        yield start, samples[start : start + size]


def test_probabilities_match_the_packages_own_model(spoken):
    """Our batched module must give what silero-vad's own (TorchScript) model gives, frame by frame."""
    import torch

    samples = spoken[0][: 4 * RATE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        reference_model = torch.jit.load(str(silero_weights_path()), map_location="cpu").eval()
    frames = samples[: len(samples) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        reference = np.array([float(reference_model(torch.from_numpy(f), RATE)) for f in frames])
        contexts = np.concatenate([np.zeros((1, 64), np.float32), frames[:-1, -64:]])
        ours, _ = _load_network()(torch.from_numpy(np.concatenate([contexts, frames], 1)), None)
    assert reference.max() > 0.9 and reference.min() < 0.1  # the excerpt has both speech and silence
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-4)


def test_speech_and_silence_are_told_apart(spoken):
    samples, start, end = spoken
    detector = SpeechDetector()
    results = [(offset / RATE, detector(offset, window)) for offset, window in windows_of(samples)]
    for time, found in results:
        if time + 2 <= start or time >= end:
            assert found.fraction == 0 and found.intervals == ()
        elif start <= time and time + 2 <= end:
            assert found.fraction > 0.6
    intervals = [interval for _, found in results for interval in found.intervals]
    assert intervals[0][0] == pytest.approx(start, abs=0.15)  # onset within a few frames
    assert intervals[-1][1] == pytest.approx(end, abs=0.3)  # offset: the hysteresis holds on a little
    assert all(a < b for a, b in intervals) and intervals == sorted(intervals)


def test_overlapping_windows_see_the_same_speech(spoken):
    samples = spoken[0]
    tiled = SpeechDetector()
    flat = [interval for start, w in windows_of(samples) for interval in tiled(start, w).intervals]
    overlapping = SpeechDetector()
    seen = [overlapping(start, w) for start, w in windows_of(samples, hop=RATE)]
    assert {round(a, 3) for a, _ in flat} <= {round(a, 3) for found in seen for a, _ in found.intervals}


def test_a_batch_of_windows_gives_what_window_by_window_gives(spoken):
    samples = spoken[0]
    one_by_one = SpeechDetector()
    expected = [one_by_one(start, w) for start, w in windows_of(samples)]
    batched, found = SpeechDetector(), []
    windows = list(windows_of(samples))
    for i in range(0, len(windows), 3):
        batch = windows[i : i + 3]
        for start, w in batch:
            batched.add(start, w)
        found += [batched.speech(start, start + len(w)) for start, w in batch]
        batched.forget(batch[-1][0])
    assert [f.intervals for f in found] == [e.intervals for e in expected]
    assert [f.fraction for f in found] == pytest.approx([e.fraction for e in expected], abs=0.02)


def test_memory_does_not_grow_with_the_input():
    detector = SpeechDetector()
    rng = np.random.default_rng(0)
    for start, window in windows_of(rng.normal(0, 0.1, 40 * RATE).astype(np.float32)):
        detector(start, window)
        # Only the frames of the current window (and under one frame of samples) are kept.
        assert len(detector._frame_starts) <= 2 * RATE // FRAME_SAMPLES + 1
        assert sum(len(part) for part in detector._unframed) < FRAME_SAMPLES


def test_the_last_partial_frame_takes_the_last_decision():
    detector = SpeechDetector()
    found = detector(0, np.zeros(1000, np.float32))  # one whole frame and 488 samples
    assert found.fraction == 0.0
    assert detector(1000, np.zeros(100, np.float32)).fraction == 0.0


def test_import_and_use_leave_torch_threads_and_silero_vad_alone():
    """silero_vad's own loader calls torch.set_num_threads(1) at import; ours must not change global state."""
    code = (
        "import sys, torch, numpy as np\n"
        "before = torch.get_num_threads()\n"
        "from langspan.vad import SpeechDetector\n"
        "SpeechDetector()(0, np.zeros(32000, np.float32))\n"
        "assert torch.get_num_threads() == before, (before, torch.get_num_threads())\n"
        "assert 'silero_vad' not in sys.modules\n"
    )
    env = {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_onset_and_offset_follow_speech_across_the_window_edge():
    # Speech runs from 3.4 s in the rejected window [2, 4) into the next one, and stops at 9.1 s.
    intervals = [(3.4, 4.0), (4.0, 5.0), (5.5, 6.0)]
    assert speech_onset(intervals, boundary=4.0, limit=2.0) == 3.4
    assert speech_onset(intervals, boundary=4.0, limit=3.6) == 3.6  # never before the limit
    assert speech_onset([(4.5, 5.0)], boundary=4.0, limit=2.0) == 4.5
    assert speech_onset([], boundary=4.0, limit=2.0) is None
    assert speech_offset([(8.0, 9.1)], boundary=10.0, limit=12.0) == 9.1
    assert speech_offset([(8.0, 10.0), (10.0, 10.3)], boundary=10.0, limit=12.0) == 10.3
    assert speech_offset([(8.0, 10.0), (10.0, 11.8)], boundary=10.0, limit=11.0) == 11.0


def test_nearest_pause_is_the_middle_of_the_closest_long_enough_gap():
    speech = [(0.0, 1.0), (1.05, 2.0), (2.4, 3.0), (3.0, 3.5), (4.5, 5.0)]
    assert nearest_pause(speech, 2.1, tolerance=0.5, min_pause=0.15) == pytest.approx(2.2)
    assert nearest_pause(speech, 1.0, tolerance=0.5, min_pause=0.15) is None  # 50 ms is inside a word
    assert nearest_pause(speech, 3.4, tolerance=0.5, min_pause=0.15) == pytest.approx(4.0)  # 3.0 is no gap
    assert nearest_pause(speech, 3.4, tolerance=0.05, min_pause=0.15) is None
