import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import FIXTURES, ROOT
from langspan.frontend import media
from langspan.frontend.vad import (
    FRAME_SAMPLES,
    SpeechDetector,
    _load_network,
    nearest_pause,
    silero_weights_path,
    speech_offset,
    speech_onset,
)

RATE = 16_000
DEMO = FIXTURES / "demo"


@pytest.fixture(scope="module")
def podcast():
    """The demo podcast at 16 kHz and its truth: a 6 s jingle, 0.8 s of silence, then speech from 6.8 s on."""
    samples = np.concatenate(list(media.decode(DEMO / "podcast.mp3")))
    truth = json.loads((DEMO / "podcast.truth.json").read_text())["streams"][0]["spans"]
    return samples, truth


def windows_of(samples, size=2 * RATE, hop=2 * RATE):
    for start in range(0, len(samples), hop):
        yield start, samples[start : start + size]


@pytest.mark.slow
def test_probabilities_match_the_packages_own_model(podcast):
    """Our batched module must give what silero-vad's own (TorchScript) model gives, frame by frame."""
    import torch

    samples = podcast[0][int(4.5 * RATE) : int(8.5 * RATE)]  # the end of the jingle and the first words
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        reference_model = torch.jit.load(str(silero_weights_path()), map_location="cpu").eval()
    frames = samples[: len(samples) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        reference = np.array([float(reference_model(torch.from_numpy(f), RATE)) for f in frames])
        contexts = np.concatenate([np.zeros((1, 64), np.float32), frames[:-1, -64:]])
        ours, _ = _load_network()(torch.from_numpy(np.concatenate([contexts, frames], 1)), None)
    assert reference.max() > 0.9 and reference.min() < 0.1  # the excerpt has both speech and non-speech
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-4)


@pytest.mark.slow
def test_the_jingle_is_not_speech_and_the_talk_is(podcast):
    samples, truth = podcast
    detector = SpeechDetector()
    found = [(start / RATE, detector(start, w)) for start, w in windows_of(samples)]
    for start, speech in found:
        if start + 2 <= truth[0]["end"]:  # windows inside the jingle
            assert speech.fraction < 0.25
        elif any(span["start"] <= start and start + 2 <= span["end"] for span in truth[1:]):
            assert speech.fraction > 0.5  # inside a language segment (short pauses between sentences)
    intervals = [interval for _, speech in found for interval in speech.intervals]
    onset = next(start for start, end in intervals if end > truth[0]["end"])  # (a bell may sound like a syllable)
    assert onset == pytest.approx(truth[1]["start"], abs=0.1)
    offset = intervals[-1][1]
    assert offset == pytest.approx(truth[-1]["end"], abs=0.3)  # the hysteresis holds on a little


@pytest.mark.slow
def test_overlapping_windows_see_the_same_speech(podcast):
    samples = podcast[0][: 30 * RATE]
    tiled = SpeechDetector()
    flat = [interval for start, w in windows_of(samples) for interval in tiled(start, w).intervals]
    overlapping = SpeechDetector()
    seen = [overlapping(start, w) for start, w in windows_of(samples, hop=RATE)]
    assert {round(a, 3) for a, _ in flat} <= {round(a, 3) for found in seen for a, _ in found.intervals}


@pytest.mark.slow
def test_a_batch_of_windows_gives_what_window_by_window_gives(podcast):
    samples = podcast[0][: 30 * RATE]
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_import_and_use_leave_torch_threads_and_silero_vad_alone():
    """silero_vad's own loader calls torch.set_num_threads(1) at import; ours must not change global state."""
    code = (
        "import sys, torch, numpy as np\n"
        "before = torch.get_num_threads()\n"
        "from langspan.frontend.vad import SpeechDetector\n"
        "SpeechDetector()(0, np.zeros(32000, np.float32))\n"
        "assert torch.get_num_threads() == before, (before, torch.get_num_threads())\n"
        "assert 'silero_vad' not in sys.modules\n"
    )
    env = {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-W", "error", "-c", code]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
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
