"""Two ways PostgreSQL plans a small import, each of which must decide exactly what the
general way decides: a plan of few rows looks matched rows up by index (lateral lookups)
rather than joining sets, and a small import stages and plans in temporary tables its
connection keeps (``staging.reused_stage_name``) rather than in tables of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from loadbay.pipeline.frames import ErrorHandling, Mode
from loadbay.service import imports as import_service
from loadbay.service import tables as table_service
from loadbay.service.context import Context
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store.dialect import Postgres
from tests.service.helpers import write

COMPANIES = "name,external_id\nAcme,C1\nGlobex,C2\nInitech,C3\n"
PEOPLE = (
    "email,first_name,last_name,company,external_id\n"
    "ann@x.example,Ann,A,Acme,H1\nbob@x.example,Bob,B,Globex,H2\n"
)
# matched on name: an update; an external id taken by another row; a repeated key (the
# last row wins); a new row; an empty key; one external id given to two new rows
COMPANIES_AGAIN = (
    "name,external_id,due_days\nAcme,C1,10\nGlobex,C3,\nHooli,C4,\nHooli,C5,7\n"
    "Umbrella,C6,\n,C7,\nWayne,C8,\nStark,C8,\n"
)
# an update, a reference missing, a new row referring to a company created before
PEOPLE_AGAIN = (
    "email,first_name,last_name,company,external_id\n"
    "ann@x.example,Ann,B,Acme,H1\ncy@x.example,Cy,C,Nowhere,H3\ndee@x.example,Dee,D,Umbrella,H4\n"
)
DELETE = "email\nbob@x.example\nnine@x.example\n"


def _run(ctx: Context, tenant: str, path: Path, table: str, mode: Mode = Mode.UPSERT) -> str:
    request = ImportRequest(
        sources=(SourceSpec(path=str(path), name=path.name, table=table),),
        mode=mode,
        error_handling=ErrorHandling.LENIENT,
    )
    import_id = import_service.create_import(ctx, request, tenant)
    record = import_service.run_import(ctx, import_id, tenant)
    assert record.state in ("succeeded", "partially_succeeded"), record.error
    return import_id


def _outcomes(ctx: Context, tenant: str, import_id: str) -> list[tuple[Any, ...]]:
    return [
        (
            r["row"],
            r["key"],
            r["outcome"],
            tuple((e["column"], e["code"], e["message"]) for e in r["errors"]),
        )
        for r in import_service.iter_results(ctx, import_id, tenant)
    ]


def _stored(ctx: Context, tenant: str, table: str) -> list[dict[str, Any]]:
    keep = ("external_id", "name", "email", "company", "last_name", "due_days")
    found = [
        {k: v for k, v in r.items() if k in keep} for r in table_service.records(ctx, table, tenant)
    ]
    return sorted(found, key=lambda r: (str(r.get("name")), str(r.get("email"))))


@pytest.fixture
def plans(ctx: Context) -> Iterator[list[str]]:
    """The SQL of every plan built."""
    built: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        made = statement.lstrip().startswith(("CREATE", "WITH gone"))  # made or filled again
        if made and ("loadbay_plan_" in statement or "loadbay_reused_plan_" in statement):
            built.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", seen)
    yield built
    event.remove(ctx.engine, "before_cursor_execute", seen)


def _story(ctx: Context, tmp_path: Path, tenant: str) -> list[Any]:
    outcomes = []
    for name, text, table in (
        ("c.csv", COMPANIES, "companies"),
        ("p.csv", PEOPLE, "people"),
        ("c2.csv", COMPANIES_AGAIN, "companies"),
        ("p2.csv", PEOPLE_AGAIN, "people"),
    ):
        import_id = _run(ctx, tenant, write(tmp_path, f"{tenant}-{name}", text), table)
        outcomes.append(_outcomes(ctx, tenant, import_id))
    deletion = write(tmp_path, f"{tenant}-d.csv", DELETE)
    gone = _run(ctx, tenant, deletion, "people", Mode.DELETE)
    outcomes.append(_outcomes(ctx, tenant, gone))
    return [outcomes, _stored(ctx, tenant, "companies"), _stored(ctx, tenant, "people")]


def test_few_rows_are_planned_by_lookups_with_the_same_outcomes(
    ctx: Context, tmp_path: Path, plans: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres = ctx.engine.dialect.name == "postgresql"
    looked_up = _story(ctx, tmp_path, "lookups")
    assert plans and all(("LATERAL" in sql) is postgres for sql in plans)
    plans.clear()
    monkeypatch.setattr(Postgres, "lookup_rows", 0)
    joined = _story(ctx, tmp_path, "joins")
    assert not any("LATERAL" in sql for sql in plans)
    assert looked_up == joined
    outcomes = looked_up[0]
    assert [o[2] for o in outcomes[2]] == [
        "updated",
        "failed",
        "skipped",
        "created",
        "created",
        "failed",
        "failed",
        "failed",
    ]
    assert [o[2] for o in outcomes[3]] == ["updated", "failed", "created"]
    assert [o[2] for o in outcomes[4]] == ["deleted", "failed"]


@pytest.mark.parametrize("import_path", ["small"])  # the path that keeps tables
def test_kept_tables_decide_what_an_imports_own_tables_decide(
    ctx: Context, tmp_path: Path, plans: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """(SQLite keeps no tables: its scratch files cost no catalog; the stories must agree.)"""
    postgres = ctx.engine.dialect.name == "postgresql"
    kept = _story(ctx, tmp_path, "kept")
    again = _story(ctx, tmp_path, "again")  # the connections have the tables now
    assert plans and all(("loadbay_reused_plan_" in sql) is postgres for sql in plans)
    assert any(sql.startswith("WITH gone") for sql in plans) is postgres  # filled again
    # dropped and made again every other use (prepared statements on them are planned anew)
    monkeypatch.setattr("loadbay.store.staging.REUSES", 2)
    rotated = _story(ctx, tmp_path, "rotated")
    assert _story(ctx, tmp_path, "rotated-again") == rotated
    plans.clear()
    monkeypatch.setattr(Postgres, "reuses_small_tables", False)
    own = _story(ctx, tmp_path, "own")
    assert plans and not any("loadbay_reused_" in sql for sql in plans)
    assert kept == again == rotated == own
