import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from langspan.segmentation.decoder import SILENT, OnlineViterbi
from langspan.segmentation.segmenter import SmoothingSegmenter
from test_segmenter import LABELS, build, result, window_lists


def offline_viterbi(emissions, penalty):
    """Textbook Viterbi over the whole sequence at once (same scores and tie rule as the online decoder)."""
    scores, pointers = emissions[0].copy(), []
    for emission in emissions[1:]:
        best = int(np.argmax(scores))
        stay = scores >= scores[best] - penalty
        pointers.append(np.where(stay, np.arange(len(scores)), best))
        scores = emission + np.where(stay, scores, scores[best] - penalty)
        scores -= scores.max()
    path = [int(np.argmax(scores))]
    for back in reversed(pointers):
        path.append(int(back[path[-1]]))
    return path[::-1]


@settings(max_examples=150, deadline=None)
@given(window_lists, st.sampled_from([0.5, 3.0, 6.0]))
def test_the_online_decoder_finds_the_offline_best_path(items, penalty):
    windows = build(items)
    decoder = OnlineViterbi(penalty, max_lag=10_000, floor=0.01)
    decided = [pair for w in windows for pair in decoder.push(w)] + decoder.flush()
    assert [w for w, _ in decided] == windows  # every window once, in order
    speech = [label for w, label in decided if w.probabilities is not None]
    emissions = [np.log(np.maximum(w.probabilities, 0.01)) for w in windows if w.probabilities is not None]
    assert speech == (offline_viterbi(emissions, penalty) if emissions else [])
    assert all(label == -1 for w, label in decided if w.probabilities is None)


def test_forced_decisions_stay_consistent_with_later_ones():
    # An ambiguous stretch longer than max_lag, then clear evidence: the committed prefix must join the rest
    # without a spurious change at the junction.
    windows = [result(2.0 * i, [0.5, 0.45, 0.05]) for i in range(12)] + [result(24 + 2.0 * i, [0.9, 0.05, 0.05]) for i in range(6)]
    decoder = OnlineViterbi(3.0, max_lag=4, floor=0.01)
    decided = [label for w in windows for _, label in decoder.push(w)] + [label for _, label in decoder.flush()]
    assert decided == [0] * 18


def test_only_non_speech_is_decided_at_once():
    decoder = OnlineViterbi(3.0, max_lag=4, floor=0.01)
    assert decoder.push(result(0, None)) == [(result(0, None), SILENT)]


def test_undecided_windows_are_bounded_by_max_lag():
    # Two languages equally likely forever: the decoder must still commit and keep memory bounded.
    segmenter = SmoothingSegmenter(max_lag=5)
    stream = segmenter.start(LABELS)
    for i in range(200):
        stream.push(result(2.0 * i, [0.45, 0.45, 0.1]))
        assert len(stream._decoder._pending) <= 6
    assert len(stream._runs) <= 2


