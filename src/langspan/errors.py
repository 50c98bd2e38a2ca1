"""The langspan exception tree.

::

    LangspanError                 base class; the CLI prints str(error) on one line and exits 1
    ├── MediaError                input missing/unreadable, no audio stream, ffmpeg failed (carries stderr tail)
    │   └── FFmpegNotFound        no ffmpeg/ffprobe binary on PATH or in a pip-installed static build
    ├── ModelError                checkpoint cannot be loaded (offline and not cached, bad folder, bad config)
    ├── ExportError               an output cannot be written; nothing partial is left behind
    └── UsageError                bad option values or conflicting flags (the CLI exits 2)
"""

from __future__ import annotations


class LangspanError(Exception):
    """Base class of every error langspan raises on purpose."""


class MediaError(LangspanError):
    """The input cannot be read as media, or ffmpeg failed on it.

    ``stderr_tail`` keeps the last lines ffmpeg printed, for ``--debug`` and bug reports.
    """

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


class FFmpegNotFound(MediaError):
    """Neither a system ffmpeg/ffprobe nor a pip-installed static build was found."""


class ModelError(LangspanError):
    """The language-identification model cannot be loaded."""


class ExportError(LangspanError):
    """An output file cannot be written."""


class UsageError(LangspanError):
    """An option value is invalid or conflicts with another."""


def one_line(error: BaseException) -> str:
    """The first line of an error's message (its type name when it has none): error text for one-line reports."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def file_error_message(error: BaseException, name: object) -> str:
    """One line naming the file: LangspanErrors name their file already; anything else (a library bug) gets the
    file name and the exception type, so a batch's manifest says what went wrong where."""
    text = str(error).replace("\n", " ").strip()
    if isinstance(error, LangspanError):
        return text
    return f"{name}: {type(error).__name__}: {text}"
