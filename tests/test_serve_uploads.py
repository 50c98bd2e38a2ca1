"""The service's inputs without a server: the streaming multipart receiver (limit, stall, malformed bodies, file
names) and the media-root confinement, each through python-multipart and the real file system."""

from __future__ import annotations

import asyncio
import os

import pytest

from langspan.service.problems import Problem
from langspan.service.uploads import receive_upload, resolve_media_path, safe_filename

BOUNDARY = "b0undary"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def body(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def chunks(data: bytes, size: int = 7, stall_after: int | None = None):
    for start in range(0, len(data), size):
        if stall_after is not None and start >= stall_after:
            await asyncio.sleep(3600)  # a client that stops sending
        yield data[start : start + size]


def receive(data, folder, content_type=TYPE, length=None, max_bytes=10_000, idle=30.0, stall_after=None):
    stream = chunks(data, stall_after=stall_after)
    return asyncio.run(receive_upload(content_type, length, stream, folder, max_bytes, idle))


def test_the_file_part_is_written_whole_across_chunk_boundaries(tmp_path):
    payload = bytes(range(256)) * 10 + b"\r\n--not-the-boundary\r\n"
    path, name = receive(body(("note", None, b"hello"), ("file", "talk.MP3", payload)), tmp_path)
    assert path.read_bytes() == payload and name == "talk.MP3" and path.name == "upload.mp3"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("../../etc/passwd", "passwd"), ("C:\\Users\\a\\b.mp3", "b.mp3"), ("a\x1b[31mb.mp3", "a[31mb.mp3"), ("", "upload")],
)
def test_client_file_names_lose_their_folders_and_control_characters(filename, expected):
    assert safe_filename(filename) == expected


def test_limits_stalls_and_malformed_bodies_are_problems(tmp_path):
    data = body(("file", "a.mp3", b"x" * 5000))
    cases = [
        ({"max_bytes": 1000}, 413),  # found while streaming
        ({"max_bytes": 1000, "length": "999999"}, 413),  # said by Content-Length: refused before reading
        ({"idle": 0.05, "stall_after": 100}, 408),
        ({"content_type": "application/octet-stream"}, 415),
        ({"content_type": "multipart/form-data"}, 415),  # no boundary
    ]
    for options, status in cases:
        with pytest.raises(Problem) as caught:
            receive(data, tmp_path, **options)
        assert caught.value.status == status, options
    with pytest.raises(Problem) as caught:
        receive(body(("other", "a.mp3", b"x")), tmp_path)
    assert caught.value.status == 400 and "'file' part" in caught.value.detail
    truncated = data[: len(data) // 2]  # the client's body ended inside the file part
    with pytest.raises(Problem) as caught:
        receive(truncated, tmp_path)
    assert caught.value.status == 400


def test_media_root_confinement(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "x.mp3").write_bytes(b"x")
    (outside / "s.mp3").write_bytes(b"s")
    (root / "link.mp3").symlink_to(outside / "s.mp3")
    (root / "inner.mp3").symlink_to(root / "a" / "x.mp3")  # a symlink that stays inside is fine
    (root / "loop").symlink_to(root / "loop")
    assert resolve_media_path(root, "a/x.mp3") == (root / "a" / "x.mp3").resolve()
    assert resolve_media_path(root, "inner.mp3") == (root / "a" / "x.mp3").resolve()
    assert resolve_media_path(root, str(root / "a" / "x.mp3")) == (root / "a" / "x.mp3").resolve()
    statuses = {
        path: _status(root, path)
        for path in ("../outside/s.mp3", "a/../../outside/s.mp3", str(outside / "s.mp3"), "link.mp3", "missing.mp3",
                     "a", "loop", "", "a/x.mp3\x00")
    }  # fmt: skip
    assert statuses == {
        "../outside/s.mp3": 403, "a/../../outside/s.mp3": 403, str(outside / "s.mp3"): 403, "link.mp3": 403,
        "missing.mp3": 404, "a": 404, "loop": 404, "": 400, "a/x.mp3\x00": 400,
    }  # fmt: skip
    assert _status(None, "a/x.mp3") == 403  # no media root: no paths at all
    if os.geteuid() != 0:  # root reads anything
        (root / "a" / "x.mp3").chmod(0)
        assert _status(root, "a/x.mp3") == 403


def _status(root, path) -> int:
    try:
        resolve_media_path(root, path)
    except Problem as problem:
        return problem.status
    return 200
