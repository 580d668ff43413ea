"""A first load into an empty table builds its indexes after the rows (issue 20): the
same rows, results and indexes as inserting into the indexed table, the unique ones
enforced after it, a rollback (dry run) keeps them, and the import reverts."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from loadbay.service.context import Context
from loadbay.service.revert import revert_import
from loadbay.store import write_sql
from loadbay.store.columns import CREATED, ID, TENANT, UPDATED
from tests.service.helpers import by_key, results, rows, run, write

FILE = "name,external_id,due_days\nAcme,a1,30\nGlobex,g1,14\nAcme,a2,31\nInitech,i1,7\n"


def _indexes(ctx: Context) -> list[tuple[str, tuple[str, ...], bool]]:
    with ctx.engine.connect() as conn:
        found = sa.inspect(conn).get_indexes("companies")
    return sorted(
        (str(i["name"]), tuple(map(str, i["column_names"])), bool(i["unique"])) for i in found
    )


def test_a_first_load_builds_the_indexes_after_its_rows(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_sql, "BUILD_INDEXES_AFTER", 2)
    before = _indexes(ctx)
    assert len(before) >= 2  # the key (tenant, name) and external_id, both unique
    dry = run(ctx, write(tmp_path, "d.csv", FILE), table="companies", dry_run=True)
    assert dry.counts.created == 3
    assert _indexes(ctx) == before and rows(ctx, "companies") == []  # rolled back
    done = run(ctx, write(tmp_path, "c.csv", FILE), table="companies")
    assert done.state == "succeeded"
    assert done.counts.created == 3 and done.counts.skipped == 1
    assert _indexes(ctx) == before
    stored = by_key(ctx, "companies", "name")
    assert {k: (v["external_id"], v["due_days"]) for k, v in stored.items()} == {
        "Acme": ("a2", 31),
        "Globex": ("g1", 14),
        "Initech": ("i1", 7),
    }
    created = {r["row"]: r["record_id"] for r in results(ctx, done.id) if r["record_id"]}
    assert {stored[k]["loadbay_id"] for k in stored} == set(created.values())
    with ctx.engine.connect() as conn, conn.begin():  # the key's unique index holds
        insert = sa.text(
            f"INSERT INTO companies ({ID}, {TENANT}, {CREATED}, {UPDATED}, name) "
            "VALUES (999, :t, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'Acme')"
        )
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(insert, {"t": ctx.tenant})
    again = run(
        ctx, write(tmp_path, "u.csv", "name,external_id\nHooli,g1\nAcme,a2\n"), table="companies"
    )
    assert again.counts.failed == 1  # g1 is Globex's: a row error, nothing written
    revert_import(ctx, done.id)
    assert rows(ctx, "companies") == [] and _indexes(ctx) == before
