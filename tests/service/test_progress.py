"""The progress an import publishes as it runs: phases in order, rows, bytes, percent, errors;
stored with the import at a bounded rate, never holding the import up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import imports as import_service
from loadbay.service import progress
from loadbay.service.context import Context
from loadbay.service.progress import PHASES, Tracker
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import imports_sql
from tests.service.helpers import write


def _projects(tmp_path: Path, rows: int, bad_every: int = 0) -> Path:
    lines = ["external_id,name,budget"]
    for i in range(rows):
        budget = "lots" if bad_every and i % bad_every == 0 else str(i)
        lines.append(f"P-{i},Project {i},{budget}")
    return write(tmp_path, "projects.csv", "\n".join(lines) + "\n")


def _run(ctx: Context, path: Path, **options: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    request = ImportRequest(sources=(SourceSpec(path=str(path), name=path.name),), **options)
    import_id = import_service.create_import(ctx, request)
    seen: list[dict[str, Any]] = []
    record = import_service.run_import(ctx, import_id, listener=seen.append)
    return record, seen


def _order(snapshots: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for snap in snapshots:
        if snap["phase"] and (not found or found[-1] != snap["phase"]):
            found.append(snap["phase"])
    return found


def test_a_run_goes_through_every_phase_and_ends_with_its_numbers(
    ctx: Context, tmp_path: Path
) -> None:
    path = _projects(tmp_path, 40, bad_every=10)  # rows 0, 10, 20, 30 fail
    record, seen = _run(ctx, path, error_handling=ErrorHandling.LENIENT)
    assert record.state == "partially_succeeded"
    assert _order(seen) == list(PHASES)
    final = record.progress
    assert final["phase"] == progress.REPORTING
    assert [p["phase"] for p in final["phases"]] == list(PHASES)
    assert final["rows_read"] == 40 and final["rows_validated"] == 36
    assert final["rows_written"] == final["rows_to_write"] == 36
    assert final["errors"] == 4
    assert final["bytes_read"] == final["bytes_total"] == path.stat().st_size
    assert final["percent"] == 100.0
    seqs = [p["seq"] for p in final["phases"]]
    assert seqs == sorted(seqs) and seqs[-1] == final["seq"]
    # while reading, a percent from bytes (the rows are not known yet)
    reading = [s for s in seen if s["phase"] == progress.READING and s["bytes_read"]]
    assert reading and all(s["percent"] is not None for s in reading)
    writing = [s for s in seen if s["phase"] == progress.WRITING]
    assert writing[-1]["rows_written"] == 36 and writing[-1]["percent"] == 100.0


def test_the_stored_progress_is_what_get_import_shows(ctx: Context, tmp_path: Path) -> None:
    record, _ = _run(ctx, _projects(tmp_path, 5))
    stored = import_service.get_import(ctx, record.id)
    assert stored.progress == record.progress
    assert stored.progress["rows_written"] == 5


def test_a_strict_run_with_failed_rows_reports_them(ctx: Context, tmp_path: Path) -> None:
    record, seen = _run(ctx, _projects(tmp_path, 20, bad_every=5))
    assert record.state == "failed"
    assert record.progress["errors"] == 4
    assert _order(seen) == list(PHASES)


def test_writes_are_bounded_whatever_the_updates(ctx: Context, tmp_path: Path) -> None:
    record, _ = _run(ctx, _projects(tmp_path, 1))
    clock = [0.0]
    tracker = Tracker(ctx.engine, ctx.tenant, record.id, clock=lambda: clock[0])
    writes = _count_progress_writes(ctx.engine)
    tracker.enter(progress.READING)  # the run's first half second: not written
    assert writes == []
    for i in range(10_000):  # ten thousand batches over ten seconds
        clock[0] = i / 1000
        tracker.update(rows_read=i)
    assert 19 <= len(writes) <= 21  # one every half second
    tracker.enter(progress.STAGING)  # a phase ends: its final numbers are written
    stored = import_service.get_import(ctx, record.id).progress
    assert stored["phases"][0]["rows_read"] == 9_999
    assert stored["seq"] == tracker.seq


def test_a_short_run_writes_its_progress_once_a_phase(ctx: Context, tmp_path: Path) -> None:
    """A phase's end is written with the next phase's start, not on a write of its own,
    and nothing in the run's first half second (each write is a commit: a bulk request of
    100 records made 9 of them); every phase still keeps its own number, in order."""
    writes = _count_progress_writes(ctx.engine)
    record, _ = _run(ctx, _projects(tmp_path, 5))
    assert record.state == "succeeded"
    assert len(writes) <= len(PHASES)  # the last one goes with the final state
    if record.progress["elapsed_seconds"] < progress.INTERVAL:
        assert writes == []  # a short run: its final object says it all
    seqs = [p["seq"] for p in record.progress["phases"]]
    assert seqs == sorted(set(seqs)) and seqs[-1] == record.progress["seq"]


def test_a_busy_database_skips_the_write_and_does_not_fail(ctx: Context, tmp_path: Path) -> None:
    record, _ = _run(ctx, _projects(tmp_path, 1))
    before = import_service.get_import(ctx, record.id).progress
    tracker = Tracker(ctx.engine, ctx.tenant, record.id)
    with ctx.engine.connect() as holder, holder.begin():
        # another transaction holds the import's row (PostgreSQL), or the write lock (SQLite)
        holder.execute(
            sa.update(imports_sql.system.imports)
            .where(imports_sql.system.imports.c.id == record.id)
            .values(notes="busy")
        )
        tracker.enter(progress.READING)
        assert not tracker.save(tracker.snapshot())
    assert import_service.get_import(ctx, record.id).progress == before
    tracker.publish(force=True)  # free again: written
    assert import_service.get_import(ctx, record.id).progress["seq"] == tracker.seq


def _count_progress_writes(engine: sa.Engine) -> list[str]:
    found: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.startswith("UPDATE loadbay_imports SET progress"):
            found.append(statement)

    return found
