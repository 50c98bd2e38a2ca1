import json

import pytest
import srt
from typer.testing import CliRunner

from conftest import MEDIA, TINY_MODEL
from langspan import __version__
from langspan.cli import app

runner = CliRunner()
MODEL = ["--model", str(TINY_MODEL)]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def json_documents(text):
    decoder, position, documents = json.JSONDecoder(), 0, []
    while position < len(text.strip()):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
        while position < len(text) and text[position].isspace():
            position += 1
    return documents


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("langspan: error:")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.slow
def test_json_on_stdout_and_a_table_on_stderr():
    result = run("detect", MEDIA / "chirp.mp3", *MODEL)
    assert result.exit_code == 0, result.stderr
    (document,) = json_documents(result.stdout)
    assert document["source"].endswith("chirp.mp3")
    assert "confidence" in result.stderr and "chirp.mp3" in result.stderr


@pytest.mark.slow
def test_quiet_keeps_stderr_empty():
    result = run("detect", MEDIA / "chirp.mp3", *MODEL, "-q")
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.slow
def test_two_audio_tracks_give_two_timelines():
    result = run("detect", MEDIA / "two_tracks.mkv", *MODEL, "-q")
    assert [d["stream"] for d in json_documents(result.stdout)] == [1, 2]


@pytest.mark.slow
def test_srt_file_output(tmp_path):
    out = tmp_path / "talk.srt"
    result = run("detect", MEDIA / "tone.wav", *MODEL, "-f", "srt", "-o", out, "-q")
    assert result.exit_code == 0 and result.stdout == ""
    cues = list(srt.parse(out.read_text()))
    assert cues and cues[-1].end.total_seconds() == pytest.approx(5.0)


@pytest.mark.slow
def test_output_dir_with_several_formats_and_streams(tmp_path):
    result = run("detect", MEDIA / "tone.wav", MEDIA / "two_tracks.mkv", *MODEL, "-d", tmp_path / "out", "-f", "json", "-f", "srt", "-q")
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "tone.json", "tone.srt",
        "two_tracks.stream1.json", "two_tracks.stream1.srt", "two_tracks.stream2.json", "two_tracks.stream2.srt",
    ]  # fmt: skip


@pytest.mark.slow
def test_existing_outputs_are_not_overwritten_without_the_flag(tmp_path):
    out = tmp_path / "x.json"
    out.write_text("keep me")
    result = run("detect", MEDIA / "tone.wav", *MODEL, "-o", out, "-q")
    assert_one_line_error(result, "already exists", "--overwrite")
    assert out.read_text() == "keep me"
    assert run("detect", MEDIA / "tone.wav", *MODEL, "-o", out, "-q", "--overwrite").exit_code == 0
    assert json.loads(out.read_text())["duration"] == 5.0


def test_corrupt_file_is_one_line_and_exit_1(tmp_path):
    result = run("detect", MEDIA / "corrupt.mp4", *MODEL, "-d", tmp_path, "-q")
    assert_one_line_error(result, "corrupt.mp4", "not a readable media file")
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback():
    result = run("detect", MEDIA / "corrupt.mp4", *MODEL, "--debug", "-q")
    assert result.exit_code == 1 and "Traceback" in result.stderr


@pytest.mark.parametrize(
    ("name", "fragment"), [("missing.wav", "no such file"), ("video_only.mp4", "no audio stream")]
)
def test_bad_inputs_are_one_line_errors(name, fragment):
    assert_one_line_error(run("detect", MEDIA / name, *MODEL, "-q"), name, fragment)


@pytest.mark.slow
def test_one_failing_input_does_not_stop_the_others(tmp_path):
    result = run("detect", MEDIA / "corrupt.mp4", MEDIA / "tone.wav", *MODEL, "-d", tmp_path, "-q")
    assert result.exit_code == 1
    assert [p.name for p in tmp_path.iterdir()] == ["tone.json"]


def test_unknown_model_is_one_line_exit_1():
    result = run("detect", MEDIA / "tone.wav", "--model", "no-such/model", "-q")
    assert_one_line_error(result, "no-such/model", "huggingface-cli download")


@pytest.mark.slow
def test_unwritable_output_is_one_line_exit_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("detect", MEDIA / "tone.wav", *MODEL, "-o", blocker / "out.json", "-q")
    assert_one_line_error(result, "cannot write")


@pytest.mark.parametrize(
    "args",
    [["--window", "0"], ["--hop", "5"], ["-f", "docx"], ["-f", "json", "-f", "srt"], ["--batch-size", "0"]],
)
def test_usage_errors_exit_2(args):
    result = run("detect", MEDIA / "tone.wav", *MODEL, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_languages_lists_labels_with_names():
    result = run("languages", *MODEL)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == ["eng\tEnglish", "deu\tGerman"]


def test_version():
    assert run("--version").stdout.strip() == f"langspan {__version__}"


@pytest.mark.slow
def test_console_script_and_module_entry_points_exist():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "langspan", "--help"], capture_output=True, text=True, check=True)
    assert "detect" in out.stdout



@pytest.mark.slow
def test_scan_prints_one_json_line_per_stream():
    demo = MEDIA.parent / "demo" / "tracks.mkv"  # German on stream 1, French on stream 2 (tagged eng)
    result = run("scan", demo, "--model", MEDIA.parent / "standin-lid", "-q")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["stream"], line["language"]) for line in lines] == [(1, "deu"), (2, "fra")]
    assert all(line["full_pass"] and line["share"] > 0.5 for line in lines)  # 19 s tracks: a full pass is cheaper


def test_scan_rejects_a_bad_rule_before_loading_the_model():
    result = run("scan", MEDIA / "tone.wav", "--model", "no-such/model", "--confidence", "2")
    assert result.exit_code == 2 and "confidence" in result.stderr


@pytest.mark.parametrize(("asked", "ran"), [("auto", "fp32"), ("int8", "int8")])
def test_the_json_says_which_precision_ran(asked, ran, tmp_path):
    from importlib import resources

    import jsonschema

    out = tmp_path / "tone.json"
    result = run("detect", MEDIA / "tone.wav", *MODEL, "--precision", asked, "--no-cache", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["options"]["precision"] == asked  # what was asked for…
    assert document["model"]["precision"] == ran  # …and what ran: auto keeps a tiny model in fp32
    schema = json.loads(resources.files("langspan").joinpath("schema/timeline.schema.json").read_text())
    jsonschema.validate(document, schema)
