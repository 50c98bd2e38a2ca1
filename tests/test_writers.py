import json
from importlib import resources

import jsonschema
import numpy as np
import pytest
import srt

from langspan.errors import ExportError, UsageError
from langspan.timeline import Alternative, Span, Timeline, WindowResult
from langspan.writers import get_writer, writer_for_path

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

    monkeypatch.setattr("langspan.writers.os.replace", failing_replace)
    with pytest.raises(ExportError, match="No space left"):
        get_writer("json").dump(make_timeline(), target)
    assert target.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [target]


def test_dump_into_a_missing_folder_is_an_export_error(tmp_path):
    with pytest.raises(ExportError, match="cannot write"):
        get_writer("srt").dump(make_timeline(), tmp_path / "nope" / "x.srt")


def test_speech_share_counts_only_languages():
    assert make_timeline().speech_share() == pytest.approx({"eng": 8.3456, "deu": 7.6544})
