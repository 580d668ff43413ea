"""Every run ends: a big dry run or a failing strict import finishes, an exception inside a
run ends the import (failed, with a code), its scratch goes, and the engine serves the next.

On SQLite a plan of more than a few MiB spills from the page cache of the scratch file
(store/scratch.py) before its transaction ends; a dry run, and a strict import whose rows
failed, then roll that transaction back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import imports as import_service
from loadbay.service.context import Context
from loadbay.service.ingest import Progress
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.service.revert import revert_import
from loadbay.store import imports_sql
from tests.service.helpers import by_key, results, rows, run, runner, write

#: 400 companies of ~8 KB each: a plan of ~3 MiB
BIG = 400
PAD = "x" * 8000


def big_csv(tmp_path: Path, bad_rows: int = 0) -> Path:
    lines = [f"Company {i:04d} {PAD},{'soon' if i < bad_rows else i % 90}" for i in range(BIG)]
    return write(tmp_path, "companies.csv", "name,due_days\n" + "\n".join(lines) + "\n")


def leftovers(ctx: Context) -> list[str]:
    """The scratch and stage files (SQLite) or tables (PostgreSQL) of imports."""
    if ctx.engine.dialect.name == "sqlite":
        database = Path(str(ctx.engine.url.database))
        found = database.parent.glob(f"{database.name}.*")
        return sorted(p.name for p in found if p.suffix in (".scratch", ".stage"))
    with ctx.engine.connect() as conn:
        names = conn.exec_driver_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND (table_name LIKE 'loadbay_stage_%%' "
            "OR table_name LIKE 'loadbay_plan_%%')"
        )
        return sorted(str(n) for n in names.scalars())


def serves_the_next_import(ctx: Context, tmp_path: Path) -> None:
    done = run(ctx, write(tmp_path, "next.csv", "name\nNext Co\n"), table="companies")
    assert done.state == "succeeded", done
    assert "Next Co" in by_key(ctx, "companies", "name")
    assert leftovers(ctx) == []


def test_a_big_dry_run_shows_its_plan_and_writes_nothing(ctx: Context, tmp_path: Path) -> None:
    dry = run(ctx, big_csv(tmp_path), table="companies", dry_run=True)
    assert dry.state == "validated", dry
    assert dry.counts.created == BIG and dry.counts.failed == 0
    assert (dry.error, dry.error_code) == (None, None)
    assert rows(ctx, "companies") == []
    assert leftovers(ctx) == []
    real = import_service.start_import(ctx, dry.id)
    assert real.state == "succeeded" and real.counts.created == BIG
    serves_the_next_import(ctx, tmp_path)


def test_a_big_strict_import_with_failed_rows_fails_with_a_code(
    ctx: Context, tmp_path: Path
) -> None:
    done = run(ctx, big_csv(tmp_path, bad_rows=12), table="companies")
    assert done.state == "failed", done
    assert done.error_code == "row_errors"
    assert done.error == "12 rows failed; nothing was written"
    assert done.counts.failed == 12 and done.counts.skipped == BIG - 12
    assert rows(ctx, "companies") == []
    assert leftovers(ctx) == []
    serves_the_next_import(ctx, tmp_path)


def test_a_strict_dry_run_with_failed_rows_says_so(ctx: Context, tmp_path: Path) -> None:
    dry = run(ctx, big_csv(tmp_path, bad_rows=1), table="companies", dry_run=True)
    assert dry.state == "validation_failed", dry
    assert dry.error_code == "row_errors"
    assert dry.error == "1 row failed; a real run would write nothing"
    assert dry.counts.failed == 1 and dry.counts.created == BIG - 1
    assert leftovers(ctx) == []


def test_a_lenient_dry_run_with_failed_rows_has_no_error(ctx: Context, tmp_path: Path) -> None:
    dry = run(
        ctx,
        big_csv(tmp_path, bad_rows=1),
        table="companies",
        dry_run=True,
        error_handling=ErrorHandling.LENIENT,
    )
    assert dry.state == "validated"
    assert (dry.error, dry.error_code) == (None, None)


# ---- exceptions inside a run ------------------------------------------------------------


def queued(ctx: Context, path: Path, **options: Any) -> str:
    request = ImportRequest(
        sources=(SourceSpec(path=str(path), name=path.name, table="companies"),), **options
    )
    return import_service.create_import(ctx, request)


def raising(error: BaseException, at: str = "write") -> Progress:
    def progress(phase: str, _done: int, _total: int | None) -> None:
        if phase == at:
            raise error

    return progress


@pytest.mark.parametrize("at", ["read", "write"])
def test_an_internal_error_ends_the_import_failed(ctx: Context, tmp_path: Path, at: str) -> None:
    import_id = queued(ctx, write(tmp_path, "c.csv", "name\nA\nB\n"))
    with pytest.raises(ZeroDivisionError):
        runner(ctx, import_id, raising(ZeroDivisionError("boom"), at)).run()
    record = import_service.get_import(ctx, import_id)
    assert record.state == "failed"
    assert record.error_code == "internal_error"
    assert "ZeroDivisionError: boom" in record.error
    assert leftovers(ctx) == []
    serves_the_next_import(ctx, tmp_path)


def test_ctrl_c_ends_a_strict_import_cancelled(ctx: Context, tmp_path: Path) -> None:
    import_id = queued(ctx, write(tmp_path, "c.csv", "name\nA\nB\n"))
    with pytest.raises(KeyboardInterrupt):
        runner(ctx, import_id, raising(KeyboardInterrupt())).run()
    record = import_service.get_import(ctx, import_id)
    assert (record.state, record.error_code) == ("cancelled", None)
    assert record.progress["phase"] == "writing"  # where it stopped
    assert rows(ctx, "companies") == []
    assert leftovers(ctx) == []
    serves_the_next_import(ctx, tmp_path)


def test_an_interrupted_lenient_import_keeps_its_chunks_revertible(
    ctx: Context, tmp_path: Path
) -> None:
    path = write(tmp_path, "c.csv", "name\n" + "".join(f"C{i}\n" for i in range(20)))
    import_id = queued(ctx, path, error_handling=ErrorHandling.LENIENT)
    with pytest.raises(SystemExit):
        runner(ctx, import_id, raising(SystemExit(1))).run()  # after the first chunk
    record = import_service.get_import(ctx, import_id)
    assert (record.state, record.error_code) == ("failed", "interrupted")
    assert record.counts.created == 7 and record.write_stamp
    assert leftovers(ctx) == []
    assert revert_import(ctx, import_id)["reverted"]["deleted"] == 7
    serves_the_next_import(ctx, tmp_path)


def test_a_run_whose_connection_is_lost_ends_failed_on_a_fresh_one(
    ctx: Context, tmp_path: Path
) -> None:
    """The run's connection dies in the middle of its write transaction: the import is
    failed through another connection, and the dead one never goes back to the pool."""
    taken: list[Any] = []

    def checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        taken.append(dbapi_conn)

    def lose_the_connection(phase: str, _done: int, _total: int | None) -> None:
        if phase == "write":
            taken[0].close()

    import_id = queued(ctx, write(tmp_path, "c.csv", "name\nA\nB\n"))
    event.listen(ctx.engine, "checkout", checkout)
    try:
        done = runner(ctx, import_id, lose_the_connection).run()
    finally:
        event.remove(ctx.engine, "checkout", checkout)
    assert done.state == "failed", done
    assert done.error_code == "database_unavailable"  # as store/driver.translate words it
    assert "connection was lost" in (done.error or "")
    assert import_service.get_import(ctx, import_id).state == "failed"
    assert rows(ctx, "companies") == []
    assert leftovers(ctx) == []
    for _ in range(3):  # whichever pooled connection each one gets
        serves_the_next_import(ctx, tmp_path)


def test_scratch_goes_with_a_cancelled_import(ctx: Context, tmp_path: Path) -> None:
    import_id = queued(ctx, big_csv(tmp_path), error_handling=ErrorHandling.LENIENT)

    def cancel(phase: str, _done: int, _total: int | None) -> None:
        if phase == "write":
            with ctx.engine.begin() as conn:
                imports_sql.update_import(conn, ctx.tenant, import_id, state="cancelled")

    done = runner(ctx, import_id, cancel).run()
    assert done.state == "cancelled"
    assert leftovers(ctx) == []
    assert len(results(ctx, import_id)) == 7  # the chunk committed before the request
    serves_the_next_import(ctx, tmp_path)


def test_a_lenient_import_whose_every_row_failed_says_why(ctx: Context, tmp_path: Path) -> None:
    """It ends failed: its error must not be empty (issue 17), as a strict one's is not."""
    data = write(tmp_path, "c.csv", "name,due_days\nA,soon\nB,later\n")
    done = run(ctx, data, table="companies", error_handling=ErrorHandling.LENIENT)
    assert done.state == "failed", done
    assert done.error_code == "row_errors"
    assert done.error == "2 rows failed; nothing was written"
    assert rows(ctx, "companies") == []
