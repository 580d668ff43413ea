"""What-if switches for the loadbay workers: measure an engine change before making it.

Each experiment changes how the engine runs *from the outside* (SQLAlchemy events on
every engine, a module setting, the C allocator), never loadbay's code, so a proposal
can come with its measured effect. ``python -m benchmarks.run --experiment NAME``
applies one to every loadbay import of the run (the raw path is left alone); the figures
then carry the experiment's name in ``meta.experiments``. Not for normal runs.

- ``analyze``: ``ANALYZE`` the staging table before the plan is built, and the plan
  table right after, so the planner knows their size (PostgreSQL and SQLite).
- ``work_mem=256MB`` (PostgreSQL): a larger ``work_mem`` for loadbay's connections, so
  the plan's hash joins and sorts stay in memory.
- ``temp_buffers=256MB`` (PostgreSQL, issue #20): a larger buffer for the connection's
  temporary tables (8 MB by default), so the plan table stays in the backend's memory
  between the statements that read it, instead of going through files.
- ``sqlite_cache_kib=N`` (SQLite): the page cache loadbay's engine sets, in KiB.
- ``mallopt``: glibc keeps freed memory (no heap trimming, no mmap for large blocks),
  the allocator settings performance.md found to avoid the SQLite slowdown.
- ``sqlite_temp_store=memory|file`` (SQLite): where sorts and temporary b-trees go.
- ``results_unindexed`` (PostgreSQL, issue #20): the row results table without its
  primary key (dropped on the benchmark's own database when the import starts), to
  measure what its wide key costs the results' insert: an upper bound of what a narrower
  key, or results kept with the plan, would save. Never for a real database.

(``sqlite_scratch``, staging and plan tables in an attached scratch file, was measured
here first; the engine does it itself since commit 2621836, so the switch is gone.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import sqlite3
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

import loadbay.store.engine as engine_module

#: the plan table's creation; on SQLite it lives in the attached ``scratch`` database
_PLAN = re.compile(r'^\s*CREATE (?:UNLOGGED )?TABLE ((?:"scratch"\.)?"loadbay_plan_[a-z0-9]+_\d+")')
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def _analyze(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    found = _PLAN.match(statement)
    if found:
        plan = found[1]
        cursor.execute(f"ANALYZE {plan}")
        cursor.execute(f"ANALYZE {plan.replace('loadbay_plan_', 'loadbay_stage_', 1)}")


def _analyze_stage_first(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    found = _PLAN.match(statement)
    if found:
        cursor.execute(f"ANALYZE {found[1].replace('loadbay_plan_', 'loadbay_stage_', 1)}")


def _pg_setting(name: str, value: str) -> Any:
    """Sets ``name`` on every new PostgreSQL connection, before its first statement."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("psycopg"):
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET {name} = '{value}'")
            dbapi_conn.commit()

    return on_connect


def _mallopt() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)  # the largest glibc accepts on 64-bit


def _temp_store(value: str) -> Any:
    def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if isinstance(dbapi_conn, sqlite3.Connection):  # after the engine's own pragmas
            dbapi_conn.execute(f"PRAGMA temp_store={value}")

    return on_checkout


_DONE: list[bool] = []


def _results_unindexed(conn: Any, _branch: Any = None) -> None:
    """Once per process, on the first connection (before the import's first statement)."""
    if _DONE:
        return
    _DONE.append(True)
    if conn.dialect.name == "postgresql":
        with conn.begin():
            conn.exec_driver_sql(
                "ALTER TABLE loadbay_results DROP CONSTRAINT IF EXISTS loadbay_results_pk"
            )


def apply(experiments: list[str]) -> None:
    """Switch the experiments on for every engine made from now on, in this process."""
    for name in experiments:
        key, _, value = name.partition("=")
        if key == "analyze":
            event.listen(Engine, "before_cursor_execute", _analyze_stage_first)
            event.listen(Engine, "after_cursor_execute", _analyze)
        elif key in ("work_mem", "temp_buffers"):
            if not re.fullmatch(r"\d+[kMG]B", value):
                raise ValueError(f"{key} wants a size such as 256MB, not {value!r}")
            event.listen(Engine, "connect", _pg_setting(key, value))
        elif key == "sqlite_cache_kib":
            engine_module.SQLITE_CACHE_KIB = int(value)
        elif key == "mallopt":
            _mallopt()
        elif key == "sqlite_temp_store":
            if value.lower() not in ("file", "memory", "default"):
                raise ValueError(f"sqlite_temp_store is file, memory or default, not {value!r}")
            event.listen(Pool, "checkout", _temp_store(value.upper()))
        elif key == "results_unindexed":
            event.listen(Engine, "engine_connect", _results_unindexed)
        else:
            raise ValueError(f"unknown experiment {name!r}")
