"""Timeline quality end to end: speech detection, smoothing, unknown, expected languages, boundary refinement."""

import itertools
import json
import subprocess
from importlib import resources

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, TINY_MODEL, ScriptedClassifier, ffmpeg_path
from langspan.cli import app
from langspan.engine.local import detect
from langspan.errors import UsageError
from langspan.languages import NONSPEECH, UNKNOWN

RATE = 16_000
DEMO = FIXTURES / "demo"
STANDIN = FIXTURES / "standin-lid"
SCHEMA = json.loads(resources.files("langspan").joinpath("schema/timeline.schema.json").read_text())
runner = CliRunner()


def sign_classifier(labels=("eng", "deu")):
    """Scripted 'model' for which positive samples are English and negative ones German: a window's posterior is
    the share of each, so windows that straddle a change are mixed, as they are for a real model."""

    def answer(samples):
        eng = float(np.mean(samples > 0)) * 0.98 + 0.01
        return np.array([eng, 1 - eng] + [0.0] * (len(labels) - 2))

    return ScriptedClassifier(labels, answer)


@pytest.mark.slow
def test_silence_only_is_one_nonspeech_span_and_never_classified(tmp_path, tiny_classifier):
    silence = tmp_path / "silence.wav"
    subprocess.run(
        [ffmpeg_path(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "9", str(silence)],
        check=True,
    )
    calls = []

    class Counting:
        labels, name, revision = tiny_classifier.labels, tiny_classifier.name, tiny_classifier.revision

        def predict(self, batch):
            calls.append(len(batch))
            return tiny_classifier.predict(batch)

    (timeline,) = detect(silence, classifier=Counting())
    assert [(s.start, s.end, s.language) for s in timeline.spans] == [(0.0, pytest.approx(9.0), NONSPEECH)]
    assert timeline.languages() == [NONSPEECH] and timeline.speech_share() == {}
    assert calls == [] and timeline.stats["classified_windows"] == 0 and timeline.stats["windows"] == 5
    (without_vad,) = detect(silence, classifier=Counting(), vad=False)
    assert sum(calls) == 5 and NONSPEECH not in without_vad.languages()


@pytest.fixture(scope="module")
def standin():
    from langspan.models.wav2vec2 import HFClassifier

    return HFClassifier(str(STANDIN), device="cpu")


@pytest.mark.slow
def test_the_demo_podcast_matches_its_truth(standin):
    """Jingle, then eng/deu/fra/spa/eng with short pauses at each switch: a nonspeech intro, the same language
    sequence as the truth with no spurious span, and every boundary within the pause between two spans (±0.5 s)."""
    (timeline,) = detect(DEMO / "podcast.mp3", classifier=standin)
    truth = json.loads((DEMO / "podcast.truth.json").read_text())["streams"][0]["spans"]
    spans = list(timeline.spans)
    assert spans[0].language == NONSPEECH and truth[0]["language"] == NONSPEECH
    if spans[-1].language == NONSPEECH:  # the file ends with a second of silence, which no truth span covers
        assert spans[-1].start == pytest.approx(truth[-1]["end"], abs=0.5)
        spans.pop()
    assert [s.language for s in spans] == [t["language"] for t in truth]
    for (left, right), boundary in zip(itertools.pairwise(truth), spans[1:], strict=True):
        pause = (left["end"], right["start"])  # any time inside the pause between the two is right
        assert pause[0] - 0.5 <= boundary.start <= pause[1] + 0.5, (boundary, pause)
    assert all(s.confidence > 0.8 and s.alternatives[0].language == s.language for s in spans[1:])
    changes = sum(a.language != b.language for a, b in itertools.pairwise(spans[1:]))  # after the intro
    assert timeline.stats["boundaries_refined"] == changes == 4
    assert timeline.stats["refinement_windows"] == 3 * changes
    assert timeline.stats["classified_windows"] < timeline.stats["windows"]  # the jingle was never classified


def test_expected_languages_change_the_result():
    labels = ("eng", "deu", "fra")
    classifier = ScriptedClassifier(labels, lambda s: np.array([0.5, 0.3, 0.2]))
    signal = np.full(10 * RATE, 0.1, np.float32)
    (free,) = detect(signal, sample_rate=RATE, classifier=classifier, vad=False)
    (restricted,) = detect(signal, sample_rate=RATE, classifier=classifier, vad=False, languages="de,fr")
    assert [s.language for s in free.spans] == ["eng"]
    assert [s.language for s in restricted.spans] == ["deu"]
    assert restricted.spans[0].confidence == pytest.approx(0.6)
    assert [a.language for a in restricted.spans[0].alternatives] == ["deu", "fra"]  # eng is ruled out
    assert restricted.options["languages"] == ["deu", "fra"]


def test_expected_languages_the_model_lacks_are_usage_errors():
    classifier = sign_classifier()
    with pytest.raises(UsageError, match=r"no label for ita \(Italian\)"):
        detect(np.zeros(RATE, np.float32), sample_rate=RATE, classifier=classifier, languages=["eng", "it"])
    with pytest.raises(UsageError, match="unknown language code 'englsh'"):
        detect(np.zeros(RATE, np.float32), sample_rate=RATE, classifier=classifier, languages="englsh")


def test_low_confidence_speech_is_unknown():
    labels = ("eng", "deu", "fra", "spa")
    classifier = ScriptedClassifier(labels, lambda s: np.array([0.3, 0.25, 0.25, 0.2]))
    (timeline,) = detect(np.full(8 * RATE, 0.1, np.float32), sample_rate=RATE, classifier=classifier, vad=False)
    assert [s.language for s in timeline.spans] == [UNKNOWN]
    assert timeline.spans[0].alternatives[0].language == "eng"


@pytest.mark.parametrize("change", [9.3, 10.6])
def test_language_changes_are_placed_between_window_edges(change):
    samples = np.where(np.arange(20 * RATE) < change * RATE, 0.5, -0.5).astype(np.float32)
    classifier = sign_classifier()
    (refined,) = detect(samples, sample_rate=RATE, classifier=classifier, vad=False, density="dense")
    (grid,) = detect(samples, sample_rate=RATE, classifier=sign_classifier(), vad=False, refine_probes=0)
    assert [s.language for s in refined.spans] == ["eng", "deu"]
    assert refined.spans[0].end == pytest.approx(change, abs=0.05)
    assert grid.spans[0].end in (8.0, 10.0, 12.0)  # without probes a change can only sit on a window edge
    assert refined.stats["refinement_windows"] == 3 and refined.stats["boundaries_refined"] == 1
    assert sum(classifier.calls) == 10 + 3  # the tiling plus the probes, nothing more


@pytest.mark.slow
def test_cli_options_reach_the_output_and_validate(tmp_path):
    out = tmp_path / "t.json"
    args = ["detect", str(TINY_MODEL.parent / "media" / "tone.wav"), "--model", str(TINY_MODEL), "-q", "-o", str(out)]
    result = runner.invoke(app, args + ["--no-vad", "--languages", "en,de", "--min-span", "4", "--include-windows"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text())
    jsonschema.validate(document, SCHEMA)
    assert {s["language"] for s in document["spans"]} <= {"eng", "deu", UNKNOWN}
    assert document["options"]["languages"] == ["eng", "deu"] and document["options"]["vad"] is False
    assert document["stats"]["classified_windows"] == 3
    result = runner.invoke(app, args + ["--overwrite", "--include-windows"])
    document = json.loads(out.read_text())
    jsonschema.validate(document, SCHEMA)
    assert [s["language"] for s in document["spans"]] == [NONSPEECH]  # a tone is not speech
    assert all(w["speech"] == 0 and w["top"] == [] for w in document["windows"])
    for bad, message in (("xx", "did you mean"), ("ita", "no label for ita")):
        result = runner.invoke(app, args + ["--overwrite", "--languages", bad])
        assert result.exit_code == 2 and message in result.stderr


def test_bad_quality_options_are_usage_errors():
    from langspan import DetectOptions

    for field, value in (("min_speech", 1.5), ("refine_probes", -1), ("min_confidence", 2.0), ("min_span", -1.0)):
        with pytest.raises(UsageError):
            DetectOptions(**{field: value})
