import subprocess

import numpy as np
import pytest

from conftest import MEDIA, ScriptedClassifier, ffmpeg_path, one_hot
from langspan import scan
from langspan.engine.sparse import StoppingRule, _confidence, probe_starts
from langspan.errors import UsageError
from langspan.frontend import media

LABELS = ("eng", "deu")


def loudness_classifier():
    return ScriptedClassifier(LABELS, lambda s: one_hot(LABELS, "eng" if np.abs(s).max() > 0.3 else "deu"))


def make_track(path, seconds, loud_expression):
    """A 16 kHz FLAC tone whose amplitude follows ``loud_expression`` (true → loud → 'eng' for the scripted model)."""
    source = f"aevalsrc=if({loud_expression}\\,0.5\\,0.1)*sin(2*PI*440*t):d={seconds}:s=16000"
    subprocess.run([ffmpeg_path(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source, str(path)], check=True)
    return path


def test_confidence_is_the_exact_beta_binomial_bound():
    from collections import Counter

    assert _confidence(Counter(eng=8)) == pytest.approx(511 / 512)
    assert _confidence(Counter(eng=7, deu=1)) == pytest.approx(1 - 10 / 512)
    assert _confidence(Counter(eng=14, deu=2, fra=1)) == pytest.approx(1 - (136 + 17 + 1) / 2**17)
    assert _confidence(Counter(eng=4, deu=4)) == pytest.approx(0.5)
    assert _confidence(Counter()) == 0.0


def test_probes_spread_over_the_whole_track_in_every_prefix():
    starts = probe_starts(102.0, 2.0, 7)
    assert starts == [50.0, 25.0, 75.0, 12.5, 62.5, 37.5, 87.5]
    assert all(0 <= s <= 100.0 for s in probe_starts(102.0, 2.0, 64))
    assert len(set(probe_starts(102.0, 2.0, 64))) == 64


@pytest.mark.slow
def test_a_clear_track_stops_early_without_decoding_it_all(tmp_path, monkeypatch):
    track = make_track(tmp_path / "mostly_eng.flac", 120, "gt(t\\,10)")  # 10 s of 'deu', 110 s of 'eng'

    def no_full_decode(*args, **kwargs):
        raise AssertionError("the sparse scan must not decode the whole stream")

    monkeypatch.setattr(media, "decode", no_full_decode)
    (result,) = scan(track, classifier=loudness_classifier(), min_probes=8, max_probes=32, vad=False)
    assert result.language == "eng" and not result.full_pass
    assert result.confidence >= 0.99 and result.share > 0.8
    assert result.support == pytest.approx(0.9)  # the scripted model's probability behind each vote
    assert result.timeline is None
    assert result.windows <= 16 and result.evidence_seconds == pytest.approx(2.0 * result.windows)
    assert result.evidence_seconds < result.duration / 3
    assert result.duration == pytest.approx(120, abs=0.1)


def test_the_next_batch_holds_only_the_probes_that_could_end_the_scan():
    from collections import Counter

    rule = StoppingRule(confidence=0.99, min_probes=8, max_probes=48)
    assert rule.probes_to_stop(Counter(), 8) == 8  # min_probes first
    assert rule.probes_to_stop(Counter(eng=6), 8) == 2  # two pauses in the first batch: 2 more, not 8
    assert rule.probes_to_stop(Counter(eng=7, deu=1), 8) == 2  # 0.980 → 9 of 10 gives 0.994
    assert rule.probes_to_stop(Counter(eng=4, deu=4), 8) == 8  # far from a stop: a whole batch
    assert rule.probes_to_stop(Counter(eng=6), 1) == 1


def test_probes_are_decoded_ahead_only_when_the_round_cannot_end_the_scan():
    from collections import Counter

    rule = StoppingRule(confidence=0.99, min_probes=8, max_probes=48)
    assert rule.read_ahead(Counter(), 8, 8) == 0  # eight agreeing votes would stop: decode nothing more yet
    assert rule.read_ahead(Counter(), 6, 8) == 2  # two probes were pauses: the next round's two
    assert rule.read_ahead(Counter(eng=6), 2, 8) == 0
    assert rule.read_ahead(Counter(eng=4, deu=4), 8, 8) > 0


@pytest.mark.slow
def test_a_track_that_needs_two_more_votes_classifies_two_more_probes(tmp_path):
    track = make_track(tmp_path / "mostly_eng.flac", 120, "gt(t\\,10)")  # probe 8 (at 7.4 s) hears 'deu'
    classifier = loudness_classifier()
    (result,) = scan(track, classifier=classifier, min_probes=8, max_probes=32, vad=False)
    assert dict(result.votes) == {"eng": 9, "deu": 1} and result.confidence >= 0.99
    assert classifier.calls == [8, 2]  # a batch of 8 would have classified 16 probes for the same answer


@pytest.mark.slow
def test_a_two_language_track_falls_back_to_a_full_pass(tmp_path):
    track = make_track(tmp_path / "half_half.flac", 80, "lt(mod(t\\,8)\\,4)")  # 4 s eng, 4 s deu, alternating
    classifier = loudness_classifier()
    (result,) = scan(track, classifier=classifier, min_probes=8, max_probes=16, vad=False, refine_probes=0)
    assert result.full_pass
    assert result.windows == 40 and result.evidence_seconds == pytest.approx(16 * 2.0 + 80.0)  # probes + full pass
    assert dict(result.votes) == {"eng": 20, "deu": 20}
    assert result.share == pytest.approx(0.5) and result.confidence < 0.99
    assert result.timeline is not None and result.timeline.stream == result.stream  # the full pass's timeline
    # 16 probes, then all 40 windows: the probes' cost is counted, not hidden.
    assert sum(classifier.calls) == 16 + 40


@pytest.mark.slow
def test_a_short_track_gets_a_full_pass_directly():
    results = scan(MEDIA.parent / "demo" / "tracks.mkv", model=str(MEDIA.parent / "standin-lid"))
    assert [(r.stream, r.language) for r in results] == [(1, "deu"), (2, "fra")]  # the demo's truth
    for result in results:
        assert result.full_pass and result.confidence > 0.99
        assert 0 < result.evidence_seconds <= result.duration  # speech windows only: pauses never reach the model


@pytest.mark.slow
def test_probes_without_speech_do_not_vote(tmp_path):
    track = make_track(tmp_path / "tone.flac", 120, "gt(t\\,10)")  # a tone: no speech anywhere
    classifier = loudness_classifier()
    (result,) = scan(track, classifier=classifier, min_probes=8, max_probes=16, vad=True)
    assert result.language is None and result.windows == 0 and result.full_pass
    assert classifier.calls == []


def test_bad_rules_and_sources_are_usage_errors():
    with pytest.raises(UsageError):
        StoppingRule(confidence=1.0)
    with pytest.raises(UsageError):
        StoppingRule(min_probes=10, max_probes=5)
    with pytest.raises(UsageError, match="use detect"):
        scan(np.zeros(16000, np.float32))


def test_decode_clip_seeks_into_the_stream(tmp_path):
    track = make_track(tmp_path / "step.flac", 30, "gt(t\\,20)")
    assert np.abs(media.decode_clip(track, None, 5.0, 2.0)).max() == pytest.approx(0.1, abs=0.01)
    late = media.decode_clip(track, None, 25.0, 2.0)
    assert len(late) == 32_000 and np.abs(late).max() == pytest.approx(0.5, abs=0.01)
    assert len(media.decode_clip(track, None, 40.0, 2.0)) == 0


@pytest.mark.slow
def test_probes_are_restricted_to_the_expected_languages(tmp_path, monkeypatch):
    """Regression: the probes once voted over every label, ignoring ``languages`` (only a full pass honoured it)."""
    labels = ("eng", "deu", "fra")
    # Every window: German most likely, then English, then French.
    leaning_german = ScriptedClassifier(labels, lambda s: np.array([0.3, 0.6, 0.1], dtype=np.float32))
    track = make_track(tmp_path / "steady.flac", 120, "1")
    monkeypatch.setattr(media, "decode", lambda *a, **k: pytest.fail("a clear track needs no full pass"))
    (free,) = scan(track, classifier=leaning_german, vad=False)
    (restricted,) = scan(track, classifier=leaning_german, vad=False, languages=("en", "fr"))
    assert free.language == "deu"
    assert restricted.language == "eng" and not restricted.full_pass
    assert restricted.support == pytest.approx(0.75)  # 0.3 renormalised over English and French
    assert set(dict(restricted.votes)) == {"eng"}
