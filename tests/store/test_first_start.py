"""Many processes starting together on a fresh database: one creates loadbay's tables, the
others wait for it (PostgreSQL: an advisory lock on the schema; SQLite: the write lock)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.service.context import open_context
from loadbay.store.engine import make_engine

STARTERS = 6


def test_contexts_opened_at_once_on_a_fresh_database_all_start(settings: Settings) -> None:
    barrier = threading.Barrier(STARTERS)
    failures: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            open_context(settings).close()
        except BaseException as exc:  # every failure is the finding
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            assert "loadbay_imports" in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
