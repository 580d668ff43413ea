"""Reading ahead: the next batch is read in a background thread while this one is used.

Parsing (polars, file I/O) releases the GIL, and so does most of what the caller does
with a batch (polars validation), so the two overlap on a machine with two cores or
more. One batch waits in a one-slot queue: at most two batches exist besides the
caller's (the waiting one and the one being read), so memory stays bounded.

Items, the exception that ends the reading (raised to the caller where it would have
been raised without the thread) and the end come out in order. When the caller stops
early (closes the iterator or drops it), the thread is told to stop, the source is
closed in the thread that ran it, and the caller waits for it: files are closed when
the iterator is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

#: how often (seconds) a blocked reader looks whether the caller has gone
_POLL = 0.1


class _End:
    """Put in the queue after the last item."""


class _Failed:
    """Put in the queue when the source raised."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(source: Iterator[T]) -> Generator[T, None, None]:
    """The items of ``source``, each produced while the one before it is being used.

    The thread starts with the first ``next``: an iterator never used costs nothing.
    """
    slot: queue.Queue[T | _End | _Failed] = queue.Queue(maxsize=1)
    stop = threading.Event()
    worker = threading.Thread(
        target=_produce, args=(source, slot, stop), name="loadbay-read-ahead", daemon=True
    )
    worker.start()
    try:
        while True:
            item = slot.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


def _produce(
    source: Iterator[T], slot: queue.Queue[T | _End | _Failed], stop: threading.Event
) -> None:
    try:
        for item in source:
            if not _put(slot, item, stop):
                return
        _put(slot, _End(), stop)
    except BaseException as exc:  # handed to the caller, raised there
        _put(slot, _Failed(exc), stop)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _put(
    slot: queue.Queue[T | _End | _Failed], item: T | _End | _Failed, stop: threading.Event
) -> bool:
    """Wait for room in the slot; False when the caller stopped listening."""
    while not stop.is_set():
        try:
            slot.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False
