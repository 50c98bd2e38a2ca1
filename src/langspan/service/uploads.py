"""Where the service's media comes from: a multipart upload streamed to a private temporary file under a size
limit, or a path that must lie inside the configured media root.

The upload is parsed as it arrives (python-multipart's streaming parser), so neither memory nor disk ever holds
more than the limit; a body that grows past it, a client that stalls longer than the idle timeout or goes away
ends the request and removes what was received.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from .problems import Problem

UPLOAD_FIELD = "file"
CHUNK_LIMIT_NOTE = "pass a smaller file, or start the server with a larger --max-upload"


@contextmanager
def private_folder() -> Iterator[Path]:
    """A fresh 0700 folder for one request's upload, removed with everything in it when the request ends."""
    folder = Path(tempfile.mkdtemp(prefix="langspan-upload-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def receive_upload(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    folder: Path,
    max_bytes: int,
    idle_seconds: float,
) -> tuple[Path, str]:
    """Stream the ``file`` part of a multipart body into ``folder``; returns (path written, client's file name).

    Problems: 413 for a body over ``max_bytes`` (said by Content-Length or found while reading), 408 for a client
    silent for ``idle_seconds``, 400 for a body without a ``file`` part or that is not multipart at all.
    """
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise Problem(415, "send the media as multipart/form-data with a 'file' part, or JSON {\"path\": ...}")
    if content_length is not None and content_length.isdigit() and int(content_length) > max_bytes:
        raise Problem(413, f"upload of {int(content_length)} bytes exceeds the limit of {max_bytes} bytes; "
                      + CHUNK_LIMIT_NOTE)  # fmt: skip
    receiver = _FilePartReceiver(folder)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in _with_idle_timeout(body, idle_seconds):
            received += len(chunk)
            if received > max_bytes:
                raise Problem(413, f"upload exceeds the limit of {max_bytes} bytes; {CHUNK_LIMIT_NOTE}")
            parser.write(chunk)
        parser.finalize()
    finally:
        receiver.close()
    if receiver.path is None or not receiver.complete:
        raise Problem(400, f"the multipart body has no complete '{UPLOAD_FIELD}' part")
    return receiver.path, receiver.filename


async def _with_idle_timeout(body: AsyncIterator[bytes], seconds: float) -> AsyncIterator[bytes]:
    iterator = body.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), seconds)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise Problem(408, f"the upload stalled for {seconds:g} s") from None
        yield chunk


class _FilePartReceiver:
    """python-multipart callbacks that write the ``file`` part to disk and skip every other part."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self.filename = "upload"
        self.complete = False
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._file: BinaryIO | None = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }  # fmt: skip

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if params.get(b"name") != UPLOAD_FIELD.encode() or self.path is not None:
            return  # another field, or a second file: ignored
        self.filename = safe_filename(params.get(b"filename", b"upload").decode("utf-8", "replace"))
        # The client's extension is kept: a few raw formats (ADTS AAC, raw MP3) are probed partly by it.
        self.path = self.folder / ("upload" + Path(self.filename).suffix.lower()[:10])
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in _part_end or close()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(data[start:end])

    def _part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self.complete = True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def safe_filename(name: str) -> str:
    """The last component of a client's file name, without control characters: it names the upload in results
    and error messages, never a path on the server."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(char for char in base if char.isprintable()).strip()
    return cleaned[:200] or "upload"


def resolve_media_path(root: Path | None, requested: str) -> Path:
    """``requested`` (relative to ``root``, or absolute) as a real file inside ``root``; every symlink and ``..``
    is resolved first, so neither can lead outside. Problems: 403 outside the root or without one, 404 missing."""
    if root is None:
        raise Problem(403, "reading paths is off: start the server with --media-root DIR")
    if not requested or "\x00" in requested:
        raise Problem(400, "'path' must be a non-empty file path")
    real_root = root.resolve(strict=True)
    try:
        resolved = (real_root / requested).resolve(strict=True)
    except FileNotFoundError:
        raise Problem(404, f"{requested}: no such file under the media root") from None
    except (OSError, RuntimeError):  # a symlink loop, a name too long
        raise Problem(404, f"{requested}: cannot be resolved under the media root") from None
    if not resolved.is_relative_to(real_root):
        raise Problem(403, f"{requested}: outside the media root")
    if not resolved.is_file():
        raise Problem(404, f"{requested}: not a file under the media root")
    if not os.access(resolved, os.R_OK):
        raise Problem(403, f"{requested}: permission denied")
    return resolved
