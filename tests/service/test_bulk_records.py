"""Synchronous bulk records: the upload of the records and the import made of them are
recorded in one commit, so a failure between the two leaves neither behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from loadbay.service import bulk
from loadbay.service.context import Context
from loadbay.service.leases import Leases, open_leases
from loadbay.store import imports_sql, system

RECORDS = [{"name": "Acme"}, {"name": "Globex"}]


@pytest.fixture
def leases(ctx: Context) -> Iterator[Leases]:
    found = open_leases(ctx.settings)
    yield found
    found.close()


def _count(ctx: Context, table: sa.Table) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _upload_files(ctx: Context) -> list[str]:
    folder = ctx.settings.data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_records_and_their_import_are_committed_together(ctx: Context, leases: Leases) -> None:
    found = bulk.bulk_records(ctx, leases, "default", "companies", RECORDS)
    assert not found.failed
    assert [r["outcome"] for r in found.results] == ["created", "created"]
    assert _count(ctx, system.uploads) == 1
    assert _count(ctx, system.imports) == 1
    assert len(_upload_files(ctx)) == 1


def test_an_import_that_cannot_be_recorded_leaves_no_upload(
    ctx: Context, leases: Leases, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(conn: sa.Connection, values: dict[str, object]) -> None:
        conn.exec_driver_sql("SELECT 1")  # the transaction is under way
        raise RuntimeError("the import row cannot be written")

    monkeypatch.setattr(imports_sql, "insert_import", broken)
    with pytest.raises(RuntimeError, match="cannot be written"):
        bulk.bulk_records(ctx, leases, "default", "companies", RECORDS)
    assert _count(ctx, system.uploads) == 0  # not an orphan upload row
    assert _upload_files(ctx) == []  # nor its file
    assert _count(ctx, system.imports) == 0


def test_the_answer_says_whether_a_record_failed_not_how_http_says_it(
    ctx: Context, leases: Leases
) -> None:
    found = bulk.bulk_records(ctx, leases, "default", "companies", [*RECORDS, {"nope": 1}])
    assert found.failed  # the API answers 207 (api/routes/tables)
    assert [r["outcome"] for r in found.results] == ["created", "created", "failed"]
    assert found.as_json() == {
        "import_id": found.import_id,
        "results": found.results,
        "warnings": found.warnings,
    }
