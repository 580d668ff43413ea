"""Revert: created rows deleted, updated and deleted rows restored, conflicts refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbay.errors import InvalidState, RevertConflict
from loadbay.pipeline.frames import Mode
from loadbay.service.context import Context
from loadbay.service.revert import revert_import
from tests.service.helpers import by_key, run, write

BASE = "name,due_days\nAcme,30\nGlobex,14\n"


def test_revert_restores_the_table(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "a.csv", BASE), table="companies")
    before = by_key(ctx, "companies", "name")
    change = run(
        ctx, write(tmp_path, "b.csv", "name,due_days\nAcme,99\nNew,1\n"), table="companies"
    )
    assert change["counts"]["created"] == 1 and change["counts"]["updated"] == 1
    result = revert_import(ctx, change["id"])
    assert result["reverted"] == {"deleted": 1, "restored": 1, "reinserted": 0}
    assert by_key(ctx, "companies", "name") == before
    with pytest.raises(InvalidState, match="reverted already"):
        revert_import(ctx, change["id"])


def test_revert_of_a_delete_puts_rows_back(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "a.csv", BASE), table="companies")
    before = by_key(ctx, "companies", "name")
    deletion = run(
        ctx, write(tmp_path, "d.csv", "name\nAcme\n"), table="companies", mode=Mode.DELETE
    )
    assert set(by_key(ctx, "companies", "name")) == {"Globex"}
    revert_import(ctx, deletion["id"])
    assert by_key(ctx, "companies", "name") == before


def test_revert_conflict_is_refused_unless_forced(ctx: Context, tmp_path: Path) -> None:
    first = run(ctx, write(tmp_path, "a.csv", BASE), table="companies")
    run(ctx, write(tmp_path, "b.csv", "name,due_days\nAcme,77\n"), table="companies")
    with pytest.raises(RevertConflict) as info:
        revert_import(ctx, first["id"])
    conflicts = info.value.details["conflicts"]
    assert [c["reason"] for c in conflicts] == ["created by the import, changed since"]  # type: ignore[index]
    assert set(by_key(ctx, "companies", "name")) == {"Acme", "Globex"}  # nothing changed
    from loadbay.service.imports import get_import

    assert get_import(ctx, first["id"])["state"] == "succeeded"  # back from reverting
    revert_import(ctx, first["id"], force=True)
    assert by_key(ctx, "companies", "name") == {}


def test_revert_refuses_rows_referenced_since(ctx: Context, tmp_path: Path) -> None:
    companies = run(ctx, write(tmp_path, "a.csv", "name\nAcme\n"), table="companies")
    run(
        ctx,
        write(tmp_path, "p.csv", "first_name,last_name,email,company\nA,B,a@b.co,Acme\n"),
        table="people",
    )
    with pytest.raises(RevertConflict, match="changed after"):
        revert_import(ctx, companies["id"])


def test_dry_run_cannot_be_reverted(ctx: Context, tmp_path: Path) -> None:
    dry = run(ctx, write(tmp_path, "a.csv", BASE), table="companies", dry_run=True)
    with pytest.raises(InvalidState, match="validated"):
        revert_import(ctx, dry["id"])


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
    assert record["state"] == "cancelled"
    assert record["counts"]["created"] == 7
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
            return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM projects ORDER BY id")]

    before = stored()
    change = run(
        ctx,
        write(tmp_path, "u.csv", "external_id,name,customer\nP1,Uno,Globex\n"),
        table="projects",
    )
    deletion = run(
        ctx, write(tmp_path, "d.csv", "external_id\nP2\n"), table="projects", mode=Mode.DELETE
    )
    assert change["counts"]["updated"] == 1 and deletion["counts"]["deleted"] == 1
    revert_import(ctx, deletion["id"])
    revert_import(ctx, change["id"])
    assert stored() == before
