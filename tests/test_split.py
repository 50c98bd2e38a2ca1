"""`langspan split`: pieces whose durations ffprobe confirms, names that carry index, language and times, a
manifest that lists them, all or nothing on failure, and the command end to end with the tiny model."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from conftest import TINY_MODEL
from langspan.cli import app
from langspan.editing.split import split_file
from langspan.engine.local import DetectOptions
from langspan.errors import ExportError, MediaError
from langspan.tagging import write as tagwriter
from tagging_media import ffprobe, folder_listing, make_movie, sha256, tone_classifier, two_languages

SCHEMA = json.loads(resources.files("langspan").joinpath("schema/split.schema.json").read_text())
# Tones: the scripted classifier hears 400 Hz as German, 2 kHz as French; a low switch penalty lets 4 s of
# French between German stand (the default smooths away a change that only two windows support).
OPTIONS = DetectOptions(vad=False, switch_penalty=1.0)
# Stream copy cuts at packet boundaries: within a frame or two of the span (MP3 at 16 kHz: 72 ms frames).
COPY_TOLERANCE = 0.15


def duration(path: Path) -> float:
    return float(ffprobe(path)["format"]["duration"])


@pytest.fixture
def talk(tmp_path) -> Path:
    return two_languages(tmp_path / "in", "talk.mp3", seconds=4, parts=3)  # German, French, German


@pytest.mark.slow
def test_one_file_per_span_with_the_spans_duration(talk, tmp_path):
    out = tmp_path / "out"
    digest = sha256(talk)
    result = split_file(talk, OPTIONS, output_dir=out, classifier=tone_classifier())
    assert [(p.index, p.language) for p in result.pieces] == [(1, "deu"), (2, "fra"), (3, "deu")]
    manifest = json.loads(result.manifest.read_text())
    jsonschema.validate(manifest, SCHEMA)
    assert manifest["schema"] == "langspan.split" and manifest["mode"] == "copy" and not manifest["by_language"]
    assert sorted(folder_listing(out)) == sorted([entry["file"] for entry in manifest["files"]] + ["talk.split.json"])
    for entry, span in zip(manifest["files"], result.timeline.spans, strict=True):
        assert (entry["start"], entry["end"]) == (round(span.start, 3), round(span.end, 3))
        assert entry["file"].startswith(f"talk.{entry['index']:03d}.{entry['language']}.")
        assert abs(duration(out / entry["file"]) - (span.end - span.start)) <= COPY_TOLERANCE
        assert abs(int(ffprobe(out / entry["file"])["format"]["bit_rate"]) - 32_000) < 2_000  # copied, not re-encoded
    first = manifest["files"][0]["file"]
    assert first.startswith("talk.001.deu.00h00m00.000s-00h00m0") and first.endswith("s.mp3")
    assert sha256(talk) == digest  # the input is only read


def test_by_language_joins_each_languages_spans(talk, tmp_path):
    out = tmp_path / "out"
    result = split_file(talk, OPTIONS, output_dir=out, by_language=True, classifier=tone_classifier())
    german, french = result.pieces
    assert (german.language, len(german.spans), french.language, len(french.spans)) == ("deu", 2, "fra", 1)
    assert abs(duration(german.path) - german.duration) <= 2 * COPY_TOLERANCE  # two cuts
    assert abs(duration(french.path) - french.duration) <= COPY_TOLERANCE
    assert abs(german.duration - 8) <= 1 and ffprobe(german.path)["streams"][0]["codec_name"] == "mp3"
    manifest = json.loads(result.manifest.read_text())
    jsonschema.validate(manifest, SCHEMA)
    assert manifest["by_language"] and manifest["files"][0]["spans"] == [
        {"start": start, "end": end} for start, end in german.spans
    ]


@pytest.mark.slow
def test_reencode_cuts_anew(talk, tmp_path):
    result = split_file(talk, OPTIONS, output_dir=tmp_path / "out", reencode=True, classifier=tone_classifier())
    for piece in result.pieces:
        probe = ffprobe(piece.path)
        # Re-encoded with ffmpeg's default MP3 settings, where a copy keeps the source's 32 kb/s frames.
        assert abs(int(probe["format"]["bit_rate"]) - 32_000) > 4_000
        assert abs(float(probe["format"]["duration"]) - piece.duration) <= COPY_TOLERANCE


def test_a_movie_piece_keeps_the_video_and_the_analysed_track_only(tmp_path):
    movie = make_movie(tmp_path / "in", "film.mkv")
    result = split_file(movie, OPTIONS, output_dir=tmp_path / "out", stream=2, classifier=tone_classifier())
    [piece] = result.pieces
    streams = ffprobe(piece.path)["streams"]
    assert [s["codec_type"] for s in streams] == ["video", "audio"]
    assert streams[1]["tags"].get("title") is None and piece.language == "fra"  # stream 2, not the titled stream 1
    assert ffprobe(piece.path)["chapters"] == []  # the film's chapters describe the whole film


def test_a_source_without_extension_gets_its_containers(tmp_path):
    talk = two_languages(tmp_path / "in", "talk.mkv", seconds=4)
    bare = talk.rename(talk.with_suffix(""))
    result = split_file(bare, OPTIONS, output_dir=tmp_path / "out", classifier=tone_classifier())
    assert [p.path.suffix for p in result.pieces] == [".mkv", ".mkv"]
    assert ffprobe(result.pieces[0].path)["format"]["format_name"].startswith("matroska")


@pytest.mark.parametrize("failure", [MediaError("ffmpeg could not copy the streams"), KeyboardInterrupt()])
@pytest.mark.slow
def test_existing_files_are_kept_and_failures_leave_nothing(talk, tmp_path, monkeypatch, failure):
    out = tmp_path / "out"
    split_file(talk, OPTIONS, output_dir=out, classifier=tone_classifier())
    listing = folder_listing(out)
    with pytest.raises(ExportError, match="already exists .pass --overwrite"):
        split_file(talk, OPTIONS, output_dir=out, classifier=tone_classifier())
    assert folder_listing(out) == listing
    fresh = tmp_path / "fresh"
    calls = []
    real = tagwriter.run_ffmpeg

    def fail_second(command, source):
        calls.append(command)
        if len(calls) == 2:
            raise failure  # ffmpeg failing, or Ctrl-C, while the second piece is cut
        real(command, source)

    monkeypatch.setattr(tagwriter, "run_ffmpeg", fail_second)
    with pytest.raises(type(failure)):
        split_file(talk, OPTIONS, output_dir=fresh, classifier=tone_classifier())
    assert folder_listing(fresh) == []  # the first piece, already complete, was taken back


def run(*args: str):
    result = CliRunner().invoke(app, ["split", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_cli_prints_the_manifest_path_and_fails_in_one_line(tmp_path):
    talk = two_languages(tmp_path / "in", "talk.m4a", seconds=2)
    out = tmp_path / "out"
    # The tiny model's speech detector hears no speech in tones: nothing to split, unless asked to keep it.
    code, stdout, stderr = run(str(talk), "-d", str(out), "--model", str(TINY_MODEL), "-q")
    assert (code, stdout) == (1, "") and "no speech to split" in stderr and "Traceback" not in stderr
    assert not out.exists()
    code, stdout, stderr = run(str(talk), "-d", str(out), "--keep-nonspeech", "--model", str(TINY_MODEL), "-q")
    assert code == 0, stderr
    manifest = json.loads(Path(stdout.strip()).read_text())
    [entry] = manifest["files"]
    assert entry["language"] == "nonspeech" and abs(duration(out / entry["file"]) - 4) <= COPY_TOLERANCE
