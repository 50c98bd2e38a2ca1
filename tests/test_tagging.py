"""The tagging decisions and the safety rules, on synthetic timelines and on small movies with a scripted
classifier (the end-to-end runs with real models are in test_cli_tag.py)."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from conftest import ScriptedClassifier
from langspan.errors import ExportError, MediaError, UsageError
from langspan.frontend import media
from langspan.options import DetectOptions
from langspan.tagging.decide import (
    MAJORITY_SHARE,
    StreamTag,
    TagOptions,
    TrackLanguage,
    existing_tag,
    plan_stream,
    result_document,
    tag_file,
    track_language,
)
from langspan.timeline import Span, Timeline
from tagging_media import folder_listing, languages, make_movie, never_load, sha256, tone_classifier

# The scripted tone classifier labels tones as speech; speech detection would (rightly) call them nonspeech.
TONES = DetectOptions(vad=False)


def timeline(*spans: tuple[float, float, str, float]) -> Timeline:
    duration = max((end for _, end, _, _ in spans), default=0.0)
    return Timeline("x.mkv", 1, duration, "m", None, {}, tuple(Span(*span) for span in spans))


# --- the decision -------------------------------------------------------------------------------------------


def test_one_language_track():
    decision = track_language(timeline((0, 30, "deu", 0.9), (30, 40, "eng", 0.5), (40, 100, "deu", 0.7)))
    assert decision.language == "deu"
    assert decision.share == pytest.approx(90 / 100)
    assert decision.evidence == pytest.approx(90)
    assert decision.confidence == pytest.approx((30 * 0.9 + 60 * 0.7) / 90)  # weighted by duration


def test_nonspeech_and_unknown_spans_are_not_part_of_the_share():
    # 20 s deu, 15 s eng: 57% of all labelled time, but 20/35 = 57% of speech… plus 60 s of silence and 10 s und
    decision = track_language(
        timeline((0, 60, "nonspeech", 1.0), (60, 80, "deu", 0.9), (80, 90, "und", 0.2), (90, 95, "eng", 0.8))
    )
    assert decision.language == "deu"
    assert decision.share == pytest.approx(20 / 25)
    assert decision.evidence == pytest.approx(20)


def test_no_clear_majority_is_mul():
    decision = track_language(timeline((0, 50, "deu", 0.9), (50, 100, "fra", 0.7)))
    assert decision.language == "mul"
    assert decision.share == pytest.approx(0.5)
    assert decision.evidence == pytest.approx(100)
    assert decision.confidence == pytest.approx(0.8)


@pytest.mark.parametrize(("share", "expected"), [(MAJORITY_SHARE - 0.01, "mul"), (MAJORITY_SHARE, "deu"), (0.9, "deu")])
def test_majority_threshold(share, expected):
    assert track_language(timeline((0, 100 * share, "deu", 0.9), (100 * share, 100, "fra", 0.9))).language == expected


def test_silence_only_is_zxx_and_unknown_speech_is_und():
    assert track_language(timeline((0, 10, "nonspeech", 1.0))) == TrackLanguage("zxx", 1.0, 0.0, 10.0)
    assert track_language(timeline((0, 5, "nonspeech", 1.0), (5, 10, "und", 0.3))).language == "und"


def test_a_track_without_any_evidence_is_und_not_zxx():
    assert track_language(timeline()) == TrackLanguage("und", 0.0, 0.0, 0.0)


def test_equal_shares_are_decided_the_same_way_every_time():
    a = track_language(timeline((0, 70, "fra", 0.9), (70, 140, "deu", 0.9)))
    b = track_language(timeline((0, 70, "deu", 0.9), (70, 140, "fra", 0.9)))
    assert a == b


# --- the plan for one stream --------------------------------------------------------------------------------

SURE_DEU = TrackLanguage("deu", 0.9, 1.0, 100.0)


@pytest.mark.parametrize(
    ("old", "detected", "options", "action", "new"),
    [
        (None, SURE_DEU, TagOptions(), "set", "ger"),
        ("ger", SURE_DEU, TagOptions(), "unchanged", "ger"),
        ("eng", SURE_DEU, TagOptions(), "tagged", "ger"),
        ("eng", SURE_DEU, TagOptions(force=True), "set", "ger"),
        ("eng", None, TagOptions(), "tagged", None),
        (None, TrackLanguage("deu", 0.4, 1.0, 100.0), TagOptions(), "uncertain", None),
        (None, TrackLanguage("deu", 0.4, 1.0, 100.0), TagOptions(min_confidence=0.3), "set", "ger"),
        (None, TrackLanguage("und", 0.0, 0.0, 10.0), TagOptions(min_confidence=0.0), "uncertain", None),
        (None, TrackLanguage("xog", 0.9, 1.0, 100.0), TagOptions(), "unchanged", "und"),  # no 639-2 code
        (None, TrackLanguage("zxx", 1.0, 0.0, 100.0), TagOptions(), "set", "zxx"),
        (None, TrackLanguage("mul", 0.8, 0.5, 100.0), TagOptions(), "set", "mul"),
    ],
)  # fmt: skip
def test_plan_stream(old, detected, options, action, new):
    tag = plan_stream(1, old, detected, "matroska", options)
    assert (tag.action, tag.new) == (action, new)


def test_mp4_gets_the_terminology_code():
    assert plan_stream(1, None, SURE_DEU, "mp4", TagOptions()).new == "deu"


@pytest.mark.parametrize(
    ("tag", "verdict", "reported"),
    [
        (StreamTag(1, "ger", SURE_DEU, "ger", "unchanged"), "agree", "ger"),
        (StreamTag(1, "deu", SURE_DEU, "ger", "tagged"), "agree", "ger"),  # T form in an MKV names the same language
        (StreamTag(1, "eng", SURE_DEU, "ger", "tagged"), "disagree", "ger"),
        (StreamTag(1, None, SURE_DEU, "ger", "set"), "untagged", "ger"),
        (StreamTag(1, "eng", TrackLanguage("deu", 0.1, 1, 9), None, "uncertain"), "uncertain", "und"),
        (StreamTag(1, "eng", None, None, "tagged"), "unchecked", "eng"),
    ],
)  # fmt: skip
def test_verdict_and_reported_tag(tag, verdict, reported):
    assert (tag.verdict, tag.reported) == (verdict, reported)


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("und", None), ("UND", None), ("Ger", "ger")])
def test_existing_tag(raw, expected):
    assert existing_tag(raw) == expected


# --- options ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_place": True, "output": Path("x.mkv")},
        {"check": True, "in_place": True},
        {"check": True, "output": Path("x.mkv")},
        {"min_confidence": 1.5},
        {"engine": "mkvmerge"},
    ],
)
def test_conflicting_or_bad_options_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        TagOptions(**kwargs)


def test_only_a_destination_makes_a_run_write():
    assert not TagOptions().writes
    assert TagOptions(in_place=True).writes
    assert not TagOptions(in_place=True, dry_run=True).writes
    assert TagOptions(output=Path("o.mkv")).writes


def test_languages_are_parsed_as_detect_parses_them():
    # One parser for both commands: 639-1, 639-3 and names, in order, without repeats.
    assert TagOptions(languages="eng, de,fra,eng").languages == ("eng", "deu", "fra")  # type: ignore[arg-type]
    assert TagOptions(languages=("en", "German")).languages == DetectOptions(languages=("en", "German")).languages
    assert TagOptions().languages is None
    with pytest.raises(UsageError, match="unknown language code"):
        TagOptions(languages=("eng", "xx1"))


# --- whole files, scripted classifier -----------------------------------------------------------------------


@pytest.fixture
def untagged_mkv(tmp_path: Path) -> Path:
    return make_movie(tmp_path / "films", "film.mkv")


@pytest.fixture
def untagged_mp4(tmp_path: Path) -> Path:
    return make_movie(tmp_path / "films", "film.mp4")


def test_in_place_tags_mkv_streams_in_bibliographic_form(untagged_mkv):
    folder_before = folder_listing(untagged_mkv.parent)
    result = tag_file(untagged_mkv, TagOptions(detect=TONES, in_place=True), tone_classifier())
    assert languages(untagged_mkv) == {1: "ger", 2: "fre"}
    assert [(tag.stream, tag.old, tag.new, tag.action) for tag in result.streams] == [
        (1, None, "ger", "set"),
        (2, None, "fre", "set"),
    ]
    assert result.written == str(untagged_mkv.resolve())
    assert folder_listing(untagged_mkv.parent) == folder_before  # no temporary file left


def test_in_place_tags_mp4_streams_in_terminology_form(untagged_mp4):
    tag_file(untagged_mp4, TagOptions(detect=TONES, in_place=True), tone_classifier())
    assert languages(untagged_mp4) == {1: "deu", 2: "fra"}


def test_second_run_does_nothing_and_never_loads_the_model(untagged_mkv):
    tag_file(untagged_mkv, TagOptions(detect=TONES, in_place=True), tone_classifier())
    digest = sha256(untagged_mkv)
    result = tag_file(untagged_mkv, TagOptions(in_place=True), never_load)
    assert [tag.action for tag in result.streams] == ["tagged", "tagged"]
    assert result.written is None
    assert sha256(untagged_mkv) == digest


@pytest.mark.parametrize("options", [TagOptions(detect=TONES, dry_run=True, in_place=True), TagOptions(detect=TONES, check=True), TagOptions(detect=TONES)])
def test_dry_run_and_check_write_nothing(untagged_mkv, options):
    digest, listing = sha256(untagged_mkv), folder_listing(untagged_mkv.parent)
    result = tag_file(untagged_mkv, options, tone_classifier())
    assert [tag.new for tag in result.streams] == ["ger", "fre"]  # decided all the same
    assert result.written is None
    assert sha256(untagged_mkv) == digest
    assert folder_listing(untagged_mkv.parent) == listing


def test_check_finds_a_wrong_tag_and_accepts_a_right_one_in_any_form(tmp_path):
    movie = make_movie(tmp_path, "wrong.mkv", ("deu", "eng"))  # deu is right (T form), eng is wrong
    result = tag_file(movie, TagOptions(detect=TONES, check=True), tone_classifier())
    assert [tag.verdict for tag in result.streams] == ["agree", "disagree"]
    assert result.disagrees


@pytest.mark.slow
def test_existing_tags_are_kept_unless_forced(tmp_path):
    movie = make_movie(tmp_path, "tagged.mkv", (None, "eng"))
    classifier = tone_classifier()
    tag_file(movie, TagOptions(detect=TONES, in_place=True), classifier)
    assert languages(movie) == {1: "ger", 2: "eng"}
    assert sum(classifier.calls) == 2  # only the untagged stream was analysed (2 windows)
    tag_file(movie, TagOptions(detect=TONES, in_place=True, force=True), classifier)
    assert languages(movie) == {1: "ger", 2: "fre"}


def test_stream_selection(untagged_mkv):
    result = tag_file(untagged_mkv, TagOptions(in_place=True, detect=DetectOptions(vad=False, streams=(2,))), tone_classifier())
    assert [tag.stream for tag in result.streams] == [2]
    assert languages(untagged_mkv) == {1: None, 2: "fre"}
    with pytest.raises(MediaError, match="not an audio stream"):
        tag_file(untagged_mkv, TagOptions(in_place=True, detect=DetectOptions(vad=False, streams=(0,))), tone_classifier())


def test_low_confidence_leaves_the_file_alone(untagged_mkv):
    digest = sha256(untagged_mkv)
    result = tag_file(untagged_mkv, TagOptions(detect=TONES, in_place=True, min_confidence=0.9), tone_classifier())
    assert [(tag.action, tag.reported) for tag in result.streams] == [("uncertain", "und")] * 2
    assert sha256(untagged_mkv) == digest


def test_languages_restriction_changes_the_answer(untagged_mkv):
    result = tag_file(untagged_mkv, TagOptions(detect=TONES, dry_run=True, languages=("eng", "fra"), min_confidence=0.5), tone_classifier())
    assert [tag.detected.language for tag in result.streams] == ["fra", "fra"]  # type: ignore[union-attr]


def test_languages_restriction_matches_labels_written_as_639_1(untagged_mkv):
    # A checkpoint labelled en/de/fr/es: --languages eng,fra means its en and fr, as for `langspan detect`.
    tones = tone_classifier()
    two_letter = ScriptedClassifier(("en", "de", "fr", "es"), tones.answer)
    options = TagOptions(detect=TONES, dry_run=True, languages=("eng", "fra"), min_confidence=0.5)
    result = tag_file(untagged_mkv, options, two_letter)
    assert [(tag.detected.language, tag.new) for tag in result.streams] == [("fr", "fre")] * 2  # type: ignore[union-attr]


def test_languages_the_model_gives_no_probability_are_equally_likely(untagged_mkv):
    # The model is sure of German everywhere; of the allowed languages it favours none, so neither wins by default
    # (all-zero posteriors would make the decoder pick label 0, a language that is not allowed).
    only_german = ScriptedClassifier(("deu", "eng", "fra", "spa"), lambda samples: np.array([1.0, 0.0, 0.0, 0.0]))
    options = TagOptions(detect=TONES, dry_run=True, languages=("eng", "fra"), min_confidence=0.0)
    for tag in tag_file(untagged_mkv, options, only_german).streams:
        assert tag.detected is not None and tag.detected.language in ("eng", "fra")
        assert tag.detected.confidence == pytest.approx(0.5)


@pytest.mark.slow
def test_languages_restriction_applies_to_the_scan_probes(tmp_path):
    movie = make_movie(tmp_path, "long.mkv", seconds=240)  # long enough to be decided from probes
    result = tag_file(movie, TagOptions(detect=TONES, dry_run=True, languages=("eng", "fra")), tone_classifier())
    assert [tag.detected.language for tag in result.streams] == ["fra", "fra"]  # type: ignore[union-attr]
    assert not any(tag.detected.full_pass for tag in result.streams)  # type: ignore[union-attr]


@pytest.mark.parametrize("full_pass", [False, True])
def test_each_file_is_probed_once(untagged_mkv, monkeypatch, full_pass):
    probed: list[str] = []
    probe_raw = media.probe_raw

    def counting_probe_raw(path, *args, **kwargs):
        probed.append(str(path))
        return probe_raw(path, *args, **kwargs)

    monkeypatch.setattr(media, "probe_raw", counting_probe_raw)
    result = tag_file(untagged_mkv, TagOptions(detect=TONES, dry_run=True, full_pass=full_pass), tone_classifier())
    assert [tag.new for tag in result.streams] == ["ger", "fre"]
    assert probed == [str(untagged_mkv)]


def test_output_writes_a_new_file_and_leaves_the_source_alone(untagged_mkv, tmp_path):
    digest = sha256(untagged_mkv)
    target = tmp_path / "out" / "tagged.mkv"
    target.parent.mkdir()
    result = tag_file(untagged_mkv, TagOptions(detect=TONES, output=target), tone_classifier())
    assert result.written == str(target.resolve())
    assert languages(target) == {1: "ger", 2: "fre"}
    assert sha256(untagged_mkv) == digest


def test_output_never_replaces_an_existing_file_unless_asked(untagged_mkv, tmp_path):
    target = tmp_path / "exists.mkv"
    target.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists"):
        tag_file(untagged_mkv, TagOptions(output=target), never_load)  # fails before any analysis
    assert target.read_bytes() == b"precious"
    tag_file(untagged_mkv, TagOptions(detect=TONES, output=target, overwrite=True), tone_classifier())
    assert languages(target) == {1: "ger", 2: "fre"}


def test_output_must_keep_the_container(untagged_mkv, tmp_path):
    with pytest.raises(UsageError, match="does not convert containers"):
        tag_file(untagged_mkv, TagOptions(output=tmp_path / "film.mp4"), never_load)


@pytest.mark.slow
def test_a_long_track_is_decided_from_a_few_probes(tmp_path):
    movie = make_movie(tmp_path, "long.mkv", seconds=240)  # 120 windows per track
    classifier = tone_classifier()
    result = tag_file(movie, TagOptions(detect=TONES, dry_run=True), classifier)
    assert [tag.new for tag in result.streams] == ["ger", "fre"]
    for tag in result.streams:
        assert tag.detected is not None and not tag.detected.full_pass
        assert tag.detected.share == 1.0 and tag.detected.confidence == pytest.approx(0.85)  # the votes' probability
        assert tag.detected.evidence <= 16 * 2.0  # seconds classified, not the track's 240
    assert 2 * 8 <= sum(classifier.calls) <= 2 * 16


@pytest.mark.slow
def test_full_pass_classifies_every_window(tmp_path):
    movie = make_movie(tmp_path, "long.mkv", seconds=240)
    classifier = tone_classifier()
    result = tag_file(movie, TagOptions(detect=TONES, dry_run=True, full_pass=True), classifier)
    assert [tag.new for tag in result.streams] == ["ger", "fre"]
    assert all(tag.detected is not None and tag.detected.full_pass for tag in result.streams)
    assert sum(classifier.calls) == 2 * 120


def test_json_report_follows_its_schema(untagged_mkv):
    result = tag_file(untagged_mkv, TagOptions(detect=TONES, dry_run=True), tone_classifier())
    document = json.loads(json.dumps(result_document(result, TagOptions(dry_run=True))))
    schema = json.loads(resources.files("langspan").joinpath("schema/tag.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["schema"] == "langspan.tag" and document["container"] == "matroska"
    first = document["streams"][0]
    assert first["old"] is None and first["new"] == "ger" and first["action"] == "set"
    assert first["detected"]["language"] == "deu"
    assert first["detected"]["evidence_seconds"] == pytest.approx(4.0, abs=0.1)
    assert first["detected"]["confidence"] == pytest.approx(0.85, abs=1e-3)


def test_output_into_a_fifo_or_a_folder_is_refused(untagged_mkv, tmp_path):
    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file"):
        tag_file(untagged_mkv, TagOptions(output=fifo, overwrite=True), never_load)
    (tmp_path / "folder.mkv").mkdir()
    with pytest.raises(ExportError, match="is a directory"):
        tag_file(untagged_mkv, TagOptions(output=tmp_path / "folder.mkv", overwrite=True), never_load)
