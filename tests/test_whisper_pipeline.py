"""whisper-base through the whole pipeline, picked by the registry from a folder path: detect, scan, tag and the
label list (real weights from ``make whisper``, real ffmpeg, espeak-ng speech)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import langspan
from langspan.cli import model_labels
from langspan.frontend.media import find_ffmpeg
from langspan.models.registry import family_for, load_classifier
from whisper_fixtures import CT2_FOLDER, HF_FOLDER, require, speech

PAUSE = np.zeros(16000, np.float32)

# Real whisper-base weights: seconds of CPU per test (`make test-fast` skips them).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(langspan.LoadOptions(model=str(require(HF_FOLDER)), device="cpu"))


def write_media(path, samples: np.ndarray) -> str:
    """16 kHz mono float32 → a real media file through ffmpeg."""
    ffmpeg = find_ffmpeg().ffmpeg
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    command = [ffmpeg, "-v", "error", "-y", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "pipe:0", str(path)]
    subprocess.run(command, input=pcm, check=True)
    return str(path)


def test_registry_picks_the_whisper_families():
    assert family_for(str(require(HF_FOLDER))).name == "whisper"
    assert family_for(str(require(CT2_FOLDER))).name == "whisper-ct2"
    labels = model_labels(str(HF_FOLDER), None)
    assert len(labels) == 99 and {"eng", "zho", "nor", "jav", "haw"} <= set(labels)


def test_detect_a_three_language_recording(classifier, tmp_path):
    audio = np.concatenate([speech("en"), PAUSE, speech("es"), speech("ja")])  # a pause, then a direct switch
    path = write_media(tmp_path / "talk.flac", audio)
    timeline = langspan.detect(path, classifier=classifier)[0]
    assert timeline.options["window"] == classifier.info.window  # the family's default window
    assert timeline.options["refine_probes"] == 2  # each probe is a 30 s encoder pass: two, not langspan's three
    assert timeline.stats["refinement_windows"] == 2 * timeline.stats["boundaries_refined"]
    spoken = [span.language for span in timeline.spans if span.language not in ("nonspeech", "und")]
    assert [language for i, language in enumerate(spoken) if i == 0 or spoken[i - 1] != language] == [
        "eng", "spa", "jpn",
    ]  # fmt: skip


def test_scan_and_tag(classifier, tmp_path):
    path = write_media(tmp_path / "film.mkv", np.concatenate([speech("ja"), PAUSE, speech("ja")]))
    assert langspan.scan(path, classifier=classifier)[0].language == "jpn"
    report = langspan.tag_file(path, langspan.TagOptions(dry_run=True), classifier=classifier)
    assert [(tag.new, tag.action) for tag in report.streams] == [("jpn", "set")]
