"""`langspan serve` as a real server process on loopback (a free port), driven by a real HTTP client (httpx) and raw
sockets: uploads and media-root paths, concurrent requests, a client that goes away mid-upload, paths outside
the root, oversized uploads, a full queue, and errors as RFC 9457 problems with the CLI's messages.

Every wait is a bounded poll of the server's own state (GET /healthz), never a timing assertion.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import httpx
import jsonschema
import pytest
from typer.testing import CliRunner

from conftest import MEDIA, ROOT, TINY_MODEL
from langspan.cli import app
from langspan.engine.local import DetectOptions, detect

# A real server process per module and a real HTTP client: seconds before the first request.
pytestmark = pytest.mark.slow

SCHEMA = json.loads(resources.files("langspan").joinpath("schema/timeline.schema.json").read_text())
MAX_UPLOAD = 200 * 1024  # chirp.mp3 (20 kB) fits, podcast.mp3 (331 kB) does not
CAPACITY = 2  # --workers 1 --queue-size 1
POLLS = 200  # bounded waits: at most POLLS * 0.05 s


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `langspan serve` process with the tiny model; yields (base URL, media root, spool folder)."""
    base = tmp_path_factory.mktemp("serve")
    root, spool, outside = base / "root", base / "spool", base / "outside"
    for folder in (root / "show", spool, outside):
        folder.mkdir(parents=True)
    shutil.copy(MEDIA / "chirp.mp3", root / "show" / "chirp.mp3")
    shutil.copy(MEDIA / "chirp.mp3", outside / "secret.mp3")
    (root / "escape.mp3").symlink_to(outside / "secret.mp3")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "TMPDIR": str(spool)}
    command = [
        sys.executable, "-m", "langspan", "serve", "--port", "0", "--model", str(TINY_MODEL), "--media-root", str(root),
        "--max-upload", str(MAX_UPLOAD), "--workers", "1", "--queue-size", "1",
    ]  # fmt: skip
    log = base / "stderr.txt"  # a file, not a pipe: a pipe nobody reads could fill and stall the server
    with open(log, "w") as stderr:
        process = subprocess.Popen(command, env=env, stderr=stderr)
    try:
        url = _announced_url(process, log)
        yield url, root, spool, outside
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _announced_url(process: subprocess.Popen, log: Path) -> str:
    for _ in range(1200):  # at most 120 s: loading torch and the model on a busy machine
        for line in log.read_text().splitlines():
            if "serving http://" in line:
                return line.split("serving ")[1].split()[0]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"the server did not start (exit code {process.poll()}): {log.read_text()}")


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server[0], timeout=60) as http:
        yield http


def upload(client: httpx.Client, path: Path, name: str | None = None, endpoint: str = "/v1/detect", **params):
    with open(path, "rb") as file:
        return client.post(endpoint, files={"file": (name or path.name, file)}, params=params)


def wait_admitted(client: httpx.Client, count: int) -> None:
    for _ in range(POLLS):
        if client.get("/healthz").json()["admitted"] == count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the server never had {count} requests admitted")


def stalled_upload(url: str, declared: int = 150_000, sent: int = 10_000) -> socket.socket:
    """A raw HTTP upload that announces ``declared`` bytes, sends ``sent`` of them and then waits."""
    host, port = url.removeprefix("http://").split(":")
    boundary = "langspan-test-boundary"
    head = (
        f"POST /v1/detect HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {declared}\r\n\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="slow.mp3"\r\n\r\n'
    )
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head.encode() + b"\0" * sent)
    return sock


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document = response.json()
    assert document["status"] == status and document["type"] == "about:blank" and document["title"]
    return document


def test_health_languages_and_openapi(client, tiny_classifier):
    assert client.get("/healthz").json() == {
        "status": "ok", "model": str(TINY_MODEL), "revision": None, "admitted": 0, "capacity": CAPACITY,
    }  # fmt: skip
    labels = [entry["language"] for entry in client.get("/v1/languages").json()]
    assert labels == list(tiny_classifier.labels)
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/detect"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"} and "/v1/scan" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_upload_gives_the_timeline_the_library_gives(client, tiny_classifier):
    response = upload(client, MEDIA / "chirp.mp3", name="../../etc/my chirp.mp3")
    assert response.status_code == 200
    [document] = response.json()
    jsonschema.validate(document, SCHEMA)
    assert document["source"] == "my chirp.mp3"  # the client's name, never a server path
    [expected] = detect(MEDIA / "chirp.mp3", DetectOptions(model=str(TINY_MODEL)), classifier=tiny_classifier)
    assert document["spans"] == [span.to_dict() for span in expected.spans]
    assert document["duration"] == round(expected.duration, 3)


def test_concurrent_requests_all_succeed(client, server):
    with ThreadPoolExecutor(CAPACITY) as pool:
        responses = list(pool.map(lambda _: upload(client, MEDIA / "chirp.mp3"), range(CAPACITY)))
    assert [r.status_code for r in responses] == [200] * CAPACITY
    assert responses[0].json() == responses[1].json()
    wait_admitted(client, 0)
    scan = upload(client, MEDIA / "chirp.mp3", endpoint="/v1/scan")
    assert scan.status_code == 200 and scan.json()[0]["source"] == "chirp.mp3"


def test_paths_inside_the_root_only(client, server):
    outside = server[3]
    ok = client.post("/v1/detect", json={"path": "show/chirp.mp3"})
    assert ok.status_code == 200 and ok.json()[0]["source"] == "show/chirp.mp3"
    for path in ("../outside/secret.mp3", "show/../../outside/secret.mp3", str(outside / "secret.mp3"),
                 "escape.mp3"):  # fmt: skip
        assert "outside the media root" in assert_problem(client.post("/v1/detect", json={"path": path}), 403)["detail"]
    assert_problem(client.post("/v1/scan", json={"path": "show/missing.mp3"}), 404)
    assert_problem(client.post("/v1/detect", json={"file": "show/chirp.mp3"}), 400)
    assert_problem(client.post("/v1/detect", content=b"x", headers={"content-type": "text/plain"}), 415)


def test_oversized_uploads_are_refused_and_leave_nothing(client, server):
    spool = server[2]
    detail = assert_problem(upload(client, ROOT / "fixtures" / "demo" / "podcast.mp3"), 413)["detail"]
    assert f"limit of {MAX_UPLOAD} bytes" in detail

    def chunks():  # no Content-Length: the limit must hold while the body streams in
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp3\"\r\n\r\n"
        for _ in range(MAX_UPLOAD // 8192 + 2):
            yield b"\0" * 8192

    response = client.post("/v1/detect", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert_problem(response, 413)
    wait_admitted(client, 0)
    assert list(spool.iterdir()) == []


def test_a_client_that_disconnects_mid_upload_frees_its_place(client, server):
    url, _, spool, _ = server
    sock = stalled_upload(url)
    wait_admitted(client, 1)
    assert len(list(spool.iterdir())) == 1  # its private upload folder, while it lasts
    sock.close()
    wait_admitted(client, 0)
    assert list(spool.iterdir()) == []
    assert upload(client, MEDIA / "chirp.mp3").status_code == 200


def test_a_full_queue_answers_503_until_a_place_frees(client, server):
    stalled = [stalled_upload(server[0]) for _ in range(CAPACITY)]
    try:
        wait_admitted(client, CAPACITY)
        busy = upload(client, MEDIA / "chirp.mp3")
        assert "busy" in assert_problem(busy, 503)["detail"] and int(busy.headers["retry-after"]) > 0
    finally:
        for sock in stalled:
            sock.close()
    wait_admitted(client, 0)
    assert upload(client, MEDIA / "chirp.mp3").status_code == 200


def test_errors_carry_the_clis_messages(client, tmp_path, monkeypatch):
    cli = CliRunner().invoke(app, ["detect", str(MEDIA / "chirp.mp3"), "--model", str(TINY_MODEL), "--languages", "xyz"])
    assert cli.exit_code == 2
    problem = assert_problem(upload(client, MEDIA / "chirp.mp3", languages="xyz"), 400)
    assert cli.stderr.strip() == f"langspan: error: {problem['detail']}" and problem["error"] == "UsageError"
    corrupt = tmp_path / "corrupt.mp4"
    shutil.copy(MEDIA / "corrupt.mp4", corrupt)
    monkeypatch.chdir(tmp_path)
    cli = CliRunner().invoke(app, ["detect", "corrupt.mp4", "--model", str(TINY_MODEL)])
    problem = assert_problem(upload(client, corrupt), 422)
    # The same message up to ffmpeg's own words, which name the file it opened: the CLI's absolute path, the
    # server's client-given name.
    assert cli.exit_code == 1 and problem["error"] == "MediaError"
    prefix = "corrupt.mp4: not a readable media file ("
    assert cli.stderr.startswith(f"langspan: error: {prefix}") and problem["detail"].startswith(prefix)
    assert str(tmp_path) not in problem["detail"] and "/tmp" not in problem["detail"]


BLOCK_EXTRA = "import sys; sys.modules.update(dict.fromkeys(['fastapi', 'uvicorn', 'python_multipart']))"


def run_without_extra(*args: str) -> subprocess.CompletedProcess:
    code = f"{BLOCK_EXTRA}; from langspan.cli import app; sys.argv = ['langspan', *sys.argv[1:]]; app()"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_the_cli_works_without_the_extra_and_serve_says_what_is_missing():
    assert "serve" in run_without_extra("--help").stdout
    assert run_without_extra("serve", "--help").returncode == 0
    done = run_without_extra("serve", "--model", str(TINY_MODEL))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "pip install 'langspan[serve]'" in done.stderr and "Traceback" not in done.stderr
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, langspan.cli; print('fastapi' in sys.modules)"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=120, check=True,
    )  # fmt: skip
    assert imported.stdout.strip() == "False"
