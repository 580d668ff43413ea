"""Revert: created rows deleted, updated and deleted rows restored, conflicts refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from loadbay.errors import Abandoned, InvalidState, RevertConflict, StoreError
from loadbay.pipeline.frames import ErrorHandling, Mode
from loadbay.service import imports as import_service
from loadbay.service.context import Context
from loadbay.service.leases import open_leases, reap, run_leased
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.service.revert import reap_reverts, revert_import
from loadbay.store import system
from loadbay.store.locks import table_locks
from tests.service.helpers import by_key, run, runner, write

BASE = "name,due_days\nAcme,30\nGlobex,14\n"


def test_revert_restores_the_table(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "a.csv", BASE), table="companies")
    before = by_key(ctx, "companies", "name")
    change = run(
        ctx, write(tmp_path, "b.csv", "name,due_days\nAcme,99\nNew,1\n"), table="companies"
    )
    assert change.counts.created == 1 and change.counts.updated == 1
    result = revert_import(ctx, change.id)
    assert result["reverted"] == {"deleted": 1, "restored": 1, "reinserted": 0}
    assert by_key(ctx, "companies", "name") == before
    with pytest.raises(InvalidState, match="reverted already"):
        revert_import(ctx, change.id)


def test_revert_of_a_delete_puts_rows_back(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "a.csv", BASE), table="companies")
    before = by_key(ctx, "companies", "name")
    deletion = run(
        ctx, write(tmp_path, "d.csv", "name\nAcme\n"), table="companies", mode=Mode.DELETE
    )
    assert set(by_key(ctx, "companies", "name")) == {"Globex"}
    revert_import(ctx, deletion.id)
    assert by_key(ctx, "companies", "name") == before


def test_revert_conflict_is_refused_unless_forced(ctx: Context, tmp_path: Path) -> None:
    first = run(ctx, write(tmp_path, "a.csv", BASE), table="companies")
    run(ctx, write(tmp_path, "b.csv", "name,due_days\nAcme,77\n"), table="companies")
    with pytest.raises(RevertConflict) as info:
        revert_import(ctx, first.id)
    conflicts = info.value.details["conflicts"]
    assert [c["reason"] for c in conflicts] == ["created by the import, changed since"]  # type: ignore[index]
    assert set(by_key(ctx, "companies", "name")) == {"Acme", "Globex"}  # nothing changed
    from loadbay.service.imports import get_import

    assert get_import(ctx, first.id).state == "succeeded"  # back from reverting
    revert_import(ctx, first.id, force=True)
    assert by_key(ctx, "companies", "name") == {}


def test_revert_refuses_rows_referenced_since(ctx: Context, tmp_path: Path) -> None:
    companies = run(ctx, write(tmp_path, "a.csv", "name\nAcme\n"), table="companies")
    run(
        ctx,
        write(tmp_path, "p.csv", "first_name,last_name,email,company\nA,B,a@b.co,Acme\n"),
        table="people",
    )
    with pytest.raises(RevertConflict, match="changed after"):
        revert_import(ctx, companies.id)


def test_dry_run_cannot_be_reverted(ctx: Context, tmp_path: Path) -> None:
    dry = run(ctx, write(tmp_path, "a.csv", BASE), table="companies", dry_run=True)
    with pytest.raises(InvalidState, match="validated"):
        revert_import(ctx, dry.id)


def test_a_cancelled_lenient_import_keeps_its_chunks_and_can_be_reverted(
    ctx: Context, tmp_path: Path
) -> None:
    from loadbay.pipeline.frames import ErrorHandling
    from loadbay.service import imports as import_service
    from loadbay.service.requests import ImportRequest, SourceSpec
    from loadbay.store import imports_sql

    data = write(tmp_path, "c.csv", "name\n" + "".join(f"C{i}\n" for i in range(30)))
    request = ImportRequest(
        sources=(SourceSpec(str(data), "c.csv", "companies"),),
        error_handling=ErrorHandling.LENIENT,
    )
    import_id = import_service.create_import(ctx, request)

    def cancel_after_first_chunk(phase: str, done: int, _total: int | None) -> None:
        if phase == "write" and done >= 7:  # chunks of 7 rows in tests
            with ctx.engine.begin() as conn:
                imports_sql.update_import(conn, ctx.tenant, import_id, state="cancelled")

    record = import_service.run_import(ctx, import_id, progress=cancel_after_first_chunk)
    assert record.state == "cancelled"
    assert record.counts.created == 7
    assert len(by_key(ctx, "companies", "name")) == 7
    revert_import(ctx, import_id)
    assert by_key(ctx, "companies", "name") == {}


def test_revert_restores_every_stored_value_of_updated_and_deleted_rows(
    ctx: Context, tmp_path: Path
) -> None:
    """The before-images (from the plan) hold every column, references and stamps too."""
    run(ctx, write(tmp_path, "c.csv", "name\nAcme\nGlobex\n"), table="companies")
    run(
        ctx,
        write(
            tmp_path,
            "p.csv",
            "external_id,name,customer,budget,start_date\nP1,One,Acme,10.50,2024-01-02\n"
            "P2,Two,Globex,7,2024-03-04\n",
        ),
        table="projects",
    )

    def stored() -> list[tuple[object, ...]]:
        with ctx.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM projects ORDER BY loadbay_id")
            return [tuple(r) for r in rows]

    before = stored()
    change = run(
        ctx,
        write(tmp_path, "u.csv", "external_id,name,customer\nP1,Uno,Globex\n"),
        table="projects",
    )
    deletion = run(
        ctx, write(tmp_path, "d.csv", "external_id\nP2\n"), table="projects", mode=Mode.DELETE
    )
    assert change.counts.updated == 1 and deletion.counts.deleted == 1
    revert_import(ctx, deletion.id)
    revert_import(ctx, change.id)
    assert stored() == before


def _failing(ctx: Context, tmp_path: Path, at: str) -> dict[str, Any]:
    """A lenient import of 20 companies, 7 a chunk, that fails at the first ``at`` step."""
    path = write(tmp_path, "c.csv", "name\n" + "".join(f"Company {i}\n" for i in range(20)))
    request = ImportRequest(
        sources=(SourceSpec(path=str(path), name=path.name, table="companies"),),
        error_handling=ErrorHandling.LENIENT,
    )
    import_id = import_service.create_import(ctx, request)

    def fail(phase: str, _done: int, _total: int | None) -> None:
        if phase == at:
            raise StoreError("the database went away")

    return runner(ctx, import_id, fail).run()


def test_a_lenient_import_that_fails_after_writing_chunks_can_be_reverted(
    ctx: Context, tmp_path: Path
) -> None:
    """What a failed lenient import had committed stays, so it is revertible (as a
    cancelled one is)."""
    failed = _failing(ctx, tmp_path, "write")  # after the first chunk's commit
    assert failed.state == "failed" and failed.error_code == "database_error"
    assert failed.counts.created == 7 and failed.write_stamp
    assert len(by_key(ctx, "companies", "name")) == 7

    result = revert_import(ctx, failed.id)
    assert result["import"].state == "reverted"
    assert result["reverted"]["deleted"] == 7
    assert by_key(ctx, "companies", "name") == {}


def test_a_failed_import_that_wrote_nothing_has_nothing_to_revert(
    ctx: Context, tmp_path: Path
) -> None:
    failed = _failing(ctx, tmp_path, "read")
    assert failed.state == "failed" and not failed.write_stamp
    with pytest.raises(InvalidState, match="wrote no rows"):
        revert_import(ctx, failed.id)


def test_an_import_given_up_after_its_workers_died_keeps_its_chunks_revertible(
    ctx: Context, tmp_path: Path
) -> None:
    class Crash(Abandoned):
        """The worker's process dies here."""

    def crash(phase: str, _done: int, _total: int | None) -> None:
        if phase == "write":
            raise Crash

    path = write(tmp_path, "c.csv", "name\n" + "".join(f"Company {i}\n" for i in range(20)))
    request = ImportRequest(
        sources=(SourceSpec(path=str(path), name=path.name, table="companies"),),
        error_handling=ErrorHandling.LENIENT,
    )
    import_id = import_service.create_import(ctx, request)
    with pytest.raises(Crash):
        runner(ctx, import_id, crash).run()
    leases = open_leases(ctx.settings)
    try:
        with leases.engine.begin() as conn:  # its third worker died too, lease expired
            conn.execute(
                sa.insert(system.leases).values(
                    import_id=import_id,
                    tenant_id=ctx.tenant,
                    locked_by="dead",
                    lease_until=datetime(2000, 1, 1),
                    attempts=ctx.settings.max_attempts,
                    cancel_requested=False,
                )
            )
        record = run_leased(ctx, leases, ctx.tenant, import_id)
    finally:
        leases.close()
    assert record is not None
    assert (record.state, record.error_code) == ("failed", "worker_crashed")
    assert record.counts.created == 7 and record.write_stamp
    revert_import(ctx, import_id)
    assert by_key(ctx, "companies", "name") == {}


# ---- a revert whose process died ------------------------------------------------------


class Killed(Abandoned):
    """The reverting process dies here."""


def _dead_revert(ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A failed lenient import (7 rows written) whose revert died in its transaction."""
    failed = _failing(ctx, tmp_path, "write")
    with monkeypatch.context() as patch:

        def killed(*_args: object) -> None:
            raise Killed

        patch.setattr("loadbay.service.revert.apply_revert", killed)
        with pytest.raises(Killed):
            revert_import(ctx, failed.id)
    record = import_service.get_import(ctx, failed.id)
    assert record.state == "reverting"
    assert len(by_key(ctx, "companies", "name")) == 7  # its transaction was rolled back
    return str(failed.id)


def test_a_revert_that_died_is_taken_over_by_the_next(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_id = _dead_revert(ctx, tmp_path, monkeypatch)
    result = revert_import(ctx, import_id)
    assert result["import"].state == "reverted"
    assert result["reverted"]["deleted"] == 7
    assert by_key(ctx, "companies", "name") == {}


def test_the_reaper_puts_a_dead_revert_back_as_it_was(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_id = _dead_revert(ctx, tmp_path, monkeypatch)
    leases = open_leases(ctx.settings)
    # a live revert of another import holds its locks
    with ctx.engine.connect() as conn, table_locks(conn, ctx.tenant, ["people"]):
        try:
            assert reap(ctx, leases) == []
        finally:
            leases.close()
    record = import_service.get_import(ctx, import_id)
    assert (record.state, record.error_code) == ("failed", "database_error")
    assert record.checkpoint.parts  # as the failed run left it
    assert revert_import(ctx, import_id)["reverted"]["deleted"] == 7


def test_the_reaper_leaves_a_live_revert_alone(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_id = _dead_revert(ctx, tmp_path, monkeypatch)
    # as the revert running it holds them
    with ctx.engine.connect() as conn, table_locks(conn, ctx.tenant, ["companies"]):
        assert reap_reverts(ctx) == []
    assert import_service.get_import(ctx, import_id).state == "reverting"
    assert reap_reverts(ctx) == [import_id]
    assert import_service.get_import(ctx, import_id).state == "failed"
