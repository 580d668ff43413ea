"""Applying a plan table to its target, set-based, with the change log and row results.

Every statement works on a ``_seq`` range of the plan, so a lenient import can commit
chunk by chunk; a strict import passes the whole range at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from loadbay.pipeline.frames import Mode
from loadbay.store import plan_table as pt
from loadbay.store.columns import ACTION, CREATED, ID, IMPORT, TENANT, UPDATED
from loadbay.store.data import (
    IndexShape,
    changes_table,
    indexed_columns,
    stored_name,
    wanted_indexes,
)
from loadbay.store.dialect import dialect_of, q
from loadbay.store.plan_sql import Plan
from loadbay.store.plan_table import Outcome, Value
from loadbay.store.records_sql import plain_value
from loadbay.store.staging import drop_tables, is_reused, temporary_table_exists, value_column
from loadbay.store.system import IMPORT_NUMBER_SQL

#: rows fetched at a time when outcomes are read back
PART = 50_000
RANGE = f"p.{pt.SEQ} > :lo AND p.{pt.SEQ} <= :hi"
#: rows to create in an empty table from which its indexes are dropped before the insert
#: and built after it (one sort per index instead of an entry inserted per row and index)
BUILD_INDEXES_AFTER = 20_000


@dataclass(frozen=True)
class PlanSummary:
    """What a plan table holds: its ``_seq`` range and how many rows of each outcome."""

    lo: int  # the range is lo < _seq <= hi
    hi: int
    outcomes: dict[str, int]

    @property
    def failed(self) -> int:
        return self.outcomes.get("failed", 0)

    def has(self, *outcomes: str) -> bool:
        return any(self.outcomes.get(o, 0) for o in outcomes)


def summarise_plan(conn: Connection, plan: Plan) -> PlanSummary:
    """One pass over the plan: the bounds to write and which statements have rows to move."""
    rows = conn.exec_driver_sql(
        f"SELECT {pt.OUTCOME}, COUNT(*), MIN({pt.SEQ}), MAX({pt.SEQ}) "
        f"FROM {q(plan.spec.plan)} GROUP BY {pt.OUTCOME}"
    ).all()
    if not rows:
        return PlanSummary(0, 0, {})
    lo = min(int(r[2]) for r in rows) - 1
    hi = max(int(r[3]) for r in rows)
    return PlanSummary(lo, hi, {str(r[0]): int(r[1]) for r in rows})


def create_plan_table(
    conn: Connection, plan: Plan, tenant: str, after: int = 0, chunked: bool = False
) -> None:
    """Build the plan table; index it on ``_seq`` when it will be written chunk by chunk.
    A table the connection keeps (``staging.is_reused``) is made by the first plan of its
    query and filled again by the next ones (the rows a failed run may have left go in
    the same statement)."""
    name, params = plan.spec.plan, {"tenant": tenant, "after": after}
    if not is_reused(name):
        drop_tables(conn, [name])
        _run(conn, plan.sql, params)
    elif temporary_table_exists(conn, name):
        _run(conn, dialect_of(conn).refill_statement(name, plan.select), params)
    else:
        _run(conn, plan.sql, params)
    if chunked:  # IF NOT EXISTS: a kept table may have it from an earlier plan
        conn.exec_driver_sql(
            # SQLite names an attached database's index, not its table, with the schema
            f"CREATE INDEX IF NOT EXISTS {q(name + pt.SEQ)} ON {q(name.split('.')[-1])} ({pt.SEQ})"
        )


def _run(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    return conn.execute(_text(sql), params)


#: a statement's clause, made once per text: ``text()`` scans the whole text for its
#: parameters (a plan's is ~10 KB), and a new clause makes SQLAlchemy hash that text again
#: for its cache key; a small import sends half a dozen of them
_text = lru_cache(maxsize=512)(text)


def write_chunk(
    conn: Connection,
    plan: Plan,
    summary: PlanSummary,
    import_id: str,
    tenant: str,
    stamp: object,
    lo: int,
    hi: int,
) -> int | None:
    """Apply the rows ``lo < _seq <= hi`` of the plan: change log first, then the data.
    A statement whose outcome the plan does not hold is not sent (each costs a pass).

    Returns the id base of the chunk's new rows on SQLite (see :func:`created_id`)."""
    spec = plan.spec
    target = q(spec.table.name)
    p = q(spec.plan)
    params = {"imp": import_id, "tenant": tenant, "stamp": stamp, "lo": lo, "hi": hi}
    names = ", ".join(q(c.name) for c in spec.table.columns)
    if summary.has(Outcome.UPDATED, Outcome.DELETED):
        _log_changes(conn, plan, params, names)
    if plan.set_columns and summary.has(Outcome.UPDATED):
        _update_changed(conn, plan, params)
    base = None
    if spec.mode not in (Mode.DELETE, Mode.UPDATE) and summary.has(Outcome.CREATED):
        created = min(summary.outcomes.get(Outcome.CREATED, 0), hi - lo)
        rebuilt = _drop_indexes_of_empty(conn, plan, created)
        base = _insert_created(conn, plan, params, names)
        _build_indexes(conn, plan, rebuilt)
    if summary.has(Outcome.DELETED):
        _run(
            conn,
            f"DELETE FROM {target} WHERE {TENANT} = :tenant AND {ID} IN "
            f"(SELECT p.{pt.TARGET} FROM {p} p WHERE {_is(Outcome.DELETED)} AND {RANGE})",
            params,
        )
    return base


def _update_changed(conn: Connection, plan: Plan, params: dict[str, Any]) -> None:
    """Write the new values of the rows to update. Where the database rewrites the index
    entries of every column an UPDATE sets (SQLite), indexed columns (references, unique
    columns) are set by a second statement, only on the rows where one of them changes:
    most updates leave them alone, and each rewritten entry is a delete and an insert."""
    spec = plan.spec
    passes = [(list(plan.set_columns), "")]
    if dialect_of(conn).rewrites_set_indexes:
        indexed = indexed_columns(spec.table)
        keyed = [c for c in plan.set_columns if c in indexed]
        plain = [c for c in plan.set_columns if c not in indexed]
        differs = " OR ".join(f"p.{Value.NEW.of(c)} IS NOT t.{q(c)}" for c in keyed)
        passes = [(plain, "")] + ([(keyed, f" AND ({differs})")] if keyed else [])
    for n, (columns, only) in enumerate(passes):
        sets = [f"{q(c)} = p.{Value.NEW.of(c)}" for c in columns]
        sets += [f"{UPDATED} = :stamp"] * (n == 0)
        _run(
            conn,
            f"UPDATE {q(spec.table.name)} AS t SET {', '.join(sets)} FROM {q(spec.plan)} p "
            f"WHERE t.{ID} = p.{pt.TARGET} AND t.{TENANT} = :tenant AND {_is(Outcome.UPDATED)} "
            f"AND {RANGE}{only}",
            params,
        )


def _log_changes(conn: Connection, plan: Plan, params: dict[str, Any], names: str) -> None:
    """Before-images of the rows to update or delete, for revert: one scan of the plan,
    which keeps them (``PlanBuilder.logs_changes``), or where it does not (SQLite), with
    each row looked up by its id."""
    spec = plan.spec
    old, source = _old_values(plan)
    olds = ", ".join(old(c.name) for c in spec.table.columns)
    _run(
        conn,
        f"INSERT INTO {q(changes_table(spec.table.name))} "
        f"({IMPORT}, {ACTION}, {ID}, {TENANT}, {CREATED}, {UPDATED}, {names}) "
        f"SELECT :imp, CASE p.{pt.OUTCOME} WHEN {Outcome.UPDATED.sql} THEN 'update' "
        f"ELSE 'delete' END, p.{pt.TARGET}, :tenant, {old(CREATED)}, {old(UPDATED)}, {olds} "
        f"FROM {source} WHERE p.{pt.OUTCOME} IN ({pt.among(Outcome.UPDATED, Outcome.DELETED)}) "
        f"AND {RANGE}",
        params,
    )


def _old_values(plan: Plan) -> tuple[Callable[[str], str], str]:
    """How the stored value of a column is read beside the plan (``p``) of a row to
    update or delete, and the FROM clause that makes it readable: the plan's own ``o_``
    columns, or the target row ``t`` joined by id (``Dialect.plan_keeps_old``)."""
    p = q(plan.spec.plan)
    if plan.keeps_old:
        stamps = {CREATED: f"p.{pt.OLD_CREATED}", UPDATED: f"p.{pt.OLD_UPDATED}"}
        return (lambda c: stamps.get(c, f"p.{Value.OLD.of(c)}")), f"{p} p"
    joined = f"{p} p JOIN {q(plan.spec.table.name)} t ON t.{ID} = p.{pt.TARGET}"
    return (lambda c: f"t.{q(c)}"), joined


def created_id(base: int | None) -> str:
    """The id of a created row. PostgreSQL: drawn from the sequence when planning.
    SQLite: the chunk's id base plus the row's place in the chunk, so no pass over the plan
    numbers the rows (the ids of rows not created are left unused; SQLite has one writer)."""
    return f"p.{pt.RECORD_ID}" if base is None else f"({int(base)} + p.{pt.SEQ} - :lo)"


def _insert_created(conn: Connection, plan: Plan, params: dict[str, Any], names: str) -> int | None:
    spec = plan.spec
    base = dialect_of(conn).id_base(conn, spec.table.name)
    values = ", ".join(f"p.{Value.NEW.of(c.name)}" for c in spec.table.columns)
    _run(
        conn,
        f"INSERT INTO {q(spec.table.name)} ({ID}, {TENANT}, {CREATED}, {UPDATED}, {names}) "
        f"SELECT {created_id(base)}, :tenant, :stamp, :stamp, {values} FROM {q(spec.plan)} p "
        f"WHERE {_is(Outcome.CREATED)} AND {RANGE}",
        params,
    )
    return base


def _drop_indexes_of_empty(conn: Connection, plan: Plan, created: int) -> list[str]:
    """Where many rows go into an empty table (a first load), drop its indexes (but its
    id's) for :func:`_build_indexes` to build after the insert: one sort per index instead
    of an entry inserted per row and index. The plan has made the rows unique on each
    unique index already (repeated keys superseded, taken or repeated unique values
    failed), so building one cannot fail where inserting would not have. Inside the
    import's transaction: a rollback brings them back, and other sessions see them until
    the commit (PostgreSQL has readers of the table wait for it; it was empty). The
    names of the indexes dropped."""
    table = plan.spec.table
    if created < BUILD_INDEXES_AFTER:
        return []
    if conn.exec_driver_sql(f"SELECT 1 FROM {q(table.name)} LIMIT 1").first() is not None:
        return []
    have = {
        str(index["name"]): (tuple(str(c) for c in index["column_names"]), bool(index["unique"]))
        for index in inspect(conn).get_indexes(table.name)
    }
    wanted = wanted_indexes(table)
    dropped = [n for n, shape in wanted.items() if have.get(stored_name(conn, n)) == shape]
    for name in dropped:
        conn.exec_driver_sql(f"DROP INDEX {q(stored_name(conn, name))}")
    return dropped


def _build_indexes(conn: Connection, plan: Plan, names: list[str]) -> None:
    """Build again the indexes :func:`_drop_indexes_of_empty` dropped, as the catalog
    defines them (``data.wanted_indexes``)."""
    table = plan.spec.table
    wanted: dict[str, IndexShape] = wanted_indexes(table)
    for name in names:
        columns, unique = wanted[name]
        conn.exec_driver_sql(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {q(stored_name(conn, name))} "
            f"ON {q(table.name)} ({', '.join(q(c) for c in columns)})"
        )


# ---- results and errors ----------------------------------------------------------------


def _is(outcome: Outcome, alias: str = "p") -> str:
    """``p._outcome = '<outcome>'``."""
    return f"{alias}.{pt.OUTCOME} = {outcome.sql}"


def _outcome_select(plan: Plan, base: int | None = None) -> str:
    """src, row, ref, key, outcome, record id, superseded_by of each plan row."""
    no_record = pt.among(Outcome.FAILED, Outcome.SKIPPED)
    return (
        f"p.{pt.SRC}, p.{pt.ROW}, p.{pt.REF}, p.{pt.KEY}, p.{pt.OUTCOME}, "
        f"CASE WHEN p.{pt.OUTCOME} IN ({no_record}) THEN NULL "
        f"WHEN {_is(Outcome.CREATED)} THEN {created_id(base)} ELSE p.{pt.RECORD_ID} END, "
        f"CASE WHEN {_is(Outcome.SKIPPED)} THEN p.{pt.LAST_ROW} END"
    )


def save_results(
    conn: Connection,
    plan: Plan,
    import_id: str,
    lo: int,
    hi: int,
    failed: bool = True,
    base: int | None = None,
) -> None:
    """Record the outcome of every planned row of the range, and the errors of failed ones."""
    spec = plan.spec
    params = {"imp": import_id, "tname": spec.table.name, "lo": lo, "hi": hi}
    _run(
        conn,
        "INSERT INTO loadbay_results (import_number, table_name, src, row, ref, key, outcome, "
        f"record_id, superseded_by) SELECT {IMPORT_NUMBER_SQL}, :tname, "
        f"{_outcome_select(plan, base)} "
        f"FROM {q(spec.plan)} p WHERE {RANGE}",
        params,
    )
    for check in plan.checks if failed else ():
        _run(
            conn,
            'INSERT INTO loadbay_errors (import_id, table_name, src, row, "column", code, '
            f"message, value) SELECT :imp, :tname, m.{pt.SRC}, m.{pt.ROW}, :col, :code, "
            f"{check.message}, {check.value} FROM {q(spec.plan)} m "
            f"WHERE m.{check.flag} = 1 AND {_wins('m')} AND {RANGE.replace('p.', 'm.')}",
            {**params, "col": check.column, "code": check.code},
        )


def _wins(alias: str) -> str:
    """The row is the last of its key in the file (not skipped)."""
    return f"{alias}.{pt.LAST_SEQ} = {alias}.{pt.SEQ}"


RESULT_SCHEMA: dict[str, pl.DataType] = {
    "src": pl.Int64(),
    "row": pl.Int64(),
    "ref": pl.String(),
    "key": pl.String(),
    "outcome": pl.String(),
    "record_id": pl.Int64(),
    "superseded_by": pl.Int64(),
}


def collect_results(
    conn: Connection, plan: Plan, diffs: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The plan's row outcomes as a frame (to keep them past a rollback), read in parts,
    with ``diffs`` (:func:`collect_diffs`) beside the rows they belong to."""
    result = conn.execute(
        text(f"SELECT {_outcome_select(plan)} FROM {q(plan.spec.plan)} p ORDER BY p.{pt.SEQ}"),
        execution_options={"yield_per": PART},
    )
    parts = [
        pl.DataFrame(rows, schema=RESULT_SCHEMA, orient="row") for rows in result.partitions(PART)
    ]
    frame = pl.concat(parts) if parts else pl.DataFrame(schema=RESULT_SCHEMA)
    return frame.join(_no_diffs() if diffs is None else diffs, on=["src", "row"], how="left")


def _no_diffs() -> pl.DataFrame:
    return pl.DataFrame(schema={"src": pl.Int64, "row": pl.Int64, "diff": pl.String})


def collect_errors(conn: Connection, plan: Plan) -> pl.DataFrame:
    """The plan's row errors as a frame (to keep them past a rollback)."""
    parts: list[pl.DataFrame] = []
    for check in plan.checks:
        rows = _run(
            conn,
            f"SELECT m.{pt.SRC}, m.{pt.ROW}, {check.message}, {check.value} "
            f"FROM {q(plan.spec.plan)} m WHERE m.{check.flag} = 1 AND {_wins('m')}",
            {},
        ).all()
        if rows:
            frame = pl.DataFrame(
                rows,
                schema={"src": pl.Int64, "row": pl.Int64, "message": pl.String, "value": pl.String},
                orient="row",
            )
            parts.append(
                frame.with_columns(column=pl.lit(check.column, pl.String), code=pl.lit(check.code))
            )
    if not parts:
        return pl.DataFrame(
            schema={
                "src": pl.Int64,
                "row": pl.Int64,
                "message": pl.String,
                "value": pl.String,
                "column": pl.String,
                "code": pl.String,
            }
        )
    return pl.concat(parts)


def collect_diffs(conn: Connection, plan: Plan) -> pl.DataFrame:
    """For each row to be updated: the fields that change, old and new (references by key).
    Read before the plan is written: where the plan keeps no old values, they are the
    target's."""
    spec = plan.spec
    if not plan.set_columns:
        return _no_diffs()
    exprs: list[str] = []
    joins: list[str] = []
    old_of, source = _old_values(plan)
    for n, name in enumerate(plan.set_columns):
        ref = spec.table.column(name).references
        if ref is None:
            exprs += [old_of(name), f"p.{Value.NEW.of(name)}"]
        else:
            joins.append(
                f"LEFT JOIN {q(ref.table)} a{n} ON a{n}.{ID} = {old_of(name)} "
                f"LEFT JOIN {q(ref.table)} b{n} ON b{n}.{ID} = p.{Value.NEW.of(name)}"
            )
            exprs += [f"a{n}.{q(ref.column)}", f"b{n}.{q(ref.column)}"]
    sql = (
        f"SELECT p.{pt.SRC}, p.{pt.ROW}, {', '.join(exprs)} FROM {source} {' '.join(joins)} "
        f"WHERE {_is(Outcome.UPDATED)}"
    )
    columns = [value_column(spec.catalog, spec.table, n) for n in plan.set_columns]
    found: list[tuple[int, int, str]] = []
    for row in _run(conn, sql, {}):
        changed = {}
        for i, col in enumerate(columns):
            old = plain_value(col, row[2 + 2 * i])
            new = plain_value(col, row[3 + 2 * i])
            if old != new:
                changed[plan.set_columns[i]] = {"old": old, "new": new}
        found.append((int(row[0]), int(row[1]), json.dumps(changed)))
    return pl.DataFrame(
        found, schema={"src": pl.Int64, "row": pl.Int64, "diff": pl.String}, orient="row"
    )
