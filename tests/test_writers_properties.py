"""Property tests of the writers: any valid timeline survives JSON (checked against the published schema) and SRT
(read back by the independent ``srt`` parser) with its spans in order, inside [0, duration], and never negative."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from pathlib import Path

import jsonschema
import pytest
import srt
import webvtt
from hypothesis import example, given
from hypothesis import strategies as st

from langspan.timeline import Alternative, Span, Timeline
from langspan.writers import (
    AudacityWriter,
    CSVWriter,
    JSONLinesWriter,
    JSONWriter,
    RTTMWriter,
    SRTWriter,
    TSVWriter,
    VTTWriter,
    cue_text,
)
from langspan.writers.html import HTMLWriter

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "src/langspan/schema/timeline.schema.json").read_text())

LANGUAGES = st.one_of(
    st.sampled_from(["eng", "deu", "fra", "cmn", "yue", "nonspeech", "und", "zxx"]),
    st.from_regex(r"[a-zA-Z\u00c0-\u024f\u4e00-\u4e20_-]{1,10}", fullmatch=True),  # labels of other checkpoints
)
PROBABILITIES = st.floats(0.0, 1.0)
# A file name byte that is not UTF-8 arrives in Python as a lone surrogate (os.fsdecode(b"\xff") == "\udcff").
UNDECODABLE_BYTE = st.integers(0xDC80, 0xDCFF).map(chr)


@st.composite
def timelines(draw) -> Timeline:
    duration = draw(st.floats(0.0, 200_000.0))  # up to ~55 hours
    cuts = sorted(draw(st.lists(st.floats(0.0, duration), max_size=40)))
    spans = []
    for start, end in itertools.pairwise(cuts):
        if draw(st.booleans()) or start == end:  # keep some intervals, leave gaps elsewhere
            alternatives = draw(st.lists(st.builds(Alternative, PROBABILITIES, LANGUAGES), max_size=3))
            spans.append(Span(start, end, draw(LANGUAGES), draw(PROBABILITIES), tuple(alternatives)))
    return Timeline(
        source=draw(st.text(st.characters() | UNDECODABLE_BYTE, max_size=30)),
        stream=draw(st.none() | st.integers(0, 64)),
        duration=duration,
        model="test/model",
        revision=draw(st.none() | st.text(max_size=10)),
        options={"window": 2.0},
        spans=tuple(spans),
    )


def strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@given(timelines())
@example(Timeline("line\u2028separator\x85next \udcff.wav", 1, 2.0, "m", None, {}, (Span(0.0, 2.0, "eng", 0.5),)))
@pytest.mark.slow
def test_json_round_trip(timeline: Timeline) -> None:
    text = JSONWriter().dumps(timeline)
    text.encode("utf-8")  # writable to a UTF-8 file or terminal
    document = strict_json(text)
    jsonschema.validate(document, SCHEMA)
    assert document["source"] == timeline.source and document["stream"] == timeline.stream
    spans = document["spans"]
    assert [(s["start"], s["end"], s["language"]) for s in spans] == [
        (round(s.start, 3), round(s.end, 3), s.language) for s in timeline.spans
    ]
    assert all(0 <= s["start"] <= s["end"] <= document["duration"] for s in spans)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(spans))
    assert [[alt["language"] for alt in s["alternatives"]] for s in spans] == [
        [alt.language for alt in s.alternatives] for s in timeline.spans
    ]


@given(timelines())
@pytest.mark.slow
def test_srt_round_trip(timeline: Timeline) -> None:
    cues = list(srt.parse(SRTWriter().dumps(timeline)))
    milliseconds = [(round(s.start * 1000), round(s.end * 1000), s) for s in timeline.spans]
    kept = [(start, end, span) for start, end, span in milliseconds if end > start]  # zero-length cues are dropped
    assert [cue.index for cue in cues] == list(range(1, len(kept) + 1))
    assert [(cue.start.total_seconds(), cue.end.total_seconds()) for cue in cues] == [
        (start / 1000, end / 1000) for start, end, _ in kept
    ]
    assert [cue.content for cue in cues] == [cue_text(span) for _, _, span in kept]
    assert all(0 <= cue.start.total_seconds() < cue.end.total_seconds() for cue in cues)
    assert all(cue.end.total_seconds() <= round(timeline.duration * 1000) / 1000 for cue in cues)
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))


ODD_NAME = Timeline("line\u2028separator\x85next \udcff.wav", 1, 2.0, "m", None, {}, (Span(0.0, 2.0, "eng", 0.5),))


@given(timelines())
@example(ODD_NAME)
def test_vtt_round_trip(timeline: Timeline) -> None:
    def milliseconds(timestamp: str) -> int:
        hours, minutes, seconds = timestamp.split(":")
        return (int(hours) * 3600 + int(minutes) * 60) * 1000 + round(float(seconds) * 1000)

    captions = list(webvtt.from_string(VTTWriter().dumps(timeline)))
    kept = [s for s in timeline.spans if round(s.end * 1000) > round(s.start * 1000)]
    assert [(milliseconds(c.start), milliseconds(c.end), c.text) for c in captions] == [
        (round(s.start * 1000), round(s.end * 1000), cue_text(s)) for s in kept
    ]


@given(timelines())
@example(ODD_NAME)
def test_jsonl_round_trip(timeline: Timeline) -> None:
    text = JSONLinesWriter().dumps(timeline)
    text.encode("utf-8")
    records = [strict_json(line) for line in text.split("\n")[:-1]]
    assert [(r["source"], r["stream"], r["language"]) for r in records] == [
        (timeline.source, timeline.stream, s.language) for s in timeline.spans
    ]


@given(timelines())
@example(ODD_NAME)
def test_rttm_fields(timeline: Timeline) -> None:
    text = RTTMWriter().dumps(timeline)
    text.encode("utf-8")
    for line in text.splitlines():
        fields = line.split(" ")
        assert len(fields) == 10 and fields[0] == "SPEAKER" and fields[2] == "1"
        assert fields[5:7] == ["<NA>", "<NA>"] and fields[8:] == ["<NA>", "<NA>"]
        assert all(fields) and float(fields[3]) >= 0 and float(fields[4]) > 0
        assert re.fullmatch(r"\d+\.\d{3}", fields[3]) and re.fullmatch(r"\d+\.\d{3}", fields[4])


@given(timelines())
def test_csv_tsv_and_audacity_columns(timeline: Timeline) -> None:
    for writer, delimiter in ((CSVWriter(), ","), (TSVWriter(), "\t")):
        rows = list(csv.reader(io.StringIO(writer.dumps(timeline), newline=""), delimiter=delimiter))
        assert rows[0] == ["start_ms", "end_ms", "language", "name", "confidence"]
        assert [(int(r[0]), int(r[1]), r[2]) for r in rows[1:]] == [
            (round(s.start * 1000), round(s.end * 1000), s.language) for s in timeline.spans
        ]
    labels = list(csv.reader(io.StringIO(AudacityWriter().dumps(timeline), newline=""), delimiter="\t"))
    assert all(len(row) == 3 and float(row[0]) <= float(row[1]) for row in labels)
    assert len(labels) == len(timeline.spans)


@given(timelines())
@example(ODD_NAME)
@pytest.mark.slow
def test_html_data_round_trip(timeline: Timeline) -> None:
    page = HTMLWriter().dumps_all([timeline])
    page.encode("utf-8")
    payload = re.search(r'id="langspan-data">(.*?)</script>', page, re.DOTALL)
    assert payload is not None
    data = strict_json(payload.group(1))
    assert [s["language"] for s in data["tracks"][0]["spans"]] == [s.language for s in timeline.spans]
