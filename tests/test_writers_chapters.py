"""The chapter formats: ffmpeg's metadata file (read back by ffmpeg itself) and Podcasting 2.0 JSON chapters
(validated with jsonschema against the schema written from the published specification)."""

from __future__ import annotations

import json
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from conftest import MEDIA, TINY_MODEL, ffprobe_path
from langspan.cli import app
from langspan.timeline import Span, Timeline
from langspan.writers import WRITERS, FFMetadataWriter, PodcastChaptersWriter, get_writer, writer_for_path
from langspan.writers.chapters import language_chapters

SCHEMA = json.loads(resources.files("langspan").joinpath("schema/podcast-chapters.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(SCHEMA)


def timeline(spans, source="show/ep1.mp3") -> Timeline:
    return Timeline(source, 0, 30.0, "m", None, {}, tuple(spans), ("eng", "deu"))


SPANS = (
    Span(0.0, 4.0, "nonspeech", 1.0),
    Span(4.0, 10.0, "eng", 0.9),
    Span(10.0, 12.5, "eng", 0.8),  # the same language again: one chapter, not two
    Span(12.5, 12.5004, "deu", 0.7),  # shorter than the millisecond chapters count in: left out
    Span(12.5004, 20.0, "deu", 0.7),
    Span(20.0, 30.0, "und", 0.3),
)


def test_chapters_join_runs_of_one_language_and_name_them():
    chapters = language_chapters(timeline(SPANS))
    assert [(c.start_ms, c.end_ms, c.title) for c in chapters] == [
        (0, 4000, "No speech"), (4000, 12500, "English"), (12500, 20000, "German"), (20000, 30000, "Unknown language"),
    ]  # fmt: skip


def test_ffmetadata_text():
    text = FFMetadataWriter().dumps(timeline(SPANS[:2]))
    assert text == (
        ";FFMETADATA1\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=4000\ntitle=No speech\n"
        "\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=4000\nEND=10000\ntitle=English\n"
    )


def ffprobe_chapters(path: Path) -> list[dict]:
    result = subprocess.run(
        [ffprobe_path(), "-v", "error", "-f", "ffmetadata", "-show_chapters", "-of", "json", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return json.loads(result.stdout)["chapters"]


def test_ffmpeg_reads_back_every_chapter_and_escaped_title(tmp_path, monkeypatch):
    # Labels of other checkpoints may hold anything; ffmpeg's special characters must come back unchanged.
    odd = "a=b;c#d\\e\nf"
    monkeypatch.setattr("langspan.timeline.language_name", lambda code: odd if code == "xyz" else code)
    target = tmp_path / "chapters.ffmeta"
    FFMetadataWriter().dump(timeline([Span(0.0, 1.5, "xyz", 0.9), Span(1.5, 2.25, "eng", 0.9)]), target)
    chapters = ffprobe_chapters(target)
    assert [(c["start_time"], c["end_time"], c["tags"]["title"]) for c in chapters] == [
        ("0.000000", "1.500000", odd), ("1.500000", "2.250000", "eng"),
    ]  # fmt: skip


def test_podcast_chapters_match_the_schema_and_the_timeline():
    document = json.loads(PodcastChaptersWriter().dumps(timeline(SPANS)))
    jsonschema.validate(document, SCHEMA)
    assert document["version"] == "1.2.0" and document["fileName"] == "ep1.mp3"
    starts = [chapter["startTime"] for chapter in document["chapters"]]
    assert starts == sorted(starts) == [0.0, 4.0, 12.5, 20.0]  # the spec assumes ascending start times
    assert [c["endTime"] for c in document["chapters"][:-1]] == starts[1:]
    assert [c["title"] for c in document["chapters"]] == ["No speech", "English", "German", "Unknown language"]


def test_podcast_chapters_of_stdin_name_no_file():
    document = json.loads(PodcastChaptersWriter().dumps(timeline(SPANS, source="-")))
    jsonschema.validate(document, SCHEMA)
    assert "fileName" not in document


@pytest.mark.parametrize(
    "broken",
    [
        {"chapters": []},  # no version
        {"version": "1.2.0"},  # no chapters
        {"version": 1.2, "chapters": []},  # version must be a string
        {"version": "1.2.0", "chapters": [{"title": "Intro"}]},  # startTime is required
        {"version": "1.2.0", "chapters": [{"startTime": "0", "title": "Intro"}]},
        {"version": "1.2.0", "chapters": [{"startTime": -1}]},
        {"version": "1.2.0", "chapters": [{"startTime": 0, "toc": "no"}]},
        {"version": "1.2.0", "chapters": [{"startTime": 0, "location": {"name": "Berlin"}}]},  # geo is required
    ],
)
def test_the_schema_rejects_what_the_specification_forbids(broken):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_the_schema_accepts_the_specifications_optional_attributes():
    jsonschema.validate(
        {"version": "1.2.0", "title": "Ep 1", "podcastName": "Show", "waypoints": True, "chapters": [
            {"startTime": 0, "title": "Intro", "img": "https://example.org/a.jpg", "url": "https://example.org",
             "toc": False, "endTime": 94.5, "location": {"name": "Berlin", "geo": "geo:52.52,13.40", "osm": "R62422"}},
        ]},
        SCHEMA,
    )  # fmt: skip


def test_registered_and_found_by_their_extensions():
    assert {"ffmetadata", "podcast-chapters"} <= set(WRITERS)
    assert type(writer_for_path("ep1.chapters.json")) is PodcastChaptersWriter
    assert type(writer_for_path("ep1.ffmeta")) is FFMetadataWriter
    assert writer_for_path("ep1.json").name == "json"  # the longest matching extension wins, not the first
    assert get_writer("podcast-chapters").extension == "chapters.json"


@pytest.mark.slow
def test_detect_writes_chapter_files_chosen_by_extension(tmp_path):
    podcast, ffmeta = tmp_path / "chirp.chapters.json", tmp_path / "chirp.ffmeta"
    for target in (podcast, ffmeta):
        arguments = ["detect", str(MEDIA / "chirp.mp3"), "-o", str(target), "-m", str(TINY_MODEL), "-q"]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.stderr
    document = json.loads(podcast.read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["fileName"] == "chirp.mp3" and document["chapters"][0]["startTime"] == 0
    assert [c["tags"]["title"] for c in ffprobe_chapters(ffmeta)] == [c["title"] for c in document["chapters"]]
