"""Run an iterator a bounded number of items ahead in a background thread.

The ffmpeg decoder writes into a pipe that holds about one second of audio; while the model works on a batch
(seconds on a CPU), ffmpeg would sit blocked on the full pipe and the next batch would wait for decoding. Reading
the pipe from a thread into a small bounded queue lets decoding overlap inference, while memory stays bounded by
``depth`` items.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
# How often a blocked producer checks whether the consumer has gone away.
_POLL_SECONDS = 0.1


def prefetch(items: Iterable[T], depth: int) -> Generator[T, None, None]:
    """Yield what ``items`` yields, produced up to ``depth`` items ahead by a daemon thread.

    Exceptions raised by ``items`` are re-raised in the consumer at the position they happened. When the consumer
    stops early (``close()``, an exception, garbage collection), the thread stops and closes ``items`` itself, so
    a decoder's cleanup (killing ffmpeg) runs in the thread that owns it.
    """
    if depth < 1:
        raise ValueError(f"prefetch depth must be at least 1, got {depth}")
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(items, buffer, stop), name="langspan-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _produce(items: Iterable[T], buffer: queue.Queue, stop: threading.Event) -> None:
    iterator = iter(items)
    try:
        for item in iterator:
            if not _put(buffer, (item, None), stop):
                return
        _put(buffer, (_DONE, None), stop)
    except BaseException as error:  # noqa: BLE001 - not handled here: handed to the consumer, which re-raises it
        _put(buffer, (None, error), stop)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _put(buffer: queue.Queue, entry: tuple, stop: threading.Event) -> bool:
    """Put unless the consumer has stopped; False when it has."""
    while not stop.is_set():
        try:
            buffer.put(entry, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
