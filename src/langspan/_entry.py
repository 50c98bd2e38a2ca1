"""The ``langspan`` command's entry point, for the console script and ``python -m langspan`` alike.

Ctrl-C must end the command with exit code 130 and one line, never a traceback, from the very start: while Python
imports the command line (typer, rich, numpy, the engine: a few tenths of a second) and while the command's
callback imports transformers. No command has started then, so nothing needs cleaning up, and the handler
installed here just says so and exits. When a command starts, ``end_of_startup`` hands Ctrl-C back to
KeyboardInterrupt, which the commands turn into the same exit after stopping ffmpeg and removing partial outputs
(cli/common.py).

This module imports nothing heavy, and ``langspan/__init__.py`` imports its public names lazily, so the window in
which Ctrl-C would still raise an uncaught KeyboardInterrupt is the interpreter's own start-up.
"""

from __future__ import annotations

import os
import signal


def _interrupted(signum: int, frame: object) -> None:
    os.write(2, b"langspan: interrupted\n")
    os._exit(130)  # nothing to clean up yet: no child process, no file written


def main() -> None:
    # Only over Python's default: a SIGINT that the parent made us ignore (a background job) stays ignored.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted)
    _torch_cache_outside_tmp()
    from .cli import app

    app(prog_name="langspan")


def _torch_cache_outside_tmp() -> None:
    """Importing ``torch._dynamo`` (transformers' model classes do) creates torch's compile-cache folder, by default
    ``$TMPDIR/torchinductor_<user>``: every run would leave a folder in the temporary directory. The command line
    never compiles anything; it points that cache at the user's cache folder, where caches belong (left alone when
    the variable is set, or when that folder cannot be made)."""
    if "TORCHINDUCTOR_CACHE_DIR" in os.environ:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "torch", "inductor")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return
    if os.access(folder, os.W_OK):
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = folder


_interrupt_seen = False


def _keyboard_interrupt(signum: int, frame: object) -> None:
    """Python's own behaviour (raise KeyboardInterrupt), except inside a ``__del__`` finalizer: Python prints and
    drops an exception raised there, so the command would go on and write its outputs as if never interrupted
    (seen with the ``regex`` package's finalizers while transformers loads). There the interrupt is only noted, and
    ``raise_if_interrupted`` raises it at the next safe point."""
    global _interrupt_seen
    _interrupt_seen = True
    if getattr(getattr(frame, "f_code", None), "co_name", "") == "__del__":
        return
    raise KeyboardInterrupt


def end_of_startup() -> None:
    """Ctrl-C raises KeyboardInterrupt again (for the commands' own clean-up); a no-op when ``main`` did not run."""
    if signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, _keyboard_interrupt)


def raise_if_interrupted() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that arrived inside a finalizer (see ``_keyboard_interrupt``)."""
    if _interrupt_seen:
        raise KeyboardInterrupt
