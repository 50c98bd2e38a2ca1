"""Every output format, checked by an independent parser where one exists (jsonschema, srt, webvtt-py, csv)."""

from __future__ import annotations

import csv
import io
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import srt
import webvtt

from langspan.errors import ExportError, UsageError
from langspan.timeline import Alternative, Span, Timeline, WindowResult
from langspan.writers import (
    WRITERS,
    AudacityWriter,
    CSVWriter,
    JSONLinesWriter,
    RTTMWriter,
    SRTWriter,
    TSVWriter,
    VTTWriter,
    get_writer,
    get_writers,
    writer_for_path,
)

SCHEMA = json.loads(resources.files("langspan").joinpath("schema/timeline.schema.json").read_text())


def make_timeline(with_windows=False):
    spans = (
        Span(0.0, 4.0, "nonspeech", 1.0),
        Span(4.0, 12.3456, "eng", 0.87, (Alternative(0.87, "eng"), Alternative(0.1, "deu"))),
        Span(12.3456, 20.0, "deu", 0.66, (Alternative(0.66, "deu"), Alternative(0.2, "eng"))),
    )
    windows = (WindowResult(4.0, 6.0, np.array([0.9, 0.1], np.float32)), WindowResult(0.0, 2.0, None))
    return Timeline("talk.mp4", 1, 20.0, "m", None, {"top_k": 2}, spans, ("eng", "deu"), windows if with_windows else None)


@pytest.mark.parametrize("with_windows", [False, True])
def test_json_matches_its_schema(with_windows):
    document = json.loads(get_writer("json").dumps(make_timeline(with_windows)))
    jsonschema.validate(document, SCHEMA)
    assert document["spans"][1]["end"] == 12.346  # millisecond precision
    assert document["spans"][1]["name"] == "English"
    assert ("windows" in document) is with_windows


def test_schema_rejects_what_we_promise_never_to_write():
    document = json.loads(get_writer("json").dumps(make_timeline()))
    document["spans"][0]["confidence"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)


def test_srt_parses_and_composes_back_to_the_same_text():
    text = get_writer("srt").dumps(make_timeline())
    cues = list(srt.parse(text))
    assert [c.content for c in cues] == ["[no speech]", "English (eng) 87%", "German (deu) 66%"]
    assert cues[1].end.total_seconds() == pytest.approx(12.346)
    assert srt.compose(cues, reindex=False) == text


def test_writer_is_chosen_by_extension():
    assert writer_for_path("out/x.SRT").name == "srt"
    with pytest.raises(UsageError):
        writer_for_path("x.docx")
    with pytest.raises(UsageError, match="unknown format"):
        get_writer("docx")


def test_dump_is_atomic_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("previous")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("langspan.writers.base.os.replace", failing_replace)
    with pytest.raises(ExportError, match="No space left"):
        get_writer("json").dump(make_timeline(), target)
    assert target.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [target]


def test_dump_into_a_missing_folder_is_an_export_error(tmp_path):
    with pytest.raises(ExportError, match="cannot write"):
        get_writer("srt").dump(make_timeline(), tmp_path / "nope" / "x.srt")


def test_speech_seconds_count_only_languages():
    assert make_timeline().speech_seconds() == pytest.approx({"eng": 8.3456, "deu": 7.6544})


def test_speech_share_is_a_fraction_of_the_duration():
    # 20 s timeline: 4 s of non-speech are part of the duration but no language's share.
    assert make_timeline().speech_share() == pytest.approx({"eng": 8.3456 / 20, "deu": 7.6544 / 20})
    empty = Timeline("x.wav", None, 0.0, "m", None, {}, (Span(0.0, 0.0, "eng", 0.9),))
    assert empty.speech_share() == {}


SPANS = (
    Span(0.0, 1.25, "nonspeech", 1.0),
    Span(1.25, 3661.5, "eng", 0.9134, (Alternative(0.9134, "eng"), Alternative(0.05, "sco"))),
    Span(3661.5, 3661.5, "deu", 0.5),  # zero length: no cue, no RTTM turn
    Span(3661.5, 3663.0, "cpe", 0.61234),  # "Creoles and pidgins, English-based": a comma in the name
    Span(3663.0, 3664.0, "und", 0.3),
)


def timeline(source: str = "my talk.mp4", stream: int | None = 1, spans=SPANS) -> Timeline:
    return Timeline(source, stream, 3664.0, "tiny", None, {"window": 2.0}, tuple(spans), ("eng", "deu"))


def test_srt_parses_with_the_srt_package_one_cue_per_nonempty_span():
    cues = list(srt.parse(SRTWriter().dumps(timeline())))
    assert [(c.start.total_seconds(), c.end.total_seconds()) for c in cues] == [
        (0.0, 1.25), (1.25, 3661.5), (3661.5, 3663.0), (3663.0, 3664.0)
    ]  # fmt: skip
    assert [c.index for c in cues] == [1, 2, 3, 4]
    assert cues[0].content == "[no speech]"
    assert cues[1].content == "English (eng) 91%"
    assert cues[3].content == "[unknown language]"


def test_vtt_parses_with_webvtt_py_and_matches_the_srt_cues():
    text = VTTWriter().dumps(timeline())
    assert text.startswith("WEBVTT\n\n")
    captions = list(webvtt.from_string(text))
    assert [(c.start, c.end) for c in captions] == [
        ("00:00:00.000", "00:00:01.250"), ("00:00:01.250", "01:01:01.500"),
        ("01:01:01.500", "01:01:03.000"), ("01:01:03.000", "01:01:04.000"),
    ]  # fmt: skip
    subtitles = list(srt.parse(SRTWriter().dumps(timeline())))
    assert [c.text for c in captions] == [s.content for s in subtitles]


def test_srt_and_vtt_differ_only_in_header_numbers_and_decimal_marker():
    srt_lines = SRTWriter().dumps(timeline()).splitlines()
    vtt_lines = VTTWriter().dumps(timeline()).splitlines()
    without_numbers = [line for line in srt_lines if not line.isdigit()]
    assert vtt_lines[2:] == [line.replace(",", ".") if "-->" in line else line for line in without_numbers]


RTTM_LINE = re.compile(r"^SPEAKER (\S+) (\d+) (\d+\.\d{3}) (\d+\.\d{3}) <NA> <NA> (\S+) <NA> <NA>$")


def test_rttm_has_ten_typed_fields_per_speech_span_and_no_spaces_in_the_uri():
    lines = RTTMWriter().dumps(timeline()).splitlines()
    assert len(lines) == 3  # nonspeech and the zero-length span are not turns
    turns = []
    for line in lines:
        fields = line.split(" ")
        assert len(fields) == 10
        match = RTTM_LINE.match(line)
        assert match, line
        uri, channel, start, duration, language = match.groups()
        assert uri == "my_talk" and channel == "1"
        assert float(duration) > 0
        turns.append((float(start), float(start) + float(duration), language))
    assert turns == [(1.25, 3661.5, "eng"), (3661.5, 3663.0, "cpe"), (3663.0, 3664.0, "und")]


@pytest.mark.parametrize(("writer", "delimiter"), [(CSVWriter(), ","), (TSVWriter(), "\t")])
def test_csv_and_tsv_parse_with_the_csv_module(writer, delimiter):
    rows = list(csv.DictReader(io.StringIO(writer.dumps(timeline())), delimiter=delimiter))
    assert list(rows[0]) == ["start_ms", "end_ms", "language", "name", "confidence"]
    assert [(int(r["start_ms"]), int(r["end_ms"])) for r in rows] == [
        (0, 1250), (1250, 3661500), (3661500, 3661500), (3661500, 3663000), (3663000, 3664000)
    ]  # fmt: skip
    assert rows[3]["name"] == "Creoles and pidgins, English\u2011based"  # the comma survives quoting
    assert [float(r["confidence"]) for r in rows] == [1.0, 0.9134, 0.5, 0.6123, 0.3]
    assert [r["language"] for r in rows] == ["nonspeech", "eng", "deu", "cpe", "und"]


def test_audacity_label_track_has_three_tab_separated_columns():
    rows = list(csv.reader(io.StringIO(AudacityWriter().dumps(timeline())), delimiter="\t"))
    assert all(len(row) == 3 for row in rows)
    assert [(float(start), float(end)) for start, end, _ in rows] == [(s.start, s.end) for s in SPANS]
    assert rows[1][2] == "English (eng) 91%"


def test_jsonl_is_one_json_object_per_span_naming_source_and_stream():
    lines = JSONLinesWriter().dumps(timeline()).splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == len(SPANS)
    assert all(r["source"] == "my talk.mp4" and r["stream"] == 1 for r in records)
    assert [(r["start"], r["end"], r["language"]) for r in records] == [(s.start, s.end, s.language) for s in SPANS]
    assert records[1]["alternatives"][1] == {"language": "sco", "name": "Scots", "probability": 0.05}


def test_empty_timeline_gives_headers_only():
    empty = timeline(spans=())
    assert SRTWriter().dumps(empty) == ""
    assert VTTWriter().dumps(empty) == "WEBVTT\n\n"
    assert RTTMWriter().dumps(empty) == ""
    assert CSVWriter().dumps(empty) == "start_ms,end_ms,language,name,confidence\n"
    assert list(webvtt.from_string(VTTWriter().dumps(empty))) == []


def test_all_expands_to_every_format_once_in_registry_order():
    assert [w.name for w in get_writers(["srt", "all", "SRT"])] == ["srt"] + [n for n in WRITERS if n != "srt"]
    assert set(WRITERS) == {
        "json", "jsonl", "srt", "vtt", "rttm", "csv", "tsv", "audacity", "html", "ffmetadata", "podcast-chapters"
    }
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        get_writers(["xml"])


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_extension_finds_the_writer_and_dump_writes_atomically(name, tmp_path):
    writer = get_writer(name)
    target = tmp_path / f"out.{writer.extension}"
    assert type(writer_for_path(target)) is type(writer)
    writer.dump(timeline(), target)
    assert target.read_text(encoding="utf-8") == writer.dumps(timeline())
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left behind


def test_dumps_all_concatenates_per_stream_documents():
    first, second = timeline(stream=1), timeline(stream=2)
    assert RTTMWriter().dumps_all([first, second]) == RTTMWriter().dumps(first) + RTTMWriter().dumps(second)
    assert not RTTMWriter.combines_tracks and get_writer("html").combines_tracks


def test_rttm_uri_of_stdin_and_odd_names():
    assert RTTMWriter().dumps(timeline(source="-")).split()[1] == "stdin"
    assert RTTMWriter().dumps(timeline(source=str(Path("a b\tc.wav")))).split()[1] == "a_b_c"
