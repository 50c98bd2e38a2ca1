"""Probe clips decoded in the background as far as asked (frontend/probes.py), and the scan that uses them."""

import threading
import time

import numpy as np
import pytest

from conftest import ScriptedClassifier, one_hot
from langspan import scan
from langspan.engine import sparse
from langspan.frontend.probes import ProbeClips
from langspan.models.base import ModelInfo
from test_scan import LABELS, loudness_classifier, make_track


class CountingDecoder:
    def __init__(self, fail_at: float | None = None) -> None:
        self.starts: list[float] = []
        self.fail_at = fail_at

    def __call__(self, start: float) -> np.ndarray:
        if start == self.fail_at:
            raise RuntimeError(f"cannot decode at {start}")
        self.starts.append(start)
        return np.full(4, start, dtype=np.float32)


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_clips_come_in_order_and_only_as_far_as_asked():
    decoder = CountingDecoder()
    clips = ProbeClips(decoder, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], ask=2)
    try:
        assert wait_until(lambda: len(decoder.starts) == 2)
        time.sleep(0.2)  # a thread decoding ahead regardless of asks would have gone on by now
        assert decoder.starts == [0.0, 1.0]
        assert [clip[0] for clip in clips.take(3)] == [0.0, 1.0, 2.0]  # take asks for what it lacks
        clips.ask(1)
        assert wait_until(lambda: len(decoder.starts) == 4)
        time.sleep(0.2)
        assert decoder.starts == [0.0, 1.0, 2.0, 3.0]
        assert [clip[0] for clip in clips.take(5)] == [3.0, 4.0, 5.0]  # fewer at the end of the starts
        assert clips.take(2) == []
    finally:
        clips.close()


def test_a_decoding_error_is_raised_where_that_clip_is_taken():
    clips = ProbeClips(CountingDecoder(fail_at=2.0), [0.0, 1.0, 2.0, 3.0], ask=4)
    try:
        assert [clip[0] for clip in clips.take(2)] == [0.0, 1.0]
        with pytest.raises(RuntimeError, match="cannot decode at 2.0"):
            clips.take(1)
    finally:
        clips.close()


def test_close_stops_the_thread_while_it_waits_for_asks():
    clips = ProbeClips(CountingDecoder(), [0.0, 1.0], ask=0)
    clips.close()
    assert not any(thread.name == "langspan-probes" and thread.is_alive() for thread in threading.enumerate())


@pytest.mark.slow
def test_the_first_probes_decode_while_the_model_loads(tmp_path, monkeypatch):
    track = make_track(tmp_path / "eng.flac", 120, "gt(t\\,0)")  # all 'eng' to the scripted model
    decoded = []
    real_decode_clip = sparse.media.decode_clip
    monkeypatch.setattr(sparse, "read_info", lambda model, revision: ModelInfo("scripted", model, None, LABELS))

    def counting_decode_clip(*args, **kwargs):
        clip = real_decode_clip(*args, **kwargs)
        decoded.append(clip)
        return clip

    monkeypatch.setattr(sparse.media, "decode_clip", counting_decode_clip)
    at_load = []

    def slow_load():
        # A loading model takes seconds; the first batch's clips must be decoding meanwhile, not after it.
        wait_until(lambda: len(decoded) >= 8)
        at_load.append(len(decoded))
        return loudness_classifier()

    (result,) = scan(track, classifier=slow_load, min_probes=8, max_probes=32, vad=False)
    assert at_load == [8]
    assert result.language == "eng" and result.windows == 8


@pytest.mark.slow
def test_probes_restart_when_a_factorys_model_wants_other_windows(tmp_path):
    track = make_track(tmp_path / "eng.flac", 200, "gt(t\\,0)")

    class FourSecondModel(ScriptedClassifier):
        info = ModelInfo("scripted", "four", None, LABELS, window=4.0)

    model = FourSecondModel(LABELS, lambda samples: one_hot(LABELS, "eng") if len(samples) == 64_000 else None)
    # options.model is the default hub model, unknown offline: the window is only known once the factory has run.
    (result,) = scan(track, classifier=lambda: model, min_probes=8, max_probes=16, vad=False)
    assert result.language == "eng" and result.evidence_seconds == pytest.approx(8 * 4.0)


@pytest.mark.slow
def test_the_streams_probes_go_to_the_model_together(tmp_path):
    import subprocess

    from conftest import ffmpeg_path

    # Two streams like test_scan's mostly-'eng' track: each needs 8 probes, then 2 more (probe 8 hears 'deu').
    source = "aevalsrc=if(gt(t\\,10)\\,0.5\\,0.1)*sin(2*PI*440*t):d=120:s=16000"
    movie = tmp_path / "two.mkv"
    subprocess.run(
        [ffmpeg_path(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source, "-f", "lavfi", "-i", source,
         "-map", "0", "-map", "1", "-c:a", "flac", str(movie)],
        check=True,
    )  # fmt: skip
    classifier = loudness_classifier()
    results = scan(movie, classifier=classifier, min_probes=8, max_probes=32, vad=False, batch_size=8)
    assert [dict(r.votes) for r in results] == [{"eng": 9, "deu": 1}] * 2
    assert classifier.calls == [8, 8, 4]  # one call for both streams' last 2 probes each, not two calls of 2
