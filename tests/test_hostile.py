"""Hostile and odd inputs: every case ends in a clear error or a correct result, nothing lost, nothing leaked.

The corpus lives in tests/hostile_corpus.py. Each case runs the real CLI (real ffmpeg, the tiny checkpoint) with an
``-o`` file and is held to its exact outcome, plus what must hold for every case: input folder byte-identical
afterwards, no traceback, and neither the canary token nor a line of /etc/passwd in stdout, stderr or any output.
"""

from __future__ import annotations

import hashlib
import http.server
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import ffmpeg_path
from hostile_corpus import CASES, SECRET_TOKEN, Case, Refused, hls, secret_media, tone, wav_bytes
from langspan import detect
from langspan.cli import app
from langspan.frontend import ffmpeg_tools, media

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "fixtures" / "tiny-lid")
LABELS = ("eng", "deu", "fra", "spa", "cmn")  # tiny-lid's labels
SCHEMA = json.loads((ROOT / "src" / "langspan" / "schema" / "timeline.schema.json").read_text())
PASSWD_LINES = [line for line in Path("/etc/passwd").read_text().splitlines() if line.strip()]


def run_detect(*args: str):
    return CliRunner().invoke(app, ["detect", "--model", MODEL, "-q", *args])


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under a folder (directories listed too): equal snapshots mean nothing changed."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(folder.rglob("*"))
        if not path.is_symlink()
    }


def assert_nothing_leaked(*texts: str, folder: Path | None = None) -> None:
    outputs = list(texts)
    if folder is not None:
        outputs += [path.read_text(errors="replace") for path in folder.rglob("*") if path.is_file()]
    for text in outputs:
        assert SECRET_TOKEN not in text
        assert not any(line in text for line in PASSWD_LINES)


def assert_refused(result, argument: str, cause: str, code: int = 1) -> None:
    """Exit code, an empty stdout, and exactly one stderr line naming the input and the cause."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception
    assert result.stdout == ""
    shown = argument.replace("\n", " ")
    assert re.fullmatch(rf"langspan: error: {re.escape(shown)}: {cause}\n", result.stderr), result.stderr


def assert_valid_timeline(document: dict, duration: float, tolerance: float, spans: int | None) -> None:
    jsonschema.validate(document, SCHEMA)
    assert document["duration"] == pytest.approx(duration, abs=tolerance)
    times = [(span["start"], span["end"]) for span in document["spans"]]
    assert all(0 <= start < end <= document["duration"] for start, end in times)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(times))  # sorted, contiguous, never overlapping
    if times:
        assert times[0][0] == 0.0 and times[-1][1] == document["duration"]
    # nonspeech: what a speech detector (once the pipeline has one) calls silence and tones
    assert all(span["language"] in (*LABELS, "nonspeech") for span in document["spans"])
    if spans is not None:
        assert len(times) == spans


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
@pytest.mark.slow
def test_corpus_case(case: Case, tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    argument = case.make(inputs)
    before = snapshot(inputs)

    result = run_detect("-o", str(out / "result.json"), "--", argument)

    assert snapshot(inputs) == before  # inputs (and the secrets beside them) untouched, nothing added
    assert "Traceback" not in result.output
    assert_nothing_leaked(result.stdout, result.stderr, folder=out)
    if isinstance(case.outcome, Refused):
        assert_refused(result, argument, case.outcome.cause)
        assert list(out.iterdir()) == []  # no output, no temporary .part file
    else:
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        assert [path.name for path in out.iterdir()] == ["result.json"]
        document = json.loads((out / "result.json").read_text())
        assert document["source"] == argument
        assert_valid_timeline(document, case.outcome.duration, case.outcome.tolerance, case.outcome.spans)


def test_corpus_has_at_least_thirty_distinct_cases() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 30


@pytest.mark.slow
def test_silence_is_one_span_over_the_whole_file(tmp_path: Path) -> None:
    # The speech detector finds no speech: one nonspeech span, and the model is never asked. Without it the model
    # must call every window something: identical silent windows get one label (or `und`: the random tiny model is
    # unsure of everything), still exactly one span.
    (tmp_path / "silence.wav").write_bytes(wav_bytes(tone(4.0) * 0, 16_000))
    result = run_detect(str(tmp_path / "silence.wav"))
    assert result.exit_code == 0, result.output
    spans = json.loads(result.stdout)["spans"]
    assert [(span["start"], span["end"], span["language"]) for span in spans] == [(0.0, 4.0, "nonspeech")]
    result = run_detect("--no-vad", str(tmp_path / "silence.wav"))
    spans = json.loads(result.stdout)["spans"]
    assert [(span["start"], span["end"]) for span in spans] == [(0.0, 4.0)]
    assert spans[0]["language"] in (*LABELS, "und")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    result = run_detect("--debug", str(tmp_path / "empty.wav"))
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "MediaError" in result.stderr
    assert result.stderr.rstrip("\n").splitlines()[-1] == f"langspan: error: {tmp_path / 'empty.wav'}: empty file"


@pytest.mark.slow
def test_one_bad_input_does_not_stop_the_others(tmp_path: Path) -> None:
    good = tmp_path / "good.wav"
    good.write_bytes(wav_bytes(tone(2.0), 16_000))
    (tmp_path / "list.m3u8").write_text(hls(lambda folder: str(secret_media(folder)))(tmp_path))
    out = tmp_path / "out"
    result = run_detect("-d", str(out), str(tmp_path / "list.m3u8"), str(good))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "list.m3u8: refused: hls input" in result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["good.json"]
    assert_nothing_leaked(result.stdout, result.stderr, folder=out)


# --------------------------------------------------------------------------------------------- unreadable file


@pytest.mark.slow
def test_file_without_read_permission(tmp_path: Path) -> None:
    """Root reads any file, so as root the run drops the two capabilities that bypass file permissions."""
    locked = tmp_path / "locked.wav"
    locked.write_bytes(wav_bytes(tone(2.0), 16_000))
    locked.chmod(0)
    before = hashlib.sha256(locked.read_bytes()).hexdigest()
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv (util-linux): cannot make a file unreadable to root")
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", "--bounding-set", caps, "--inh-caps", caps]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    command = [*prefix, sys.executable, "-m", "langspan", "detect", "--model", MODEL, "-q", str(locked)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("langspan")]
    assert errors == [f"langspan: error: {locked}: permission denied"]
    assert "Traceback" not in done.stderr
    locked.chmod(0o600)
    assert hashlib.sha256(locked.read_bytes()).hexdigest() == before


# ------------------------------------------------------------------------------------------------- destinations


@pytest.fixture
def tone_wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(wav_bytes(tone(2.0), 16_000))
    return path


@pytest.mark.slow
def test_output_folder_under_a_regular_file(tmp_path: Path, tone_wav: Path) -> None:
    # Root ignores permission bits, so "not writable" is made of something root cannot do either: a folder
    # inside a regular file.
    (tmp_path / "plain").write_text("keep")
    result = run_detect("-d", str(tmp_path / "plain" / "out"), str(tone_wav))
    assert_refused(result, str(tmp_path / "plain" / "out"), r"cannot create the output folder \(Not a directory\)")
    assert (tmp_path / "plain").read_text() == "keep"


@pytest.mark.slow
def test_output_folder_on_a_filesystem_that_refuses_folders(tone_wav: Path) -> None:
    result = run_detect("-d", "/proc/langspan-out", str(tone_wav))
    assert_refused(result, "/proc/langspan-out", r"cannot create the output folder \(.+\)")
    assert not Path("/proc/langspan-out").exists()


@pytest.mark.slow
def test_output_file_inside_a_regular_file(tmp_path: Path, tone_wav: Path) -> None:
    (tmp_path / "plain").write_text("keep")
    result = run_detect("-o", str(tmp_path / "plain" / "x.json"), str(tone_wav))
    assert_refused(result, str(tmp_path / "plain" / "x.json"), r"cannot write \(Not a directory\)")


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
@pytest.mark.slow
def test_output_path_that_is_a_directory(tmp_path: Path, tone_wav: Path, overwrite: list[str]) -> None:
    (tmp_path / "result.json").mkdir()
    result = run_detect(*overwrite, "-o", str(tmp_path / "result.json"), str(tone_wav))
    assert_refused(result, str(tmp_path / "result.json"), "is a directory")
    assert list((tmp_path / "result.json").iterdir()) == []


@pytest.mark.slow
def test_output_path_that_is_a_fifo_is_never_replaced(tmp_path: Path, tone_wav: Path) -> None:
    fifo = tmp_path / "result.json"
    os.mkfifo(fifo)
    result = run_detect("--overwrite", "-o", str(fifo), str(tone_wav))
    assert_refused(result, str(fifo), r"not a regular file \(use -o - for stdout\)")
    assert fifo.is_fifo()


@pytest.mark.slow
def test_existing_output_is_kept_without_overwrite(tmp_path: Path, tone_wav: Path) -> None:
    (tmp_path / "result.json").write_text("keep")
    result = run_detect("-o", str(tmp_path / "result.json"), str(tone_wav))
    assert_refused(result, str(tmp_path / "result.json"), r"already exists \(pass --overwrite to replace it\)")
    assert (tmp_path / "result.json").read_text() == "keep"


@pytest.mark.slow
def test_several_formats_write_all_or_nothing(tmp_path: Path, tone_wav: Path) -> None:
    out = tmp_path / "out"
    (out / "talk.srt").mkdir(parents=True)  # the second format's destination cannot be written
    result = run_detect("-d", str(out), "-f", "json", "-f", "srt", str(tone_wav))
    assert_refused(result, str(out / "talk.srt"), "is a directory")
    assert sorted(path.name for path in out.iterdir()) == ["talk.srt"]  # no talk.json without its talk.srt


# ---------------------------------------------------------------------------------------------- URLs (opt-in)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):  # a server that bounces the client to a local file
            self.send_response(302)
            self.send_header("Location", "file:" + self.path.split("=", 1)[1])
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path):
    """A local http server over tmp_path/www, so --allow-url is tested for real and without a network."""
    www = tmp_path / "www"
    www.mkdir()
    handler = lambda *args: _Handler(*args, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.slow
def test_allow_url_reads_http_like_a_local_file(server, tone_wav: Path) -> None:
    www, base = server
    shutil.copy(tone_wav, www / "talk.wav")
    remote = run_detect("--allow-url", f"{base}/talk.wav")
    local = run_detect(str(tone_wav))
    assert remote.exit_code == 0, remote.output
    remote_doc, local_doc = json.loads(remote.stdout), json.loads(local.stdout)
    assert remote_doc["source"] == f"{base}/talk.wav"
    assert remote_doc["options"]["allow_url"] is True
    assert remote_doc["spans"] == local_doc["spans"] and remote_doc["duration"] == local_doc["duration"] == 2.0


def test_allow_url_does_not_follow_a_redirect_to_a_local_file(server, tmp_path: Path) -> None:
    _, base = server
    secret = secret_media(tmp_path)
    url = f"{base}/redirect?to={secret}"
    result = run_detect("--allow-url", url)
    # ffmpeg's http client refuses to follow a redirect off http(s) (5.1: "Invalid argument"; 6.0 says nothing);
    # were it to follow it, the http-only whitelist would refuse the file: URL.
    refused = r"refused: the input tried to open a file: URL, which langspan does not allow"
    assert_refused(result, url, rf"(not a readable media file \(.*\)|{refused})")
    assert_nothing_leaked(result.stdout, result.stderr)


def test_allow_url_still_refuses_playlists(server, tmp_path: Path) -> None:
    www, base = server
    secret = secret_media(tmp_path)
    (www / "list.m3u8").write_text(hls(lambda folder: str(secret))(tmp_path))
    result = run_detect("--allow-url", f"{base}/list.m3u8")
    assert_refused(result, f"{base}/list.m3u8", r"refused: hls input names other files or URLs .*")


@pytest.mark.parametrize("argument", ["concat:/etc/passwd|/etc/passwd", "file:/etc/passwd", "ftp://127.0.0.1/a.mp3"])
def test_allow_url_opens_no_other_protocol(argument: str) -> None:
    result = run_detect("--allow-url", argument)
    scheme = argument.split(":", 1)[0]
    assert_refused(result, argument, rf"no such file \(langspan does not open ffmpeg protocols such as '{scheme}:'\)")


def test_without_the_fence_ffmpeg_would_read_the_playlists_target(tmp_path: Path) -> None:
    """Guards the guard: plain ffmpeg with only the protocol whitelist does decode the file a playlist names, so
    the format refusal is what stops it (if a future ffmpeg refuses by itself, this test says so)."""
    secret = secret_media(tmp_path)
    (tmp_path / "list.m3u8").write_text(hls(lambda folder: str(secret))(tmp_path))
    command = [ffmpeg_path(), "-nostdin", "-v", "error", "-protocol_whitelist", "file,pipe"]
    decoded = subprocess.run(
        [*command, "-i", media.local_url(tmp_path / "list.m3u8"), "-f", "f32le", "-ac", "1", "-ar", "16000", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout
    assert len(decoded) > 16_000 * 4 * 2  # seconds of the secret recording


def test_format_whitelist_keeps_media_formats_and_drops_reference_formats_and_devices() -> None:
    allowed = media.allowed_formats().split(",")
    assert {"wav", "mp3", "flac", "ogg", "mov", "mp4", "matroska", "webm", "mpegts"} <= set(allowed)
    assert not {"hls", "concat", "dash", "imf", "sdp", "rtsp", "lavfi", "alsa", "x11grab"} & set(allowed)


def test_protocol_fence_holds_even_if_a_playlist_got_through(server, tmp_path: Path, monkeypatch) -> None:
    """Two fences: were the hls demuxer allowed, the http-only protocol whitelist still keeps it off local files."""
    www, base = server
    secret = secret_media(tmp_path)
    (www / "list.m3u8").write_text(hls(lambda folder: f"file:{secret}")(tmp_path))
    with_hls = media.allowed_formats() + ",hls"
    monkeypatch.setattr(ffmpeg_tools, "allowed_formats", lambda: with_hls)  # what ffmpeg_input consults
    result = run_detect("--allow-url", f"{base}/list.m3u8")
    cause = r"refused: the input tried to open a file: URL, which langspan does not allow"
    assert_refused(result, f"{base}/list.m3u8", cause)
    assert_nothing_leaked(result.stdout, result.stderr)


@pytest.mark.slow
def test_nan_and_inf_in_an_array_at_another_rate() -> None:
    """The in-memory path (resampled by ffmpeg through a pipe) meets the same broken samples as the NaN WAV."""
    samples = np.stack([tone(1.5, 44_100), tone(1.5, 44_100)], axis=1).astype(np.float32)
    samples[::101] = np.nan
    samples[::103, 1] = np.inf
    [timeline] = detect(samples, sample_rate=44_100, model=MODEL)
    assert timeline.duration == pytest.approx(1.5, abs=1 / 16_000)
    assert [(span.start, span.end) for span in timeline.spans] == [(0.0, 1.5)]
    assert 0.0 <= timeline.spans[0].confidence <= 1.0
