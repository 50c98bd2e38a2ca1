"""Where outputs go, for single files and batches alike: names after the input, folders made on demand, and every
output of one input written, or none.

One output per format and audio stream (``talk.json``; ``talk.stream1.json`` for stream 1 when the input has
several), except formats that draw every track into one document (html), whose single file keeps the plain name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import ExportError, UsageError
from ..timeline import Timeline
from .base import Writer, check_target, dump_all_or_nothing

# (writer, the timelines of one document, where it goes)
PlannedOutput = tuple[Writer, list[Timeline], Path]
# (writer, stream index when the document holds one stream of several, else None) → path
PathFor = Callable[[Writer, "int | None"], Path]


def plan_outputs(timelines: Sequence[Timeline], writers: Sequence[Writer], path_for: PathFor) -> list[PlannedOutput]:
    """Every output file of one input: one per writer and document (see the module docstring)."""
    return [
        (writer, group, path_for(writer, group[0].stream if len(group) < len(timelines) else None))
        for writer in writers
        for group in writer.documents(timelines)
    ]


def output_name(stem: str, stream: int | None, extension: str) -> str:
    """``talk.json``, or ``talk.stream1.json`` for one stream of several."""
    suffix = f".stream{stream}" if stream is not None else ""
    return f"{stem}{suffix}.{extension}" if extension else f"{stem}{suffix}"


def check_output_dir(folder: Path) -> None:
    """Refuse an ``--output-dir`` that exists and is no folder, before any work."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output-dir {folder}: not a directory")


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"{folder}: cannot create the output folder ({error.strerror or error})") from None


def write_planned(
    planned: Sequence[PlannedOutput], may_replace: Callable[[Path], bool], make_folders: bool = True
) -> None:
    """Check every destination first (``may_replace(path)`` says whether an existing file may go), make the folders
    (unless the caller named the file itself: ``-o missing/x.json`` is an error, not a new folder), then write all
    outputs or none."""
    for _, _, target in planned:
        check_target(target, overwrite=may_replace(target))
    if make_folders:
        for folder in dict.fromkeys(target.parent for _, _, target in planned):
            make_folder(folder)
    dump_all_or_nothing(planned)
