import numpy as np

from langspan.languages import NONSPEECH
from langspan.segmenter import MergeSegmenter
from langspan.timeline import WindowResult

LABELS = ("eng", "deu", "fra")


def result(start, label_probs):
    return WindowResult(start, start + 2.0, None if label_probs is None else np.array(label_probs, dtype=np.float32))


def test_consecutive_windows_with_the_same_label_merge():
    windows = [
        result(0, [0.8, 0.1, 0.1]),
        result(2, [0.6, 0.3, 0.1]),
        result(4, [0.1, 0.7, 0.2]),
        result(6, None),
        result(8, [0.5, 0.2, 0.3]),
    ]
    spans = MergeSegmenter(top_k=2)(windows, LABELS)
    assert [(s.start, s.end, s.language) for s in spans] == [
        (0, 4, "eng"),
        (4, 6, "deu"),
        (6, 8, NONSPEECH),
        (8, 10, "eng"),
    ]
    assert np.isclose(spans[0].confidence, 0.7)
    assert [a.language for a in spans[0].alternatives] == ["eng", "deu"]
    assert np.isclose(spans[0].alternatives[1].probability, 0.2)


def test_no_windows_no_spans():
    assert MergeSegmenter()([], LABELS) == []
