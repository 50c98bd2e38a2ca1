"""Media from standard input, spooled to a private temporary file that is always removed.

ffprobe and most demuxers need to seek (an MP4 whose index sits at the end cannot be read from a pipe at all), and
the pipeline probes a file before decoding each of its audio streams, so stdin is copied to a file first — in
chunks, never whole into memory — inside a fresh 0700 folder that is deleted on success, error and interrupt alike.
Copying runs at disk speed (hundreds of MB/s), far below the cost of classifying the same audio.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import MediaError

STDIN_NAME = "-"
CHUNK_BYTES = 1 << 20


@contextmanager
def spooled_stdin(stream: BinaryIO | None = None) -> Iterator[Path]:
    """A temporary file holding everything read from ``stream`` (default: stdin); removed when the block ends.

    A MediaError raised inside the block names ``-`` instead of the temporary path.
    """
    stream = stream or sys.stdin.buffer
    try:
        folder = Path(tempfile.mkdtemp(prefix="langspan-stdin-"))  # mode 0700: other users cannot read the spool
    except OSError as error:
        raise MediaError(f"{STDIN_NAME}: cannot spool standard input ({error.strerror or error})") from None
    path = folder / "stdin"
    try:
        try:
            with open(path, "wb") as spool:
                shutil.copyfileobj(stream, spool, CHUNK_BYTES)
        except OSError as error:  # a full or read-only temporary folder (TMPDIR): one line, and the spool goes
            raise MediaError(
                f"{STDIN_NAME}: cannot spool standard input to {folder.parent} ({error.strerror or error})"
            ) from None
        if path.stat().st_size == 0:
            raise MediaError(f"{STDIN_NAME}: no data on standard input")
        try:
            yield path
        except MediaError as error:
            raise _renamed(error, path) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _renamed(error: MediaError, path: Path) -> MediaError:
    message = str(error).replace(str(path.absolute()), STDIN_NAME).replace(str(path), STDIN_NAME)
    renamed = type(error)(message, error.stderr_tail)
    return renamed
