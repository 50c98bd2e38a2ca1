"""`langspan tag` end to end: real model loading (fixtures/tiny-lid), real ffmpeg, exit codes, stderr/stdout."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, TINY_MODEL, ffmpeg_path
from langspan.cli import app
from langspan.cli import common as cli_common
from tagging_media import (
    assert_only_languages_changed,
    ffprobe,
    folder_listing,
    languages,
    make_movie,
    mkvmerge_tracks,
    sha256,
)

# Every test here runs the real CLI with a real checkpoint on real media: seconds each.
pytestmark = pytest.mark.slow

TINY = str(TINY_MODEL)
# The tiny model's labels in each container's form, written out by hand (see test_container_codes for all 256).
# Special codes are the same in both; synthetic tones are no speech (zxx) once speech detection runs.
SPECIAL = {"zxx": "zxx", "mul": "mul"}
MATROSKA = {"eng": "eng", "deu": "ger", "fra": "fre", "spa": "spa", "cmn": "chi", **SPECIAL}
MP4 = {"eng": "eng", "deu": "deu", "fra": "fra", "spa": "spa", "cmn": "zho", **SPECIAL}
# The random tiny model is never confident: accept whatever it says, so the writing path runs.
ANY_CONFIDENCE = ["--model", TINY, "--min-confidence", "0"]


def tag(*args: str):
    return CliRunner().invoke(app, ["tag", *args])


def reports(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.parametrize(("name", "codes"), [("film.mkv", MATROSKA), ("film.mp4", MP4)])
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
    ("args", "message"),
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
    from langspan.tagging import write as tagwriter

    movie = make_movie(tmp_path, "film.mkv")
    digest, listing = sha256(movie), folder_listing(tmp_path)
    real = tagwriter.run_ffmpeg

    def interrupted(command, source):
        real(command, source)
        raise KeyboardInterrupt  # Ctrl-C after ffmpeg wrote the temporary copy, before the rename

    def exit_now(code: int):  # the real os._exit would end pytest
        raise SystemExit(code)

    monkeypatch.setattr(tagwriter, "run_ffmpeg", interrupted)
    monkeypatch.setattr(cli_common.os, "_exit", exit_now)
    result = tag(str(movie), "--in-place", *ANY_CONFIDENCE)
    assert result.exit_code == 130
    assert result.stderr.endswith("langspan: interrupted\n")
    assert sha256(movie) == digest
    assert folder_listing(tmp_path) == listing


# --- real languages: the trained stand-in model on the demo media with ground truth ---------------------------

DEMO = FIXTURES / "demo"
STANDIN = ["--model", str(FIXTURES / "standin-lid")]
# The stand-in's four languages in each container's form, written out by hand.
B_FORM = {"deu": "ger", "eng": "eng", "fra": "fre", "spa": "spa"}
T_FORM = {"deu": "deu", "eng": "eng", "fra": "fra", "spa": "spa"}


def truth(name: str) -> dict[int, str]:
    """The true language of each audio stream of a demo file, by ffprobe index."""
    document = json.loads((DEMO / name).read_text())
    return {stream["index"]: stream["spans"][0]["language"] for stream in document["streams"]}


@pytest.fixture
def demo_copy(tmp_path):
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copyfile(DEMO / name, target)
        return target

    return copy


def test_untagged_tracks_get_their_true_languages_and_nothing_else_changes(demo_copy):
    movie = demo_copy("tracks_untagged.mkv")
    before, listing = ffprobe(movie), folder_listing(movie.parent)
    result = tag(str(movie), "--in-place", "--json", *STANDIN)
    assert result.exit_code == 0, result.stderr
    expected = {index: B_FORM[language] for index, language in truth("tracks_untagged.truth.json").items()}
    assert languages(movie) == expected
    assert_only_languages_changed(before, ffprobe(movie), expected)
    assert folder_listing(movie.parent) == listing
    for stream in reports(result.stdout)[0]["streams"]:
        assert stream["detected"]["share"] >= 0.6 and stream["detected"]["confidence"] >= 0.5

    digest = sha256(movie)
    again = tag(str(movie), "--in-place", *STANDIN)
    assert again.exit_code == 0, again.stderr
    assert sha256(movie) == digest  # already tagged: nothing to do


def test_mkv_gets_bibliographic_codes_and_keeps_a_wrong_tag_unless_forced(demo_copy):
    movie = demo_copy("tracks.mkv")  # stream 1 untagged German, stream 2 French tagged "eng"
    true = truth("tracks.truth.json")
    assert (true, languages(movie)) == ({1: "deu", 2: "fra"}, {1: None, 2: "eng"})
    assert tag(str(movie), "--in-place", *STANDIN).exit_code == 0
    assert languages(movie) == {1: "ger", 2: "eng"}  # B form; the existing tag is kept
    assert tag(str(movie), "--in-place", "--force", *STANDIN).exit_code == 0
    assert languages(movie) == {1: "ger", 2: "fre"}


def test_check_exits_3_on_the_wrongly_tagged_demo_and_0_once_it_is_fixed(demo_copy):
    movie = demo_copy("tracks.mkv")
    digest = sha256(movie)
    result = tag(str(movie), "--check", "--json", *STANDIN)
    assert result.exit_code == 3, result.stderr
    verdicts = {s["stream"]: (s["verdict"], s["new"]) for s in reports(result.stdout)[0]["streams"]}
    assert verdicts == {1: ("untagged", "ger"), 2: ("disagree", "fre")}
    assert sha256(movie) == digest
    assert tag(str(movie), "--in-place", "--force", *STANDIN).exit_code == 0
    assert tag(str(movie), "--check", *STANDIN).exit_code == 0


def test_mp4_gets_terminology_codes(demo_copy):
    movie = demo_copy("tracks.mp4")
    before = ffprobe(movie)
    assert tag(str(movie), "--in-place", *STANDIN).exit_code == 0
    expected = {index: T_FORM[language] for index, language in truth("tracks_mp4.truth.json").items()}
    assert languages(movie) == expected == {1: "deu", 2: "eng"}
    assert_only_languages_changed(before, ffprobe(movie), expected)


def test_audio_only_mp4(demo_copy):
    movie = demo_copy("single.mp4")
    assert tag(str(movie), "--in-place", *STANDIN).exit_code == 0
    assert languages(movie) == {0: T_FORM[truth("single.truth.json")[0]]}


@pytest.mark.skipif(shutil.which("mkvpropedit") is None, reason="mkvtoolnix is not installed")
def test_mkvpropedit_engine_on_the_demo(demo_copy):
    movie = demo_copy("tracks.mkv")
    assert tag(str(movie), "--in-place", "--force", "--engine", "mkvpropedit", *STANDIN).exit_code == 0
    audio = [t["properties"] for t in mkvmerge_tracks(movie) if t["type"] == "audio"]
    assert [(p["language"], p["language_ietf"]) for p in audio] == [("ger", "de"), ("fre", "fr")]


@pytest.fixture(scope="module")
def long_german_movie(tmp_path_factory) -> Path:
    """The demo's German track looped to 200 s: long enough (over 48 probes × 2 s) for the sparse scan to stop early."""
    target = tmp_path_factory.mktemp("long") / "german.mkv"
    subprocess.run(
        [ffmpeg_path(), "-nostdin", "-v", "error", "-stream_loop", "20", "-i", str(DEMO / "tracks.mkv"),
         "-map", "0:a:0", "-t", "200", "-c:a", "libopus", "-b:a", "32k", str(target)],
        check=True,
    )  # fmt: skip
    return target


def test_a_long_track_is_tagged_from_probes_and_full_pass_agrees(long_german_movie):
    assert truth("tracks.truth.json")[1] == "deu"  # the first audio track, looped below
    scanned = tag(str(long_german_movie), "--dry-run", "--force", "--json", *STANDIN)
    full = tag(str(long_german_movie), "--dry-run", "--force", "--json", "--full-pass", *STANDIN)
    assert scanned.exit_code == full.exit_code == 0, scanned.stderr + full.stderr
    (by_probes,) = reports(scanned.stdout)[0]["streams"]
    (by_all,) = reports(full.stdout)[0]["streams"]
    assert by_probes["new"] == by_all["new"] == "ger"
    assert by_probes["detected"]["full_pass"] is False and by_all["detected"]["full_pass"] is True
    assert by_probes["detected"]["evidence_seconds"] < 50 < by_all["detected"]["evidence_seconds"]
    assert by_probes["detected"]["confidence"] >= 0.5
    assert "(scan)" in scanned.stderr
