"""A resumed import whose staged rows were lost stages them again; it never writes fewer.

PostgreSQL empties every unlogged table when it recovers from a crash, and the stage file
of SQLite is written without a journal or an fsync, so a machine that goes down can leave
it short or gone. The checkpoint still says how many rows each part staged: a resumed run
that finds fewer reads its files again (the same files give the same rows, numbered the
same way) and goes on from its checkpoint, as if nothing had been lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbay.errors import Abandoned
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import imports as import_service
from loadbay.service.context import Context
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import imports_sql
from loadbay.store.dialect import q
from loadbay.store.staging import is_reused
from tests.service.helpers import results, rows, runner, write

ROWS = 25
#: one row fails validation (due_days is a whole number): its result comes from the ingest
CSV = "name,due_days\n" + "".join(
    f"Company {i},{'soon' if i == 3 else i % 90}\n" for i in range(ROWS)
)


class Crash(Abandoned):
    """The process dies here (nothing catches it, as nothing survives a kill)."""


def crash_after_first_chunk(phase: str, _done: int, _total: int | None) -> None:
    if phase == "write":
        raise Crash


def lose_the_stage(ctx: Context, import_id: str) -> None:
    """What a crash of the database server (or of the machine) may do to the stage."""
    record = import_service.get_import(ctx, import_id)
    [part] = record.checkpoint.parts
    if is_reused(part["stage"]):
        return  # temporary: gone with the connection of the run (and emptied by its end)
    if ctx.engine.dialect.name == "postgresql":
        with ctx.engine.begin() as conn:  # crash recovery empties unlogged tables
            conn.exec_driver_sql(f"TRUNCATE {q(part['stage'])}")
        return
    database = Path(str(ctx.engine.url.database))
    [stage] = database.parent.glob(f"{database.name}.*.stage")
    stage.unlink()  # never synced: gone with the machine


def interrupted(ctx: Context, path: Path) -> str:
    """An import of ``path`` whose process died after its first chunk's commit."""
    request = ImportRequest(
        sources=(SourceSpec(path=str(path), name=path.name, table="companies"),),
        error_handling=ErrorHandling.LENIENT,
    )
    import_id = import_service.create_import(ctx, request)
    with pytest.raises(Crash):
        runner(ctx, import_id, crash_after_first_chunk).run()
    return import_id


def test_a_resumed_import_stages_again_what_was_lost(
    ctx: Context, tmp_path: Path, import_path: str
) -> None:
    import_id = interrupted(ctx, write(tmp_path, "c.csv", CSV))
    [part] = import_service.get_import(ctx, import_id).checkpoint.parts
    assert is_reused(part["stage"]) is (
        import_path == "small" and ctx.engine.dialect.name != "sqlite"
    )
    written = len(rows(ctx, "companies"))
    assert 0 < written < ROWS - 1
    lose_the_stage(ctx, import_id)

    done = runner(ctx, import_id).run()
    assert done.state == "partially_succeeded"
    assert (done.counts.created, done.counts.failed) == (ROWS - 1, 1)
    names = sorted(r["name"] for r in rows(ctx, "companies"))
    assert names == sorted(f"Company {i}" for i in range(ROWS) if i != 3)
    outcomes = [(r["row"], r["outcome"]) for r in results(ctx, import_id)]
    assert outcomes == [(i + 1, "failed" if i == 3 else "created") for i in range(ROWS)]


def test_files_that_no_longer_give_the_staged_rows_fail_the_import(
    ctx: Context, tmp_path: Path, import_path: str
) -> None:
    path = write(tmp_path, "c.csv", CSV)
    import_id = interrupted(ctx, path)
    lose_the_stage(ctx, import_id)
    path.write_text(CSV + "Company late,1\n", encoding="utf-8")  # the file changed since

    done = runner(ctx, import_id).run()
    assert done.state == "failed"
    assert done.error_code == "stage_lost"
    assert "c.csv" in done.error and "24 staged then, 25 now" in done.error
    with ctx.engine.begin() as conn:
        assert imports_sql.get_state(conn, ctx.tenant, import_id) == "failed"
