"""`langspan tag` end to end: real model loading (fixtures/tiny-lid), real ffmpeg, exit codes, stderr/stdout."""

from __future__ import annotations

import json

import pytest
from conftest import TINY_MODEL
from tagging_media import folder_listing, languages, make_movie, sha256
from typer.testing import CliRunner

from langspan import cli
from langspan.cli import app

TINY = str(TINY_MODEL)
# The tiny model's labels in each container's form, written out by hand (see test_container_codes for all 256).
MATROSKA = {"eng": "eng", "deu": "ger", "fra": "fre", "spa": "spa", "cmn": "chi"}
MP4 = {"eng": "eng", "deu": "deu", "fra": "fra", "spa": "spa", "cmn": "zho"}
# The random tiny model is never confident: accept whatever it says, so the writing path runs.
ANY_CONFIDENCE = ["--model", TINY, "--min-confidence", "0"]


def tag(*args: str):
    return CliRunner().invoke(app, ["tag", *args])


def reports(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.parametrize("name, codes", [("film.mkv", MATROSKA), ("film.mp4", MP4)])
def test_in_place_then_nothing_left_to_do(tmp_path, name, codes):
    movie = make_movie(tmp_path, name)
    listing = folder_listing(tmp_path)
    result = tag(str(movie), "--in-place", "--json", *ANY_CONFIDENCE)
    assert result.exit_code == 0, result.stderr
    [report] = reports(result.stdout)
    detected = {s["stream"]: s["detected"]["language"] for s in report["streams"]}
    assert languages(movie) == {index: codes[language] for index, language in detected.items()}
    assert [s["action"] for s in report["streams"]] == ["set", "set"]
    assert "und → " in result.stderr and movie.name in result.stderr
    assert folder_listing(tmp_path) == listing

    digest = sha256(movie)
    again = tag(str(movie), "--in-place", "--json", "--model", "no/such-model")  # the model is never needed
    assert again.exit_code == 0, again.stderr
    assert [s["action"] for s in reports(again.stdout)[0]["streams"]] == ["tagged", "tagged"]
    assert sha256(movie) == digest


def test_check_exits_3_on_a_wrong_tag_and_writes_nothing(tmp_path):
    movie = make_movie(tmp_path, "film.mkv", ("jpn", None))  # the tiny model knows no Japanese: always wrong
    digest = sha256(movie)
    result = tag(str(movie), "--check", "--json", *ANY_CONFIDENCE)
    assert result.exit_code == 3, result.stderr
    assert [s["verdict"] for s in reports(result.stdout)[0]["streams"]] == ["disagree", "untagged"]
    assert "disagree" in result.stderr
    assert sha256(movie) == digest


def test_check_passes_when_nothing_disagrees(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    result = tag(str(movie), "--check", *ANY_CONFIDENCE)
    assert result.exit_code == 0, result.stderr


def test_without_a_destination_it_is_a_dry_run(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    digest = sha256(movie)
    result = tag(str(movie), *ANY_CONFIDENCE)
    assert result.exit_code == 0, result.stderr
    assert "dry run" in result.stderr
    assert result.stdout == ""  # no --json: stdout stays empty
    assert sha256(movie) == digest


def test_output_file(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    result = tag(str(movie), "--output", str(tmp_path / "tagged.mkv"), *ANY_CONFIDENCE)
    assert result.exit_code == 0, result.stderr
    assert None not in languages(tmp_path / "tagged.mkv").values()
    assert set(languages(movie).values()) == {None}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--in-place", "--output", "o.mkv"], "cannot be used together"),
        (["--check", "--in-place"], "writes nothing"),
        (["--languages", "eng,xx1"], "unknown language code"),
        (["--min-confidence", "2"], "between 0 and 1"),
        (["--engine", "gstreamer"], "--engine must be one of"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    movie = make_movie(tmp_path, "film.mkv")
    digest = sha256(movie)
    result = tag(str(movie), *args, "--model", TINY)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert sha256(movie) == digest


def test_output_takes_one_input(tmp_path):
    result = tag("a.mkv", "b.mkv", "--output", str(tmp_path / "o.mkv"))
    assert result.exit_code == 2 and "single input" in result.stderr


def test_a_bad_input_fails_alone(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    result = tag(str(tmp_path / "missing.mkv"), str(movie), "--in-place", *ANY_CONFIDENCE)
    assert result.exit_code == 1
    assert "missing.mkv: no such file" in result.stderr
    assert None not in languages(movie).values()  # the good input was still tagged


def test_a_model_that_cannot_load_stops_the_run(tmp_path):
    first, second = make_movie(tmp_path, "a.mkv"), make_movie(tmp_path, "b.mkv")
    result = tag(str(first), str(second), "--in-place", "--model", str(tmp_path / "no-model"))
    assert result.exit_code == 1
    assert result.stderr.count("cannot load model") == 1


def test_interrupt_while_writing_exits_130_and_leaves_the_original(tmp_path, monkeypatch):
    from langspan import tagwriter

    movie = make_movie(tmp_path, "film.mkv")
    digest, listing = sha256(movie), folder_listing(tmp_path)
    real = tagwriter.run_ffmpeg

    def interrupted(command, source):
        real(command, source)
        raise KeyboardInterrupt  # Ctrl-C after ffmpeg wrote the temporary copy, before the rename

    def exit_now(code: int):  # the real os._exit would end pytest
        raise SystemExit(code)

    monkeypatch.setattr(tagwriter, "run_ffmpeg", interrupted)
    monkeypatch.setattr(cli.os, "_exit", exit_now)
    result = tag(str(movie), "--in-place", *ANY_CONFIDENCE)
    assert result.exit_code == 130
    assert result.stderr.endswith("langspan: interrupted\n")
    assert sha256(movie) == digest
    assert folder_listing(tmp_path) == listing
