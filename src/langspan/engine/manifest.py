"""The batch manifest (``langspan-manifest.jsonl`` in the output folder) and the output folder's lock.

One JSON line per file and run, appended in one write and fsynced, a torn line taken back; reading tolerates lines
torn by a crash (counted, never fatal). See engine/batch.py for what the records mean.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..writers.files import make_folder

MANIFEST_NAME = "langspan-manifest.jsonl"
WRITING = "writing"  # manifest only: outputs about to be written; the file's final record follows
# writers.base.write_atomic's temporary files: "." + output name + "." + tempfile's 8 random characters + ".part".
PARTIAL_OUTPUT = re.compile(r"\..+\.[a-z0-9_]{8}\.part")


def append_record(manifest_path: Path, record: dict[str, Any]) -> None:
    """One manifest line, written in one call and synced per file, so an interrupted batch still knows what it
    finished."""
    make_folder(manifest_path.parent)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    try:
        handle = os.open(manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as error:
        raise ExportError(f"{manifest_path}: cannot write ({error.strerror or error})") from None
    try:
        size = os.fstat(handle).st_size
        try:
            if os.write(handle, line) != len(line):  # a disk that filled up mid-line
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(handle)
        except OSError as error:
            with suppress(OSError):
                os.ftruncate(handle, size)  # take back the torn line rather than leave it for the next run
            raise ExportError(f"{manifest_path}: cannot write ({error.strerror or error})") from None
    finally:
        os.close(handle)


def read_manifest(path: Path | None) -> tuple[dict[str, dict[str, Any]], set[str], int]:
    """(the last record of every file, every output any record names, lines that do not parse): a line torn by an
    interrupted write is counted and skipped, never fatal."""
    records: dict[str, dict[str, Any]] = {}
    ours: set[str] = set()
    torn = 0
    if path is None or not path.is_file():
        return records, ours, torn
    end_with_newline(path)
    with open(path, encoding="utf-8", errors="replace") as manifest:
        for line in manifest:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                torn += bool(line.strip())
                continue
            if isinstance(record, dict) and isinstance(record.get("file"), str):
                records[record_key(Path(record["file"]))] = record
                # Every run's outputs, not only the last record's: a file that failed after an earlier success
                # still has that success's outputs, and they are still ours to replace.
                outputs = record.get("outputs")
                if isinstance(outputs, list):
                    ours.update(output for output in outputs if isinstance(output, str))
            else:
                torn += 1
    return records, ours, torn


@contextmanager
def folder_lock(folder: Path, notes: list[str]) -> Iterator[None]:
    """An exclusive ``flock`` on the folder itself for the duration; ExportError at once if another process holds it.

    flock on the folder, not a lock file: nothing extra in the output folder, and the kernel releases it when the
    process ends, SIGKILL included. Where the filesystem cannot lock a folder (some network mounts), the batch runs
    unlocked and ``notes`` says so.
    """
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise ExportError(f"{folder}: cannot open the output folder ({error.strerror or error})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportError(
                f"{folder}: another langspan batch is writing to this output folder; wait for it to finish or "
                "use another --output-dir"
            ) from None
        except OSError as error:
            notes.append(f"{folder}: cannot lock the output folder ({error.strerror or error}); do not run two "
                         "batches on it at once")  # fmt: skip
        yield
    finally:
        os.close(handle)  # closing the last descriptor releases the lock


def remove_partial_outputs(folder: Path) -> None:
    """Delete the temporary files of outputs that a killed run was writing: while this batch holds the folder's lock
    no other batch writes there, so every such file is a leftover."""
    for path in folder.rglob(".*.part"):
        if PARTIAL_OUTPUT.fullmatch(path.name) and path.is_file():
            with suppress(OSError):
                path.unlink()


def end_with_newline(path: Path) -> None:
    """A torn last line (an interrupted run) gets its newline, so the next record starts on a line of its own."""
    try:
        with open(path, "rb+") as manifest:
            if manifest.seek(0, os.SEEK_END) == 0:
                return
            manifest.seek(-1, os.SEEK_END)
            if manifest.read(1) != b"\n":
                manifest.write(b"\n")
    except OSError as error:
        raise ExportError(f"{path}: cannot update the manifest ({error.strerror or error})") from None


def record_key(path: Path) -> str:
    return os.path.abspath(path)
