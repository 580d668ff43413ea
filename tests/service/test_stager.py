"""The stager writes batches on its own thread, in order, and hands its errors back."""

from __future__ import annotations

import threading

import pytest

from loadbay.service.ingest import Stager


def test_jobs_run_in_order_on_another_thread() -> None:
    done: list[tuple[int, str]] = []
    stager = Stager()
    try:
        for n in range(5):
            stager.submit(lambda n=n: done.append((n, threading.current_thread().name)))
        stager.wait()
    finally:
        stager.close()
    assert [n for n, _ in done] == [0, 1, 2, 3, 4]
    assert {name for _, name in done} == {"loadbay-stager"}


def test_an_error_stops_the_jobs_after_it_and_is_raised_to_the_caller() -> None:
    done: list[int] = []

    def fail() -> None:
        raise ValueError("disk full")

    stager = Stager()
    try:
        stager.submit(lambda: done.append(1))
        stager.submit(fail)
        with pytest.raises(ValueError, match="disk full"):
            stager.submit(lambda: done.append(3))
            stager.wait()
    finally:
        stager.close()
    assert done == [1]
