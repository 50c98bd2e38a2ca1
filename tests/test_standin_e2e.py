"""End to end with the trained stand-in model on the demo media: real decoding, real inference, ground truth."""

import json

import pytest

from conftest import FIXTURES
from langspan import detect
from langspan.models.wav2vec2 import HFClassifier

# The stand-in checkpoint over the demo media: seconds per file.
pytestmark = pytest.mark.slow

DEMO = FIXTURES / "demo"


@pytest.fixture(scope="module")
def standin():
    return HFClassifier(str(FIXTURES / "standin-lid"), device="cpu")


def truth(name):
    return {stream["index"]: stream for stream in json.loads((DEMO / name).read_text())["streams"]}


@pytest.mark.parametrize(
    ("media", "truth_file"),
    [("tracks.mkv", "tracks.truth.json"), ("tracks_untagged.mkv", "tracks_untagged.truth.json"),
     ("tracks.mp4", "tracks_mp4.truth.json"), ("single.mp4", "single.truth.json")],
)  # fmt: skip
def test_each_track_comes_out_in_its_language(standin, media, truth_file):
    expected = truth(truth_file)
    timelines = detect(DEMO / media, classifier=standin)
    assert [t.stream for t in timelines] == list(expected)
    for timeline in timelines:
        (language,) = {span["language"] for span in expected[timeline.stream]["spans"]}
        share = timeline.speech_share()
        assert max(share, key=share.get) == language
        assert share[language] >= 0.8 * sum(share.values())
        assert timeline.duration == pytest.approx(expected[timeline.stream]["duration"], abs=0.1)


def test_podcast_speech_windows_follow_the_truth(standin):
    """Every window lying inside a truth span gets that span's language (the model card's demo accuracy)."""
    (stream,) = truth("podcast.truth.json").values()
    (timeline,) = detect(DEMO / "podcast.mp3", classifier=standin, include_windows=True, vad=False)
    inside = [
        (window, span["language"])
        for window in timeline.windows
        for span in stream["spans"]
        if span["language"] != "nonspeech" and span["start"] <= window.start and window.end <= span["end"]
    ]
    assert len(inside) >= 30
    wrong = [(w.start, lang) for w, lang in inside if timeline.labels[int(w.probabilities.argmax())] != lang]
    assert wrong == []
