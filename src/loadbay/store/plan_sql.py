"""The plan of one table of an import, as one set-based ``CREATE TABLE … AS SELECT``.

From the staging table ``S`` it builds the plan table ``P`` with, for every staged row:
the matched target row (``_target``), the last row of its key in the file (``_last_seq``,
``_last_row``: earlier duplicates are skipped), resolved references (``r_<col>``), the value
every column will have once written (``n_<col>``) next to the stored one (``o_<col>``), one
0/1 flag per possible row error (``e_<n>``) and the outcome (``_outcome``) and record id
(``_id``). Nothing here loops over rows; the SQL is built once per table and mode. The
plan table's columns are declared in ``plan_table``, which the writer (``write_sql``)
reads them by.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Connection

from loadbay.errors import Code
from loadbay.pipeline.frames import EmptyPolicy, Mode
from loadbay.schema.model import Catalog, Column, Table
from loadbay.store import plan_table as pt
from loadbay.store.columns import CREATED, ID, TENANT, UPDATED
from loadbay.store.dialect import Dialect, q
from loadbay.store.dialect import text_literal as lit
from loadbay.store.plan_table import Outcome, Value
from loadbay.store.references import reference_words
from loadbay.store.staging import is_reused, reused_plan_name

Q = "'"


@dataclass(frozen=True)
class PlanSpec:
    table: Table
    catalog: Catalog
    stage: str
    plan: str
    columns: tuple[str, ...]  # the columns the file gives (staged)
    match: tuple[str, ...]  # the columns rows are matched on (empty for append)
    mode: Mode
    empty: EmptyPolicy = EmptyPolicy.KEEP
    duplicates: bool = True  # may the file repeat a key? (False: no dedupe pass needed)
    rows: int | None = None  # the staged rows the plan reads, when known


@dataclass(frozen=True)
class RowCheck:
    """One kind of row error the plan can find: a 0/1 flag column and how to report it."""

    flag: str
    column: str | None
    code: str
    message: str  # SQL expression over the plan's columns
    value: str  # SQL expression over the plan's columns
    condition: str = field(repr=False, default="")


@dataclass(frozen=True)
class Plan:
    spec: PlanSpec
    checks: tuple[RowCheck, ...]
    set_columns: tuple[str, ...]  # the columns an update writes
    sql: str  # CREATE TABLE <plan> AS <select>
    keeps_old: bool = True  # o_<col> kept for updated and deleted rows (Dialect.plan_keeps_old)
    select: str = ""  # the query that gives the plan's rows


class PlanBuilder:
    def __init__(self, spec: PlanSpec, dialect: Dialect, next_id: str | None) -> None:
        self.spec = spec
        self.d = dialect
        self.next_id = next_id
        self.table = spec.table
        few = dialect.lookup_rows
        self.lookups = bool(few) and spec.rows is not None and spec.rows <= few
        self.refs = [c for c in spec.columns if self.table.column(c).references is not None]
        # columns whose values must stay unique: unique ones, and a one-column table key
        # when rows are matched on another column (``--key external_id`` renaming a company)
        self.uniques = [
            c
            for c in spec.columns
            if (c,) != spec.match
            and (self.table.column(c).unique or ((c,) == self.table.key and spec.match))
        ]

    @property
    def logs_changes(self) -> bool:
        """Can this plan update or delete rows? Then, where the dialect keeps old values
        (``plan_keeps_old``), it keeps their whole before-image (``o_<col>``,
        ``_o_created_at``, ``_o_updated_at``), so the change log is written from the plan
        alone, without joining the target again (the import holds the table's lock from
        planning to the last write, so the image cannot go stale)."""
        return bool(self.spec.match) and self.spec.mode in (
            Mode.UPSERT,
            Mode.UPDATE,
            Mode.REPLACE,
            Mode.DELETE,
        )

    # ---- column expressions -------------------------------------------------------
    def source(self, name: str) -> str | None:
        """The file's value for a column (a resolved id for references), or None."""
        if name not in self.spec.columns:
            return None
        return f"i.{Value.REF.of(name)}" if name in self.refs else f"i.{Value.FILE.of(name)}"

    def default(self, col: Column) -> str:
        if col.default is not None and col.references is None:
            return self.d.literal(col, col.default)
        return "CAST(NULL AS BIGINT)" if col.references is not None else self.d.null_of(col)

    def new_value(self, col: Column) -> str:
        src = self.source(col.name)
        if src is None:
            return self.default(col)
        if col.default is not None and col.references is None:
            return f"COALESCE({src}, {self.default(col)})"
        return src

    def updated_value(self, col: Column) -> str:
        old = f"i.{Value.OLD.of(col.name)}"
        if col.name in self.spec.match:
            return old
        if self.spec.mode is Mode.REPLACE:
            return self.new_value(col)
        src = self.source(col.name)
        if src is None:
            return old
        if self.spec.empty is EmptyPolicy.CLEAR:
            return src
        return f"COALESCE({src}, {old})"

    def value(self, col: Column) -> str:
        mode = self.spec.mode
        if mode in (Mode.CREATE, Mode.APPEND):
            return self.new_value(col)
        if mode in (Mode.UPDATE, Mode.DELETE):
            return self.updated_value(col)
        new, updated = self.new_value(col), self.updated_value(col)
        if new == updated or self.updated_fits_new(col):
            return updated
        return f"CASE WHEN i.{pt.TARGET} IS NULL THEN {new} ELSE {updated} END"

    def updated_fits_new(self, col: Column) -> bool:
        """Is a new row's value what ``updated_value`` gives, too? When no row matched,
        every ``o_`` column is NULL (a left join that found nothing), so ``COALESCE(src,
        old)`` and ``old`` are the file's value or NULL, as for a new row, unless the column
        has a default or is a key column (kept from the old row). One expression instead of
        a ``CASE`` over two: the plan is cheaper to compute (SQLite repeats an expression
        at each use of its column)."""
        has_default = col.default is not None and col.references is None
        return not has_default and col.name not in self.spec.match

    def set_columns(self) -> list[str]:
        if self.spec.mode in (Mode.CREATE, Mode.APPEND, Mode.DELETE):
            return []
        names = [c.name for c in self.table.columns if c.name not in self.spec.match]
        if self.spec.mode is Mode.REPLACE:
            return names
        return [n for n in names if n in self.spec.columns]

    # ---- the inner query: joins ------------------------------------------------------
    def join(self, table: str, alias: str, on: str) -> str:
        """``LEFT JOIN table alias ON on``, where ``on`` always holds the table's
        tenant column and the leading columns of a unique index on it.

        For a plan of few rows (``Dialect.lookup_rows``), each matched row is looked up by
        that index: a lateral subquery behind a fence (``OFFSET 0``, so it is not pulled
        up into a plain join) can only be joined row by row, and equality on a unique
        index is estimated at one row whatever the statistics say. PostgreSQL would
        otherwise hash the tenant's whole table (it plans a new stage without
        statistics, and weighs each probe as a random read); a hundred rows then cost
        a few hundred index probes instead of reading every referenced row."""
        if not self.lookups:
            return f"LEFT JOIN {table} {alias} ON {on}"
        return (
            f"LEFT JOIN LATERAL (SELECT * FROM {table} {alias} WHERE {on} OFFSET 0) {alias} ON TRUE"
        )

    def key_text(self) -> str:
        if not self.spec.match:
            return "NULL"
        parts = [f"COALESCE({self.d.as_text('s.' + q(c))}, '')" for c in self.spec.match]
        return " || '|' || ".join(parts)

    def inner(self) -> str:
        t, stage = q(self.table.name), q(self.spec.stage)
        cols = [f"s.{pt.SEQ}", f"s.{pt.SRC}", f"s.{pt.ROW}", f"s.{pt.REF}"]
        cols.append(f"{self.key_text()} AS {pt.KEY}")
        joins: list[str] = []
        if self.spec.match:
            on = " AND ".join(f"t.{q(c)} = s.{q(c)}" for c in self.spec.match)
            joins.append(self.join(t, "t", f"t.{TENANT} = :tenant AND {on}"))
            cols.append(f"t.{ID} AS {pt.TARGET}")
        else:
            cols.append(f"CAST(NULL AS BIGINT) AS {pt.TARGET}")
        if self.spec.match and self.spec.duplicates:
            part = ", ".join(f"s.{q(c)}" for c in self.spec.match)
            window = f"OVER (PARTITION BY {part} ORDER BY s.{pt.SEQ} DESC)"
            cols += [
                f"FIRST_VALUE(s.{pt.SEQ}) {window} AS {pt.LAST_SEQ}",
                f"FIRST_VALUE(s.{pt.ROW}) {window} AS {pt.LAST_ROW}",
            ]
        else:
            cols += [
                f"s.{pt.SEQ} AS {pt.LAST_SEQ}",
                f"s.{pt.ROW} AS {pt.LAST_ROW}",
            ]
        cols += [f"s.{q(c)} AS {Value.FILE.of(c)}" for c in self.spec.columns]
        for n, name in enumerate(self.refs):
            ref = self.table.column(name).references
            assert ref is not None
            alias = f"r{n}"
            on = f"{alias}.{TENANT} = :tenant AND {alias}.{q(ref.column)} = s.{q(name)}"
            joins.append(self.join(q(ref.table), alias, on))
            cols.append(f"{alias}.{ID} AS {Value.REF.of(name)}")
        for n, name in enumerate(self.uniques):
            alias = f"u{n}"
            on = f"{alias}.{TENANT} = :tenant AND {alias}.{q(name)} = s.{q(name)}"
            joins.append(self.join(t, alias, on))
            cols.append(f"{alias}.{ID} AS {Value.UNIQUE.of(name)}")
        if self.spec.match:
            cols += [f"t.{q(c.name)} AS {Value.OLD.of(c.name)}" for c in self.table.columns]
        else:
            cols += [f"{self.d.null_of(c)} AS {Value.OLD.of(c.name)}" for c in self.table.columns]
        if self.logs_changes:
            cols += [f"t.{CREATED} AS {pt.OLD_CREATED}", f"t.{UPDATED} AS {pt.OLD_UPDATED}"]
        return (
            f"SELECT {', '.join(cols)}\nFROM {stage} s\n"
            + "\n".join(joins)
            + f"\nWHERE s.{pt.SEQ} > :after"
        )

    # ---- the middle query: new values and in-file duplicates of unique columns -------------
    def middle(self) -> str:
        cols = ["i.*"]
        if self.spec.mode is not Mode.DELETE:
            cols += [f"{self.value(c)} AS {Value.NEW.of(c.name)}" for c in self.table.columns]
        for name in self.uniques:
            cols.append(
                f"SUM(CASE WHEN i.{pt.LAST_SEQ} = i.{pt.SEQ} THEN 1 ELSE 0 END) "
                f"OVER (PARTITION BY i.{Value.FILE.of(name)}) AS {Value.DUPS.of(name)}"
            )
        return f"SELECT {', '.join(cols)} FROM (\n{self.inner()}\n) i"

    # ---- row checks ------------------------------------------------------------------
    def checks(self) -> list[RowCheck]:
        spec, table, name = self.spec, self.table, self.table.name
        key_desc = ", ".join(spec.match)
        found: list[tuple[str | None, str, str, str, str]] = []
        for col_name in self.refs if spec.mode is not Mode.DELETE else ():
            ref = table.column(col_name).references
            assert ref is not None
            given = self.d.as_text(f"m.{Value.FILE.of(col_name)}")
            before, after = reference_words(ref)
            found.append(
                (
                    col_name,
                    Code.REFERENCE_NOT_FOUND,
                    f"m.{Value.FILE.of(col_name)} IS NOT NULL "
                    f"AND m.{Value.REF.of(col_name)} IS NULL",
                    f"{lit(before)} || {given} || {lit(after)}",
                    given,
                )
            )
        first_key = spec.match[0] if spec.match else None
        key = f"m.{pt.KEY}"
        if spec.mode in (Mode.UPDATE, Mode.DELETE):
            found.append(
                (
                    first_key,
                    Code.NOT_FOUND,
                    f"m.{pt.TARGET} IS NULL",
                    f"{lit(f'no {name} row has {key_desc} {Q}')} || {key} || {lit(Q)}",
                    key,
                )
            )
        if spec.mode is Mode.CREATE:
            found.append(
                (
                    first_key,
                    Code.ALREADY_EXISTS,
                    f"m.{pt.TARGET} IS NOT NULL",
                    f"{lit(f'a {name} row with {key_desc} {Q}')} || {key} || "
                    f"{lit(f'{Q} already exists')}",
                    key,
                )
            )
        if spec.mode is not Mode.DELETE:
            found += self._value_checks()
        return [
            RowCheck(pt.flag(n), col, str(code), msg, val, cond)
            for n, (col, code, cond, msg, val) in enumerate(found)
        ]

    def _value_checks(self) -> list[tuple[str | None, str, str, str, str]]:
        found: list[tuple[str | None, str, str, str, str]] = []
        name = self.table.name
        target = f"m.{pt.TARGET}"
        # update mode writes only matched rows: an unmatched one is not_found, nothing more
        only_matched = f"{target} IS NOT NULL AND " if self.spec.mode is Mode.UPDATE else ""
        new_row = lit(f"is required to create a new {name} row")
        for col in self.table.columns:
            if col.required:
                found.append(
                    (
                        col.name,
                        Code.REQUIRED,
                        f"{only_matched}m.{Value.NEW.of(col.name)} IS NULL",
                        f"CASE WHEN {target} IS NULL THEN {new_row} ELSE {lit('is required')} END",
                        "NULL",
                    )
                )
        taken = lit(f"{Q} is already used by another {name} row")
        twice = lit(f"{Q} is used by more than one row of the file")
        for uname in self.uniques:
            given_col, other = f"m.{Value.FILE.of(uname)}", f"m.{Value.UNIQUE.of(uname)}"
            given = self.d.as_text(given_col)
            found.append(
                (
                    uname,
                    Code.DUPLICATE_VALUE,
                    f"{other} IS NOT NULL AND ({target} IS NULL OR {other} <> {target})",
                    f"{lit(Q)} || {given} || {taken}",
                    given,
                )
            )
            found.append(
                (
                    uname,
                    Code.DUPLICATE_VALUE,
                    f"m.{Value.DUPS.of(uname)} > 1 AND {given_col} IS NOT NULL",
                    f"{lit(Q)} || {given} || {twice}",
                    given,
                )
            )
        for check in self.table.checks:
            left, right = f"m.{Value.NEW.of(check.left)}", f"m.{Value.NEW.of(check.right)}"
            message = check.message or f"{check.left} must not be before {check.right}"
            found.append(
                (
                    check.left,
                    Code.INVALID_RANGE,
                    f"{left} < {right}",
                    f"{lit(message + ' (')} || {self.d.as_text(left)} || {lit(' < ')} || "
                    f"{self.d.as_text(right)} || {lit(')')}",
                    self.d.as_text(left),
                )
            )
        return found

    # ---- the outer queries: flags, outcome, record id --------------------------------
    def outcome(self) -> str:
        mode = self.spec.mode
        changed = f"WHEN o.{pt.CHANGED} = 1 THEN {Outcome.UPDATED.sql} ELSE {Outcome.UNCHANGED.sql}"
        if mode in (Mode.CREATE, Mode.APPEND):
            decided = Outcome.CREATED.sql
        elif mode is Mode.DELETE:
            decided = Outcome.DELETED.sql
        elif mode is Mode.UPDATE:
            decided = f"CASE {changed} END"
        else:
            decided = f"CASE WHEN o.{pt.TARGET} IS NULL THEN {Outcome.CREATED.sql} {changed} END"
        return (
            f"CASE WHEN o.{pt.LAST_SEQ} <> o.{pt.SEQ} THEN {Outcome.SKIPPED.sql} "
            f"WHEN o.{pt.FAILED} = 1 THEN {Outcome.FAILED.sql} ELSE {decided} END"
        )

    def build(self) -> Plan:
        checks = self.checks()
        set_cols = self.set_columns()
        flags = [f"CASE WHEN {c.condition} THEN 1 ELSE 0 END AS {c.flag}" for c in checks]
        failed = " OR ".join(f"{c.condition}" for c in checks) or "1 = 0"
        same = " AND ".join(
            self.d.same(f"m.{Value.NEW.of(c)}", f"m.{Value.OLD.of(c)}") for c in set_cols
        )
        changed = f"CASE WHEN {same} THEN 0 ELSE 1 END" if same else "0"
        outer = (
            f"SELECT m.*, {', '.join([*flags, ''])}"
            f"CASE WHEN {failed} THEN 1 ELSE 0 END AS {pt.FAILED}, {changed} AS {pt.CHANGED} "
            f"FROM (\n{self.middle()}\n) m"
        )
        with_outcome = (
            f"SELECT o.*, {self.outcome()} AS {pt.OUTCOME} FROM (\n{outer}\n) o{self.d.plan_fence}"
        )
        if self.next_id:
            record_id = (
                f"CASE WHEN w.{pt.OUTCOME} = {Outcome.CREATED.sql} THEN {self.next_id} "
                f"ELSE w.{pt.TARGET} END"
            )
        else:
            record_id = f"w.{pt.TARGET}"
        kept = ", ".join(self.stored(c, kind) for c, kind in self.kept(checks, set_cols))
        select = f"SELECT {kept}, {record_id} AS {pt.RECORD_ID} FROM (\n{with_outcome}\n) w"
        spec = self.spec
        if is_reused(spec.plan):  # the connection keeps one table per query
            spec = replace(spec, plan=reused_plan_name(spec.plan, select))
        sql = f"CREATE {self.d.plan_table}TABLE {q(spec.plan)} AS\n{select}"
        keeps_old = self.d.plan_keeps_old
        return Plan(spec, tuple(checks), tuple(set_cols), sql, keeps_old, select)

    def stored(self, col: str, kind: Value | None) -> str:
        """A kept column as the plan table holds it. Behind a fence (PostgreSQL) the outcome
        is computed once per row, so a value only some outcomes read is kept for those and
        NULL for the rest (``plan_table.NEEDED_BY``): new values for rows created, updated
        or failed (the messages of errors quote them), old ones for rows updated or deleted
        (the change log), the file's raw values for failed rows. An update that leaves most
        rows unchanged then writes and scans a plan a fraction of the width."""
        outcomes = pt.NEEDED_BY.get(kind) if kind is not None else None
        if self.d.plan_fence and outcomes:
            return f"CASE WHEN w.{pt.OUTCOME} IN ({pt.among(*outcomes)}) THEN w.{col} END AS {col}"
        return f"w.{col}"

    def kept(self, checks: list[RowCheck], set_cols: list[str]) -> list[tuple[str, Value | None]]:
        """The plan table's columns, each with its kind of value: only what writing,
        results, errors and diffs read (a narrow plan is quicker to build and to scan than
        every intermediate value)."""
        cols: list[tuple[str, Value | None]] = [(c, None) for c in pt.FIXED]
        files = dict.fromkeys([*self.refs, *self.uniques])
        cols += [(Value.FILE.of(c), Value.FILE) for c in files]
        if self.spec.mode is not Mode.DELETE:
            cols += [(Value.NEW.of(c.name), Value.NEW) for c in self.table.columns]
        if self.logs_changes and self.d.plan_keeps_old:
            cols += [(Value.OLD.of(c.name), Value.OLD) for c in self.table.columns]
            cols += [(pt.OLD_CREATED, Value.OLD), (pt.OLD_UPDATED, Value.OLD)]
        elif self.d.plan_keeps_old:
            cols += [(Value.OLD.of(c), Value.OLD) for c in set_cols]
        cols += [(c.flag, None) for c in checks]
        return [*cols, (pt.OUTCOME, None)]


def build_plan(spec: PlanSpec, dialect: Dialect, conn: Connection) -> Plan:
    creates = spec.mode in (Mode.CREATE, Mode.APPEND, Mode.UPSERT, Mode.REPLACE)
    next_id = dialect.next_id(conn, spec.table.name) if creates else None
    return PlanBuilder(spec, dialect, next_id).build()
