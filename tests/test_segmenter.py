import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langspan.errors import UsageError
from langspan.languages import NONSPEECH, UNKNOWN
from langspan.segmentation.segmenter import MergeSegmenter, SmoothingSegmenter, restrict
from langspan.timeline import WindowResult

LABELS = ("eng", "deu", "fra")


def result(start, label_probs, speech=None, intervals=()):
    probabilities = None if label_probs is None else np.array(label_probs, dtype=np.float32)
    return WindowResult(start, start + 2.0, probabilities, speech, tuple(intervals))


def sure(label, confidence=0.9):
    rest = (1 - confidence) / (len(LABELS) - 1)
    return [confidence if name == label else rest for name in LABELS]


def windows_for(sequence, confidence=0.9):
    """'e', 'd', 'f' = a window of eng/deu/fra at the given confidence; '.' = a non-speech window."""
    codes = {"e": "eng", "d": "deu", "f": "fra"}
    return [result(2.0 * i, None if c == "." else sure(codes[c], confidence)) for i, c in enumerate(sequence)]


def summary(spans):
    return [(s.start, s.end, s.language) for s in spans]


# --- the naive baseline -------------------------------------------------------------------------------------------


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
    assert SmoothingSegmenter()([], LABELS) == []


# --- smoothing ------------------------------------------------------------------------------------------------------


def test_one_wrong_window_does_not_split_a_span_however_sure():
    windows = windows_for("eeeee") + [result(10, [0.001, 0.998, 0.001])] + windows_for("eeeee")[:5]
    windows = [WindowResult(2.0 * i, 2.0 * i + 2, w.probabilities) for i, w in enumerate(windows)]
    assert len(MergeSegmenter()(windows, LABELS)) == 3
    assert summary(SmoothingSegmenter()(windows, LABELS)) == [(0, 22, "eng")]


def test_a_real_change_is_kept():
    spans = SmoothingSegmenter()(windows_for("eeeeedddddd"), LABELS)
    assert summary(spans) == [(0, 10, "eng"), (10, 22, "deu")]
    assert spans[0].confidence == pytest.approx(0.9) and spans[0].alternatives[0].language == "eng"


def test_three_sure_windows_between_others_are_a_span():
    assert [s.language for s in SmoothingSegmenter()(windows_for("eeeedddeeee"), LABELS)] == ["eng", "deu", "eng"]


def test_spans_shorter_than_min_span_join_the_neighbour_their_windows_prefer():
    # Without a switch penalty every window's best label wins; min-span then decides alone.
    windows = windows_for("eeeee") + [result(10, [0.35, 0.05, 0.6])] + windows_for("ddddd")
    windows = [WindowResult(2.0 * i, 2.0 * i + 2, w.probabilities) for i, w in enumerate(windows)]
    spans = SmoothingSegmenter(switch_penalty=0, min_span=3)(windows, LABELS)
    assert summary(spans) == [(0, 12, "eng"), (12, 22, "deu")]  # the fra window prefers eng (0.35) to deu (0.05)
    assert summary(SmoothingSegmenter(switch_penalty=0, min_span=0)(windows, LABELS))[1] == (10, 12, "fra")


def test_a_short_speech_island_between_pauses_is_kept():
    spans = SmoothingSegmenter(min_span=5)(windows_for("...d..."), LABELS)
    assert summary(spans) == [(0, 6, NONSPEECH), (6, 8, "deu"), (8, 14, NONSPEECH)]


def test_the_language_carries_over_a_pause():
    # One weak deu window right after a pause is not enough to change language.
    windows = windows_for("eeee..") + [result(12, sure("deu", 0.6))] + windows_for("eeee")[:4]
    windows = [WindowResult(2.0 * i, 2.0 * i + 2, w.probabilities) for i, w in enumerate(windows)]
    assert [s.language for s in SmoothingSegmenter()(windows, LABELS)] == ["eng", NONSPEECH, "eng"]


def test_only_non_speech_gives_one_nonspeech_span():
    windows = [result(2.0 * i, None, speech=0.05) for i in range(6)]
    spans = SmoothingSegmenter()(windows, LABELS)
    assert summary(spans) == [(0, 12, NONSPEECH)]
    assert spans[0].alternatives == () and spans[0].confidence == pytest.approx(0.95)


def test_low_confidence_becomes_und_with_the_guess_kept():
    labels = ("eng", "deu", "fra", "spa")
    sure_eng, unsure = [0.91, 0.03, 0.03, 0.03], [0.02, 0.35, 0.33, 0.30]
    windows = [result(2.0 * i, sure_eng if i < 4 else unsure) for i in range(8)]
    spans = SmoothingSegmenter(min_confidence=0.4)(windows, labels)
    assert summary(spans) == [(0, 8, "eng"), (8, 16, UNKNOWN)]
    assert spans[1].confidence == pytest.approx(0.35)  # the best guess's mean posterior
    assert [a.language for a in spans[1].alternatives] == ["deu", "fra", "spa"]
    assert summary(SmoothingSegmenter(min_confidence=0.3)(windows, labels)) == [(0, 8, "eng"), (8, 16, "deu")]


def test_neighbouring_unknown_spans_merge():
    windows = [result(0, [0.39, 0.31, 0.30]), result(2, [0.39, 0.31, 0.30]), result(4, [0.30, 0.39, 0.31]), result(6, [0.30, 0.39, 0.31])]
    spans = SmoothingSegmenter(switch_penalty=0, min_span=0)(windows, LABELS)
    assert summary(spans) == [(0, 8, UNKNOWN)]


def test_edges_next_to_non_speech_move_to_the_speech_onset_and_offset():
    windows = [
        result(0, None, 0.0),
        result(2, None, 0.2, [(3.6, 4.0)]),  # too little speech to classify, but speech starts at 3.6
        result(4, sure("eng"), 1.0, [(4.0, 6.0)]),
        result(6, sure("eng"), 0.6, [(6.0, 7.2)]),  # speech stops at 7.2
        result(8, None, 0.0),
    ]
    assert summary(SmoothingSegmenter()(windows, LABELS)) == [(0, 3.6, NONSPEECH), (3.6, 7.2, "eng"), (7.2, 10, NONSPEECH)]


def test_refine_callback_moves_language_changes_only():
    seen = []

    def refine(boundary):
        seen.append((boundary.time, LABELS[boundary.left_label], LABELS[boundary.right_label]))
        return boundary.time - 0.7

    spans = SmoothingSegmenter()(windows_for("eeee..eeeedddd"), LABELS, refine)
    assert seen == [(20.0, "eng", "deu")]
    assert summary(spans)[-2:] == [(12, 19.3, "eng"), (19.3, 28, "deu")]


def test_a_change_of_language_moves_into_a_nearby_pause():
    windows = [
        result(0, sure("eng"), 1.0, [(0.0, 2.0)]),
        result(2, sure("eng"), 1.0, [(2.0, 4.0)]),
        result(4, sure("eng"), 0.8, [(4.0, 5.3), (5.7, 6.0)]),  # a pause from 5.3 to 5.7 s
        result(6, sure("deu"), 1.0, [(6.0, 8.0)]),
        result(8, sure("deu"), 1.0, [(8.0, 10.0)]),
        result(10, sure("deu"), 1.0, [(10.0, 12.0)]),
    ]
    assert summary(SmoothingSegmenter()(windows, LABELS))[0] == (0, 5.5, "eng")  # the middle of the pause
    assert summary(SmoothingSegmenter(pause_snap=0)(windows, LABELS))[0] == (0, 6, "eng")
    # The estimate from probes comes first; a pause further than pause_snap from it is ignored.
    assert summary(SmoothingSegmenter()(windows, LABELS, refine=lambda b: 6.9))[0] == (0, 6.9, "eng")


def test_a_refined_boundary_stays_within_one_window():
    spans = SmoothingSegmenter()(windows_for("eeeedddd"), LABELS, refine=lambda boundary: boundary.time + 50)
    assert summary(spans) == [(0, 10, "eng"), (10, 16, "deu")]


def test_spans_come_out_before_the_end_of_the_stream():
    consumed = []

    def windows():
        for i, window in enumerate(windows_for("e" * 30 + "d" * 30 + "f" * 30)):
            consumed.append(i)
            yield window

    emitted_at = {span.language: consumed[-1] for span in SmoothingSegmenter().stream(windows(), LABELS)}
    assert emitted_at["eng"] < 35 and emitted_at["deu"] < 65  # a few windows after each change, not at the end
    assert emitted_at["fra"] == 89


def test_bad_settings_are_usage_errors():
    with pytest.raises(UsageError, match="--min-confidence"):
        SmoothingSegmenter(min_confidence=1.5)
    with pytest.raises(UsageError, match="--min-span"):
        SmoothingSegmenter(min_span=-1)
    with pytest.raises(UsageError, match="--switch-penalty"):
        SmoothingSegmenter(switch_penalty=-1)


def test_restrict_renormalises_over_the_allowed_labels():
    probabilities = np.array([[0.5, 0.3, 0.2], [0.0, 0.0, 1.0]])
    restricted = restrict(probabilities, (1, 2))
    np.testing.assert_allclose(restricted[0], [0.0, 0.6, 0.4])
    np.testing.assert_allclose(restricted[1], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(restrict(np.array([1.0, 0.0, 0.0]), (1, 2)), [0.0, 0.5, 0.5])  # no mass: uniform
    assert restrict(probabilities, None) is probabilities


# --- properties -----------------------------------------------------------------------------------------------------

posteriors = st.one_of(
    st.none(),
    st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3)
    .filter(lambda p: sum(p) > 1e-3)
    .map(lambda p: [x / sum(p) for x in p]),
)
window_lists = st.lists(st.tuples(posteriors, st.floats(0.0, 1.0)), max_size=60)
settings_ = st.fixed_dictionaries(
    {
        "switch_penalty": st.sampled_from([0.0, 1.0, 3.0, 8.0]),
        "min_span": st.sampled_from([0.0, 3.0, 7.0]),
        "min_confidence": st.sampled_from([0.0, 0.4, 0.9]),
        "max_lag": st.sampled_from([1, 3, 20]),
    }
)


def build(items):
    windows = []
    for i, (probabilities, speech) in enumerate(items):
        start = 2.0 * i
        intervals = ((start + (1 - speech) * 2.0, start + 2.0),) if speech > 0 else ()
        windows.append(result(start, probabilities, speech, intervals))
    return windows


@settings(max_examples=150, deadline=None)
@given(window_lists, settings_)
def test_spans_are_sorted_disjoint_covering_and_deterministic(items, config):
    windows = build(items)
    segmenter = SmoothingSegmenter(**config)
    spans = segmenter(windows, LABELS, refine=lambda b: b.time + 0.3)
    if not windows:
        assert spans == []
        return
    assert spans[0].start == windows[0].start and spans[-1].end == windows[-1].end
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))  # no gap, no overlap
    assert all(s.start < s.end for s in spans)
    assert all(s.language in LABELS + (NONSPEECH, UNKNOWN) for s in spans)
    assert all(0 <= s.confidence <= 1 + 1e-6 and len(s.alternatives) <= 3 for s in spans)
    assert all(a.language != b.language or a.language == NONSPEECH for a, b in itertools.pairwise(spans))
    assert spans == segmenter(windows, LABELS, refine=lambda b: b.time + 0.3)
    # Windows never classified are never given a language, and classified windows never become nonspeech.
    for window in windows:
        middle = (window.start + window.end) / 2
        (span,) = [s for s in spans if s.start <= middle < s.end] or [None]
        if span is not None and window.probabilities is None and window.speech == 0:
            assert span.language == NONSPEECH


@settings(max_examples=100, deadline=None)
@given(window_lists, settings_)
def test_spans_pushed_out_early_are_final(items, config):
    windows = build(items)
    segmenter = SmoothingSegmenter(**config)
    stream = segmenter.start(LABELS)
    pushed = [span for w in windows for span in stream.push(w)]
    assert pushed + stream.flush() == segmenter(windows, LABELS)
    assert all(a.end == b.start for a, b in itertools.pairwise(pushed))
