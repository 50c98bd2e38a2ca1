"""Making writes survive a crash: fsync a file's data, and the folder that a rename changed.

Shared by every writer of whole files (media copies in tagging/editing, the converted-model cache).
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX). Some filesystems cannot open or fsync a folder, which only
    weakens that promise: a no-op there."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
