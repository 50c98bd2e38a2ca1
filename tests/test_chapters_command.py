"""Language chapters written into MP3, M4A/MP4 and MKV: read back with ffprobe -show_chapters directly, every other
stream and tag kept, the original untouched on failure, and `langspan chapters` end to end with the tiny model."""

from __future__ import annotations

import json
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from conftest import TINY_MODEL, ffmpeg_path
from langspan.editing.chapters import ChapterEntry, add_language_chapters, planned_chapters
from langspan.engine.local import DetectOptions
from langspan.errors import MediaError, UsageError
from langspan.tagging import write as tagwriter
from langspan.writers.chapters import Chapter
from tagging_media import ffprobe, folder_listing, make_movie, sha256, tone_classifier, two_languages

SCHEMA = json.loads(resources.files("langspan").joinpath("schema/podcast-chapters.schema.json").read_text())
# Tones instead of speech: no speech detection, so the scripted classifier hears 400 Hz as German, 2 kHz as French.
OPTIONS = DetectOptions(vad=False)


def chapters_of(path: Path) -> list[tuple[float, float, str]]:
    return [(float(c["start_time"]), float(c["end_time"]), c["tags"]["title"]) for c in ffprobe(path)["chapters"]]


@pytest.mark.parametrize("name", ["talk.mp3", "talk.m4a", "talk.mkv"])
@pytest.mark.slow
def test_in_place_chapters_follow_the_languages_and_nothing_else_changes(tmp_path, name):
    path = two_languages(tmp_path / "media", name)
    before = ffprobe(path)
    result = add_language_chapters(path, OPTIONS, in_place=True, classifier=tone_classifier())
    assert result.written == str(path.resolve())
    chapters = chapters_of(path)
    assert [title for _, _, title in chapters] == ["German", "French"]  # the change placed within a window:
    assert chapters[0][0] == 0 and abs(chapters[0][1] - 6.0) <= 0.5 and chapters[1][0] == chapters[0][1]
    # What ffprobe reads is what the command says it wrote, to the millisecond.
    assert [(c.start, c.end, c.title) for c in result.chapters] == [(a, b, t) for a, b, t in chapters]
    after = ffprobe(path)
    assert after["format"]["tags"]["title"] == "Episode 1"
    [old], [new] = before["streams"], [s for s in after["streams"] if s["codec_type"] == "audio"]
    assert (new["codec_name"], new["sample_rate"]) == (old["codec_name"], old["sample_rate"])
    assert abs(float(after["format"]["duration"]) - float(before["format"]["duration"])) < 0.1
    assert folder_listing(path.parent) == [name]  # no temporary file left behind


@pytest.mark.slow
def test_existing_chapters_are_kept_and_a_second_run_changes_nothing(tmp_path):
    movie = make_movie(tmp_path / "films", "film.mkv")
    before = ffprobe(movie)
    add_language_chapters(movie, OPTIONS, in_place=True, stream=1, classifier=tone_classifier())
    # The film's own chapters, exactly as they were, and the language chapter among them by start time.
    assert [(start, end, title) for start, end, title in chapters_of(movie)] == [
        (0.0, 2.0, "Opening"), (0.0, 4.0, "German"), (2.0, 4.0, "Ending"),
    ]  # fmt: skip
    after = ffprobe(movie)
    # Video, both audio tracks, subtitles and the attachment survive, with their tags and global tags.
    assert [s["codec_type"] for s in after["streams"]] == [s["codec_type"] for s in before["streams"]]
    assert [s.get("tags", {}).get("title") for s in after["streams"]] == [
        s.get("tags", {}).get("title") for s in before["streams"]
    ]
    assert after["format"]["tags"]["title"] == "Fixture film"
    digest = sha256(movie)
    again = add_language_chapters(movie, OPTIONS, in_place=True, stream=1, classifier=tone_classifier())
    assert again.written is None and sha256(movie) == digest


def test_replace_drops_the_files_chapters(tmp_path):
    movie = make_movie(tmp_path / "films", "film.mkv")
    add_language_chapters(movie, OPTIONS, in_place=True, replace=True, stream=1, classifier=tone_classifier())
    assert [title for _, _, title in chapters_of(movie)] == ["German"]  # stream 1 is the low tone throughout


@pytest.mark.slow
def test_mp4_chapters_start_where_none_starts_and_one_chapter_track_remains(tmp_path):
    movie = make_movie(tmp_path, "film.mp4", seconds=6)  # the film's chapters: Opening 0-2 s, Ending 2-4 s
    add_language_chapters(movie, OPTIONS, in_place=True, stream=2, classifier=tone_classifier())
    # MP4 keeps only where chapters start: French starts at 0 like Opening, so it is not added there.
    assert [title for _, _, title in chapters_of(movie)] == ["Opening", "Ending"]
    add_language_chapters(movie, OPTIONS, in_place=True, replace=True, stream=2, classifier=tone_classifier())
    assert [title for _, _, title in chapters_of(movie)] == ["French"]
    text_tracks = [s for s in ffprobe(movie)["streams"] if s.get("codec_tag_string") == "text"]
    assert len(text_tracks) <= 1  # the old chapter track was not copied beside the new one


@pytest.mark.parametrize("failure", [MediaError("the copy with chapters is not faithful"), KeyboardInterrupt()])
def test_a_failed_verification_or_ctrl_c_leaves_the_original(tmp_path, monkeypatch, failure):
    path = two_languages(tmp_path / "media", "talk.mp3")
    digest = sha256(path)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where the chapters' metadata file goes

    def unfaithful(*args, **kwargs):
        raise failure

    monkeypatch.setattr(tagwriter, "verify", unfaithful)
    with pytest.raises(type(failure)):
        add_language_chapters(path, OPTIONS, in_place=True, classifier=tone_classifier())
    assert sha256(path) == digest and folder_listing(path.parent) == ["talk.mp3"]
    assert folder_listing(spool) == []  # the metadata file went too


def test_refusals_come_before_any_analysis(tmp_path):
    path = two_languages(tmp_path, "talk.mp3")
    never = object()  # not a classifier: analysing anything would fail with an AttributeError
    with pytest.raises(UsageError, match="a mp3 source needs a .mp3 name"):
        add_language_chapters(path, OPTIONS, output=tmp_path / "talk.mkv", classifier=never)
    (tmp_path / "exists.mp3").write_bytes(b"mine")
    with pytest.raises(Exception, match="already exists .pass --overwrite"):
        add_language_chapters(path, OPTIONS, output=tmp_path / "exists.mp3", classifier=never)
    wav = tmp_path / "talk.wav"
    subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), str(wav)], check=True)
    with pytest.raises(MediaError, match="cannot write chapters into wav files"):
        add_language_chapters(wav, OPTIONS, in_place=True, classifier=never)
    assert (tmp_path / "exists.mp3").read_bytes() == b"mine"


def run(*args: str):
    result = CliRunner().invoke(app_(), ["chapters", *args])
    return result.exit_code, result.stdout, result.stderr


def app_():
    from langspan.cli import app

    return app


@pytest.mark.slow
def test_cli_output_json_and_input_untouched(tmp_path):
    path = two_languages(tmp_path, "talk.m4a", seconds=3)
    digest = sha256(path)
    out = tmp_path / "with chapters.m4a"
    code, stdout, stderr = run(str(path), "--output", str(out), "--json", "--model", str(TINY_MODEL), "-q")
    assert code == 0, stderr
    document = json.loads(stdout)
    jsonschema.validate(document, SCHEMA)
    # The tiny model's speech detector hears no speech in tones: one chapter over the whole file.
    assert [(c["startTime"], c["title"]) for c in document["chapters"]] == [(0.0, "No speech")]
    assert [(start, title) for start, _, title in chapters_of(out)] == [(0.0, "No speech")]
    assert sha256(path) == digest


@pytest.mark.slow
def test_cli_errors_are_one_line_and_write_nothing(tmp_path):
    path = two_languages(tmp_path, "talk.mp3", seconds=3)
    code, stdout, stderr = run(str(tmp_path / "missing.mp3"), "--in-place", "--model", str(TINY_MODEL))
    assert (code, stdout) == (1, "") and stderr.strip().count("\n") == 0 and "no such file" in stderr
    assert "Traceback" not in stderr
    code, _, stderr = run(str(path), str(path), "--output", str(tmp_path / "x.mp3"), "--model", str(TINY_MODEL))
    assert code == 2 and "single input" in stderr
    code, _, stderr = run(str(path), "--model", str(TINY_MODEL))  # neither --in-place nor --output: a dry run
    assert code == 0 and "dry run" in stderr and ffprobe(path)["chapters"] == []
    assert folder_listing(tmp_path) == ["talk.mp3"]


def test_an_m4a_gets_language_chapters_between_its_own(tmp_path):
    talk = two_languages(tmp_path / "src", "talk.m4a")  # German 0-6 s, French 6-12 s
    (tmp_path / "intro.ffmeta").write_text(";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=Intro\n")
    own = tmp_path / "own.m4a"
    subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(talk), "-f", "ffmetadata", "-i", str(tmp_path / "intro.ffmeta"),
                    "-map", "0", "-c", "copy", "-map_chapters", "1", str(own)], check=True)  # fmt: skip
    result = add_language_chapters(own, OPTIONS, in_place=True, classifier=tone_classifier())
    french = result.chapters[1].start
    # German starts where Intro does and is not added; Intro now ends where French begins.
    assert chapters_of(own) == [(0.0, french, "Intro"), (french, result.chapters[1].end, "French")]


def test_planned_chapters_keep_the_files_own_exactly():
    existing = [
        {"time_base": "1/1000000000", "start": 0, "end": 1_500_000_001, "tags": {"title": "Cold open", "artist": "A"}},
        {"time_base": "1/1000000000", "start": 1_500_000_001, "end": 9_000_000_000, "tags": {"title": "Talk"}},
    ]
    language = [Chapter(0, 4000, "eng", "English"), Chapter(4000, 9000, "deu", "German")]
    planned = planned_chapters(existing, language, replace=False)
    assert [(e.title, e.time_base, e.start, e.end) for e in planned] == [
        ("Cold open", "1/1000000000", 0, 1_500_000_001), ("English", "1/1000", 0, 4000),
        ("Talk", "1/1000000000", 1_500_000_001, 9_000_000_000), ("German", "1/1000", 4000, 9000),
    ]  # fmt: skip
    assert dict(planned[0].tags) == {"title": "Cold open", "artist": "A"}
    # Once written, the same language chapters are not added again.
    written = [{"time_base": e.time_base, "start": e.start, "end": e.end, "tags": dict(e.tags)} for e in planned]
    assert planned_chapters(written, language, replace=False) == planned
    # Start-only containers: English collides with Cold open; ends follow the next start.
    start_only = planned_chapters(existing, language, replace=False, start_only=True)
    assert [(e.title, e.seconds(e.start), e.seconds(e.end)) for e in start_only] == [
        ("Cold open", 0.0, 1.500000001), ("Talk", 1.500000001, 4.0), ("German", 4.0, 9.0),
    ]  # fmt: skip
    assert planned_chapters(existing, language, replace=True) == [ChapterEntry.of_chapter(c) for c in language]
