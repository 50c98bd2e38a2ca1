import itertools

import numpy as np
import pytest

from conftest import MEDIA, ScriptedClassifier, ffmpeg_path, one_hot
from langspan import DetectOptions, detect
from langspan.errors import MediaError, UsageError

LABELS = ("eng", "deu")


def loudness_classifier():
    """'eng' for loud windows, 'deu' for quiet ones: lets a test script the language sequence with amplitude."""
    return ScriptedClassifier(LABELS, lambda s: one_hot(LABELS, "eng" if np.abs(s).max() > 0.3 else "deu"))


def assert_valid_spans(timeline):
    spans = timeline.spans
    assert list(spans) == sorted(spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert all(0 <= s.start <= s.end <= timeline.duration + 1e-9 for s in spans)


@pytest.mark.slow
def test_every_audio_stream_gets_a_timeline(tiny_classifier):
    timelines = detect(MEDIA / "two_tracks.mkv", classifier=tiny_classifier)
    assert [t.stream for t in timelines] == [1, 2]
    for timeline in timelines:
        assert timeline.duration == pytest.approx(4.0, abs=0.05)
        assert timeline.model.endswith("tiny-lid")
        assert timeline.spans[0].start == 0 and timeline.spans[-1].end == pytest.approx(timeline.duration)
        assert_valid_spans(timeline)


@pytest.mark.slow
def test_same_input_twice_gives_identical_output(tiny_classifier):
    first = detect(MEDIA / "chirp.mp3", classifier=tiny_classifier)
    second = detect(MEDIA / "chirp.mp3", classifier=tiny_classifier)
    assert first == second


def test_language_changes_become_span_boundaries():
    rate = 16_000
    loud, quiet = np.full(4 * rate, 0.5, np.float32), np.full(6 * rate, 0.1, np.float32)
    # Constant signals are not speech, and probes would see the scripted "languages" mixed: both off here.
    signal = np.concatenate([loud, quiet, loud])
    (timeline,) = detect(signal, sample_rate=rate, classifier=loudness_classifier(), vad=False, refine_probes=0)
    assert [(s.start, s.end, s.language) for s in timeline.spans] == [(0, 4, "eng"), (4, 10, "deu"), (10, 14, "eng")]
    assert timeline.source == "<array>" and timeline.stream is None


def test_windows_are_batched_by_equal_length(tiny_classifier):
    classifier = loudness_classifier()
    zeros = np.zeros(16_000 * 21, np.float32)
    detect(zeros, sample_rate=16_000, classifier=classifier, batch_size=4, vad=False, density="dense")
    # Ten full windows in batches of 4, then the 1 s last window alone: full windows are never padded.
    assert classifier.calls == [4, 4, 2, 1]
    auto = loudness_classifier()
    detect(zeros, sample_rate=16_000, classifier=auto, batch_size=4, vad=False)
    # Adaptive density: the grid of each block of 8 (windows 0, 2, 4, 6, 7) is one model call, the last window alone.
    assert auto.calls[0] <= 4 and auto.calls[-1] == 1 and sum(auto.calls) < 11


@pytest.mark.slow
def test_arrays_at_other_rates_are_resampled():
    (timeline,) = detect(np.zeros((44_100 * 3, 2), np.float32), sample_rate=44_100, classifier=loudness_classifier())
    assert timeline.duration == pytest.approx(3.0, abs=0.01)


@pytest.mark.slow
def test_pydub_audio_segments_are_accepted():
    from pydub import AudioSegment

    segment = AudioSegment.silent(duration=2500, frame_rate=22_050)
    (timeline,) = detect(segment, classifier=loudness_classifier())
    assert timeline.source == "<AudioSegment>"
    assert timeline.duration == pytest.approx(2.5, abs=0.01)


@pytest.mark.slow
def test_stream_selection_and_its_errors(tiny_classifier):
    timelines = detect(MEDIA / "two_tracks.mkv", classifier=tiny_classifier, streams=(2,))
    assert [t.stream for t in timelines] == [2]
    with pytest.raises(MediaError, match="stream 0 is not an audio stream"):
        detect(MEDIA / "two_tracks.mkv", classifier=tiny_classifier, streams=(0,))


def test_video_without_audio_is_a_media_error(tiny_classifier):
    with pytest.raises(MediaError, match="no audio stream"):
        detect(MEDIA / "video_only.mp4", classifier=tiny_classifier)


def test_empty_audio_gives_an_empty_timeline():
    (timeline,) = detect(np.zeros(0, np.float32), sample_rate=16_000, classifier=loudness_classifier())
    assert timeline.spans == () and timeline.duration == 0


def test_options_are_echoed_into_the_timeline():
    (timeline,) = detect(np.zeros(32_000, np.float32), sample_rate=16_000, classifier=loudness_classifier(), top_k=2)
    assert timeline.options["top_k"] == 2 and timeline.options["window"] == 2.0


def test_bad_options_and_sources_are_usage_errors():
    with pytest.raises(UsageError):
        DetectOptions(batch_size=0)
    with pytest.raises(UsageError, match="sample_rate"):
        detect(np.zeros(10), classifier=loudness_classifier())
    with pytest.raises(UsageError, match="cannot detect languages in a dict"):
        detect({}, classifier=loudness_classifier())


def _traced_peak_of_detect(path, classifier) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        detect(path, classifier=classifier, vad=False)  # every window through the classifier
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_input_length(tmp_path, tiny_classifier):
    import subprocess

    def tone(seconds):
        path = tmp_path / f"tone{seconds}.flac"
        source = f"sine=frequency=300:duration={seconds}:sample_rate=16000"
        subprocess.run([ffmpeg_path(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source, str(path)], check=True)
        return path

    # Both inputs are long enough to fill the boundary-refinement buffer (bounded by design: up to twice its ~180 s
    # with --density auto's blocks of 64 windows before it is trimmed), so the difference between them is what
    # grows with length.
    short = _traced_peak_of_detect(tone(480), tiny_classifier)
    long = _traced_peak_of_detect(tone(1200), tiny_classifier)
    # 720 s more audio is 46 MB of float32 samples: streaming keeps the peak flat; only the per-window results
    # (a few hundred bytes each) grow with length.
    assert long - short < 3 * 2**20
    assert long < 64 * 2**20  # the refinement buffer (2 x 180 s, 23 MB, plus its copy while trimming), one block
