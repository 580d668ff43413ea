"""The stager writes batches on its own thread, in order, and hands its errors back; for
small files it writes each one at once, in the caller's thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from loadbay.service import ingest
from loadbay.service.context import Context
from loadbay.service.ingest import Stager
from tests.service.helpers import rows, run, write


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


@pytest.mark.parametrize("threaded", [True, False])
def test_an_error_stops_the_jobs_after_it_and_is_raised_to_the_caller(threaded: bool) -> None:
    done: list[int] = []

    def fail() -> None:
        raise ValueError("disk full")

    stager = Stager(threaded)
    try:
        stager.submit(lambda: done.append(1))
        with pytest.raises(ValueError, match="disk full"):  # at once, or at the next job
            stager.submit(fail)
            stager.submit(lambda: done.append(3))
            stager.wait()
    finally:
        stager.close()
    assert done == [1]


def test_without_a_thread_jobs_run_at_once_in_the_callers_thread() -> None:
    done: list[str] = []
    stager = Stager(threaded=False)
    stager.submit(lambda: done.append(threading.current_thread().name))
    assert done == [threading.current_thread().name]  # before any wait
    stager.wait()
    stager.close()


def test_an_import_stages_the_same_rows_with_or_without_the_threads(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, import_path: str
) -> None:
    threads: list[bool] = []
    real = ingest.Stager

    def spy(threaded: bool = True) -> Stager:
        threads.append(threaded)
        return real(threaded)

    monkeypatch.setattr(ingest, "Stager", spy)
    path = write(tmp_path, "c.csv", "name\n" + "".join(f"C{i}\n" for i in range(30)))
    done = run(ctx, path, table="companies")
    assert done.state == "succeeded" and done.counts.created == 30
    assert sorted(r["name"] for r in rows(ctx, "companies")) == sorted(f"C{i}" for i in range(30))
    assert threads == [import_path == "big"]
