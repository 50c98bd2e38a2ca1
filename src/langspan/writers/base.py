"""What every output format shares: the Writer base class, JSON text safe for any terminal, and atomic files.

``write_atomic`` writes through a temporary file in the target's folder and renames it, so readers never see half
a file; ``dump_all_or_nothing`` gives every output of one input, or none.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ExportError
from ..timeline import Timeline

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Writer:
    """Base writer: subclasses define ``name``, ``extension`` and ``iter_lines``.

    A writer whose ``combines_tracks`` is true writes every audio stream of one input into a single document
    (``dumps_all``); the others write one document per stream, and several documents on stdout follow each other.
    """

    name: ClassVar[str]
    extension: ClassVar[str]
    combines_tracks: ClassVar[bool] = False

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        raise NotImplementedError

    def dumps(self, timeline: Timeline) -> str:
        return "".join(line + "\n" for line in self.iter_lines(timeline))

    def documents(self, timelines: Sequence[Timeline]) -> list[list[Timeline]]:
        """The timelines of one input that go into each output file: all together, or one per audio stream."""
        if self.combines_tracks or len(timelines) <= 1:
            return [list(timelines)]
        return [[timeline] for timeline in timelines]

    def dumps_all(self, timelines: Sequence[Timeline]) -> str:
        """Every timeline of one input as one string: the documents one after another."""
        return "".join(self.dumps(timeline) for timeline in timelines)

    def dump(self, timeline: Timeline, path: str | os.PathLike[str]) -> None:
        write_atomic(Path(path), self.dumps(timeline))

    def dump_all(self, timelines: Sequence[Timeline], path: str | os.PathLike[str]) -> None:
        write_atomic(Path(path), self.dumps_all(timelines))


def json_text(document: Any, indent: int | None = None) -> str:
    """JSON that any UTF-8 file or terminal can hold, whatever the file names inside."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    # A file name that is not valid UTF-8 reaches Python with lone surrogates (os.fsdecode), which no UTF-8
    # file or terminal can hold: escaped as \udcff they are valid JSON and read back to the very same name.
    return LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def split_lines(text: str) -> list[str]:
    # Not str.splitlines(): it also breaks at U+2028, U+0085 and friends, which JSON keeps raw inside strings (a
    # file name may hold them), and the joined output would then carry a bare newline inside a string.
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def dump_all_or_nothing(jobs: Sequence[tuple[Writer, Sequence[Timeline], Path]]) -> None:
    """Write every (writer, timelines, path) job; if one fails, remove the files already written by the others."""
    written: list[Path] = []
    try:
        for writer, group, target in jobs:
            writer.dump_all(group, target)
            written.append(target)
    except BaseException:
        for target in written:
            target.unlink(missing_ok=True)
        raise


def check_target(path: Path, overwrite: bool = True) -> None:
    """Refuse, before anything is written, a destination that cannot or must not be replaced by a file."""
    if path.is_dir():
        raise ExportError(f"{path}: is a directory")
    if path.exists() and not path.is_file():
        # Renaming over /dev/null or a FIFO would replace the device or pipe itself with a plain file.
        raise ExportError(f"{path}: not a regular file (use -o - for stdout)")
    if path.exists() and not overwrite:
        raise ExportError(f"{path}: already exists (pass --overwrite to replace it)")


def creation_mode() -> int:
    """The mode ``open()`` gives a new file: 0666 less the umask (read from /proc, since reading it with
    ``os.umask`` means setting it, which other threads could observe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it: readers never see half a file."""
    folder = path.parent if str(path.parent) else Path(".")
    check_target(path)
    try:
        # Not a `with` here: the name must outlive the handle (renamed after closing), and only the open may fail.
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w", encoding="utf-8", dir=folder, prefix=f".{path.name}.", suffix=".part", delete=False
        )
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
    try:
        with handle:
            os.fchmod(handle.fileno(), creation_mode())  # not tempfile's private 0600: an output is a normal file
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException as error:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
        raise
