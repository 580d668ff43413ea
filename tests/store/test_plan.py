"""The planner per mode, on both databases: which outcome each row of a small staged
frame gets, which row errors it finds, and the values it keeps for the writer (the
plan table's columns as ``store.plan_table`` declares them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.pipeline.frames import Mode
from loadbay.service.context import Context, open_context
from loadbay.store import plan_table as pt
from loadbay.store.columns import CREATED, ID, TENANT, UPDATED
from loadbay.store.dialect import dialect_of
from loadbay.store.plan_sql import Plan, PlanSpec, build_plan
from loadbay.store.plan_table import Outcome, Value
from loadbay.store.staging import append_frame, create_stage
from loadbay.store.write_sql import collect_errors, create_plan_table, summarise_plan

C, U, N, D, F, S = (
    Outcome.CREATED,
    Outcome.UPDATED,
    Outcome.UNCHANGED,
    Outcome.DELETED,
    Outcome.FAILED,
    Outcome.SKIPPED,
)

#: stored companies: (id, name, external_id, due_days, description)
STORED = [(1, "A", "a1", 10, "kept"), (2, "B", "b1", 20, None), (3, "C", "c1", 30, None)]
#: the staged file (rows 1-6): A as stored; B changed; D new; E twice (the first one
#: superseded where rows are matched by name); F new with C's external_id (unique)
STAGED = [("A", "a1", 10), ("B", "b1", 99), ("D", "d1", 5), ("E", "e1", 1), ("E", "e2", 2)]
STAGED += [("F", "c1", 3)]
COLUMNS = ("name", "external_id", "due_days")

#: mode -> the outcome of each staged row, and the (row, code) of each row error
EXPECTED: dict[Mode, tuple[list[Outcome], set[tuple[int, str]]]] = {
    Mode.CREATE: (
        [F, F, C, S, C, F],
        {(1, "already_exists"), (2, "already_exists"), (6, "duplicate_value")},
    ),
    Mode.UPSERT: ([N, U, C, S, C, F], {(6, "duplicate_value")}),
    # the description no file column gives is cleared: A changes too
    Mode.REPLACE: ([U, U, C, S, C, F], {(6, "duplicate_value")}),
    # F is not found, and its external_id is C's
    Mode.UPDATE: (
        [N, U, F, S, F, F],
        {(3, "not_found"), (5, "not_found"), (6, "not_found"), (6, "duplicate_value")},
    ),
    Mode.DELETE: ([D, D, F, S, F, F], {(3, "not_found"), (5, "not_found"), (6, "not_found")}),
    # nothing matched by name: both E rows are created; a1, b1 and c1 are taken
    Mode.APPEND: (
        [F, F, C, C, C, F],
        {(1, "duplicate_value"), (2, "duplicate_value"), (6, "duplicate_value")},
    ),
}


@pytest.fixture
def ctx(db_url: str, tmp_path: Path) -> Iterator[Context]:
    context = open_context(Settings(data_dir=tmp_path, database_url=db_url))
    try:
        yield context
    finally:
        context.close()


def _plan(conn: sa.Connection, ctx: Context, mode: Mode) -> Plan:
    table = ctx.catalog.get("companies")
    stamp = dt.datetime(2026, 1, 1)
    for rid, name, ext, due, desc in STORED:
        conn.execute(
            sa.text(
                f"INSERT INTO companies ({ID}, {TENANT}, {CREATED}, {UPDATED}, name, "
                "external_id, due_days, description) VALUES (:id, 'default', :s, :s, :n, :e, "
                ":d, :desc)"
            ),
            {"id": rid, "s": stamp, "n": name, "e": ext, "d": due, "desc": desc},
        )
    create_stage(conn, "stage_t", ctx.catalog, table, COLUMNS)
    frame = pl.DataFrame(
        {
            pt.SEQ: range(1, len(STAGED) + 1),
            pt.SRC: [0] * len(STAGED),
            pt.ROW: range(1, len(STAGED) + 1),
            pt.REF: [None] * len(STAGED),
            "name": [r[0] for r in STAGED],
            "external_id": [r[1] for r in STAGED],
            "due_days": [r[2] for r in STAGED],
        },
        schema_overrides={pt.SEQ: pl.Int64, pt.SRC: pl.Int64, pt.ROW: pl.Int64, pt.REF: pl.String},
    )
    append_frame(conn, "stage_t", frame)
    match = () if mode is Mode.APPEND else table.key
    spec = PlanSpec(table, ctx.catalog, "stage_t", "plan_t", COLUMNS, match, mode)
    plan = build_plan(spec, dialect_of(conn), conn)
    create_plan_table(conn, plan, "default")
    return plan


def _column(conn: sa.Connection, plan: Plan, column: str) -> list[object]:
    sql = f'SELECT {column} FROM "{plan.spec.plan}" ORDER BY {pt.SEQ}'
    return [r[0] for r in conn.exec_driver_sql(sql)]


@pytest.mark.parametrize("mode", list(EXPECTED), ids=lambda m: str(m.value))
def test_each_row_gets_its_outcome_per_mode(ctx: Context, mode: Mode) -> None:
    outcomes, errors = EXPECTED[mode]
    with ctx.engine.connect() as conn, conn.begin():
        plan = _plan(conn, ctx, mode)
        assert _column(conn, plan, pt.OUTCOME) == [str(o) for o in outcomes]
        found = collect_errors(conn, plan)
        assert set(zip(found["row"], found["code"], strict=True)) == errors
        summary = summarise_plan(conn, plan)
        assert (summary.lo, summary.hi) == (0, len(STAGED))
        assert summary.outcomes == {str(o): outcomes.count(o) for o in set(outcomes)}
        # matched rows carry their target's id; a superseded row names the row that wins
        targets = _column(conn, plan, pt.TARGET)
        if mode is Mode.APPEND:
            assert targets == [None] * len(STAGED)
        else:
            assert targets[:3] == [1, 2, None]
            assert _column(conn, plan, pt.LAST_ROW)[3] == 5
        if mode is not Mode.DELETE:  # the value each row will have once written
            news = _column(conn, plan, Value.NEW.of("due_days"))
            assert news[1:3] == [99, 5]
        if mode in (Mode.UPDATE, Mode.UPSERT, Mode.REPLACE) and plan.keeps_old:
            olds = _column(conn, plan, Value.OLD.of("due_days"))
            assert olds[1] == 20  # kept for the change log of the updated row
        conn.rollback()


def test_the_plan_table_has_the_declared_columns(ctx: Context) -> None:
    """Every column the writer reads is one ``plan_table`` names."""
    with ctx.engine.connect() as conn, conn.begin():
        plan = _plan(conn, ctx, Mode.UPSERT)
        names = list(conn.exec_driver_sql(f'SELECT * FROM "{plan.spec.plan}" LIMIT 0').keys())
        conn.rollback()
    table = ctx.catalog.get("companies")
    expected = [*pt.FIXED, Value.FILE.name_of("external_id")]
    expected += [Value.NEW.name_of(c.name) for c in table.columns]
    if plan.keeps_old:
        expected += [Value.OLD.name_of(c.name) for c in table.columns]
        expected += [pt.OLD_CREATED, pt.OLD_UPDATED]
    expected += [c.flag for c in plan.checks] + [pt.OUTCOME, pt.RECORD_ID]
    assert names == expected
    assert [c.flag for c in plan.checks] == [pt.flag(n) for n in range(len(plan.checks))]
