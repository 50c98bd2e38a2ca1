"""The ``langspan`` command line: the only place that prints, exits, or draws progress.

stdout carries only machine-readable output (JSON, SRT, …); tables, progress and errors go to stderr.
Exit codes: 0 success, 1 an input or output failed, 2 usage error, 3 ``tag --check`` found a disagreeing tag,
130 interrupted.

This module holds the typer ``app`` (the ``langspan`` entry point) and registers the commands, which live in
``detect.py``, ``scan.py``, ``tag.py``, ``chapters.py``, ``split.py``, ``serve.py`` and here (languages); what they
share is in ``common.py``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import __version__
from .._entry import end_of_startup
from ..models.base import DEFAULT_MODEL
from .chapters import chapters_command
from .common import DebugOption, ModelOption, RevisionOption, errors_to_exit
from .detect import detect_command
from .scan import scan_command
from .serve import serve_command
from .split import split_command
from .tag import tag_command

app = typer.Typer(
    help="Which language is spoken, when, and on which audio track — for video and podcast files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"langspan {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Which language is spoken, when, and on which audio track."""
    _quiet_transformers()
    if ctx.invoked_subcommand in TORCH_COMMANDS and "--help" not in sys.argv[1:]:
        _import_torch()
    end_of_startup()  # the command starts: its own Ctrl-C handling takes over (see langspan._entry)


# Commands that run a model or the speech detector, i.e. import torch anyway (not `languages`, which reads a config).
TORCH_COMMANDS = frozenset({"detect", "scan", "tag", "chapters", "split", "serve"})


def _import_torch() -> None:
    """Import torch while start-up's Ctrl-C handler (exit 130 at once) is in place. torch's import runs C++ that
    calls back into Python; a KeyboardInterrupt raised inside such a callback cannot cross the C++ frames and the
    process aborts (SIGABRT, "terminate called after throwing pybind11::error_already_set": caught by
    tests/test_startup_interrupt.py when Ctrl-C landed there). The commands import it a moment later anyway."""
    import torch  # noqa: F401


def _quiet_transformers() -> None:
    # Loading bars and advisory logs from transformers would clutter stderr between our own table and progress.
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def languages_command(
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    debug: DebugOption = False,
) -> None:
    """List the model's language labels with their names (tab-separated on stdout)."""
    from ..languages import language_name

    with errors_to_exit(debug):
        for label in model_labels(model, revision):
            typer.echo(f"{label}\t{language_name(label)}")


def model_labels(model: str, revision: str | None) -> list[str]:
    """Labels (ISO 639-3) from the checkpoint's configuration alone: no weights are loaded."""
    from ..models.registry import read_info

    return list(read_info(model, revision).labels)


# The commands, in the order `langspan --help` lists them.
app.command("detect")(detect_command)
app.command("scan")(scan_command)
app.command("tag")(tag_command)
app.command("chapters")(chapters_command)
app.command("split")(split_command)
app.command("serve")(serve_command)
app.command("languages")(languages_command)
