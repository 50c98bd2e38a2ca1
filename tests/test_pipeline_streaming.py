"""Spans leave the pipeline as soon as they are final (``on_span``), which is what lets ``-f jsonl`` stream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, MEDIA, TINY_MODEL
from langspan.cli import app
from langspan.engine.core import segment_incrementally
from langspan.engine.local import detect
from langspan.options import DetectOptions
from langspan.segmentation.segmenter import MergeSegmenter
from langspan.timeline import WindowResult
from langspan.writers import JSONLinesWriter

MODEL = str(TINY_MODEL)
CHIRP = MEDIA / "chirp.mp3"
PODCAST = FIXTURES / "demo" / "podcast.mp3"
LABELS = ("eng", "deu")


@pytest.fixture
def classifier(tiny_classifier):
    return tiny_classifier


class CountingClassifier:
    """The real classifier, counting the windows it has been asked about."""

    def __init__(self, inner) -> None:
        self.inner, self.windows = inner, 0
        self.labels, self.name, self.revision = inner.labels, inner.name, inner.revision

    def predict(self, batch):
        self.windows += len(batch)
        return self.inner.predict(batch)


def windows(labels: list[int], pulled: list[int]) -> Iterator[WindowResult]:
    for i, label in enumerate(labels):
        pulled.append(i)
        yield WindowResult(float(i), float(i + 1), np.eye(2, dtype=np.float32)[label] * 0.8 + 0.1)


def test_merge_segmenter_yields_a_span_once_the_next_label_differs():
    pulled: list[int] = []
    spans = MergeSegmenter().stream(windows([0, 0, 1, 1, 1, 0], pulled), LABELS)
    first = next(spans)
    assert (first.start, first.end, first.language) == (0.0, 2.0, "eng")
    assert len(pulled) == 3  # the third window (deu) closed the first span; nothing later was read
    assert [(s.start, s.end, s.language) for s in spans] == [(2.0, 5.0, "deu"), (5.0, 6.0, "eng")]


def test_segmenter_without_stream_gets_every_window_at_the_end():
    class WholeSequence:  # like a Viterbi smoother: needs the whole sequence
        def __call__(self, results, labels):
            return MergeSegmenter()(results, labels)

    pulled: list[int] = []
    spans = segment_incrementally(WholeSequence(), windows([0, 1, 1], pulled), LABELS)
    first = next(spans)
    assert len(pulled) == 3 and first.language == "eng"
    assert [s.language for s in spans] == ["deu"]


@pytest.fixture(scope="module")
def standin():
    from langspan.models.wav2vec2 import HFClassifier

    return HFClassifier(str(FIXTURES / "standin-lid"), device="cpu")


@pytest.mark.slow
def test_on_span_fires_before_the_stream_is_finished(standin):
    counting = CountingClassifier(standin)
    seen: list[tuple[str, int | None, float, int]] = []
    timelines = detect(
        PODCAST, DetectOptions(batch_size=1), classifier=counting,
        on_span=lambda source, stream, span: seen.append((source, stream, span.start, counting.windows)),
    )  # fmt: skip
    spans = timelines[0].spans
    assert len(spans) >= 6, "the demo podcast has a jingle and five language segments"
    assert [start for _, _, start, _ in seen] == [span.start for span in spans]
    assert seen[0][:2] == (str(PODCAST), 0)
    # The jingle's span (6.8 s) was handed out after a handful of windows, and each language a few windows after it
    # ended: long before the podcast was finished.
    asked = [count for *_, count in seen]
    assert asked[0] <= 5 and asked[1] < asked[2] < asked[3] < asked[4] < counting.windows


@pytest.mark.slow
def test_cli_jsonl_on_stdout_is_the_jsonl_writer_output(classifier):
    result = CliRunner().invoke(
        app, ["detect", str(CHIRP), "-f", "jsonl", "--model", MODEL, "--window", "0.5", "-q"]
    )
    assert result.exit_code == 0, result.output
    timeline = detect(CHIRP, DetectOptions(model=MODEL, window=0.5), classifier=classifier)[0]
    assert result.stdout == JSONLinesWriter().dumps(timeline)
    assert all(json.loads(line)["source"] == str(CHIRP) for line in result.stdout.splitlines())


@pytest.mark.slow
def test_cli_reads_stdin_and_writes_to_stdout_with_dash(tmp_path):
    data = (MEDIA / "tone.wav").read_bytes()
    result = CliRunner().invoke(
        app, ["detect", "-", "-o", "-", "-f", "csv", "--model", MODEL, "-q"], input=data
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "start_ms,end_ms,language,name,confidence"
    assert lines[-1].split(",")[1] == "5000"


@pytest.mark.slow
def test_html_for_a_two_track_file_is_one_page(tmp_path):
    result = CliRunner().invoke(
        app, ["detect", str(MEDIA / "two_tracks.mkv"), "-f", "html", "-f", "json",
              "-d", str(tmp_path), "--model", MODEL, "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["two_tracks.html", "two_tracks.stream1.json", "two_tracks.stream2.json"]
    page = (tmp_path / "two_tracks.html").read_text(encoding="utf-8")
    data = json.loads(page.split('id="langspan-data">')[1].split("</script>")[0])
    assert [track["label"] for track in data["tracks"]] == ["stream 1", "stream 2"]
