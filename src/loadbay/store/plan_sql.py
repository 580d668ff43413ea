"""The plan of one table of an import, as one set-based ``CREATE TABLE … AS SELECT``.

From the staging table ``S`` it builds the plan table ``P`` with, for every staged row:
the matched target row (``_target``), the last row of its key in the file (``_last_seq``,
``_last_row``: earlier duplicates are skipped), resolved references (``r_<col>``), the value
every column will have once written (``n_<col>``) next to the stored one (``o_<col>``), one
0/1 flag per possible row error (``e_<n>``) and the outcome (``_outcome``) and record id
(``_id``). Nothing here loops over rows; the SQL is built once per table and mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Connection

from loadbay.errors import Code
from loadbay.pipeline.frames import EmptyPolicy, Mode
from loadbay.schema.model import Catalog, Column, Table
from loadbay.store.columns import CREATED, ID, TENANT, UPDATED
from loadbay.store.dialect import Dialect, q
from loadbay.store.references import reference_words
from loadbay.store.staging import is_reused, reused_plan_name

Q = "'"


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


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


#: (column prefixes, the outcomes whose rows are read for them) of the plan's values
_NEEDED_BY = (
    (('"n_',), "'created', 'updated', 'failed'"),
    (('"o_', "_o_"), "'updated', 'deleted'"),
    (('"f_',), "'failed'"),
)


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
        return f'i."r_{name}"' if name in self.refs else f'i."f_{name}"'

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
        old = f'i."o_{col.name}"'
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
        return f"CASE WHEN i._target IS NULL THEN {new} ELSE {updated} END"

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
        cols = ["s._seq", "s._src", "s._row", "s._ref", f"{self.key_text()} AS _key"]
        joins: list[str] = []
        if self.spec.match:
            on = " AND ".join(f"t.{q(c)} = s.{q(c)}" for c in self.spec.match)
            joins.append(self.join(t, "t", f"t.{TENANT} = :tenant AND {on}"))
            cols.append(f"t.{ID} AS _target")
        else:
            cols.append("CAST(NULL AS BIGINT) AS _target")
        if self.spec.match and self.spec.duplicates:
            part = ", ".join(f"s.{q(c)}" for c in self.spec.match)
            window = f"OVER (PARTITION BY {part} ORDER BY s._seq DESC)"
            cols += [
                f"FIRST_VALUE(s._seq) {window} AS _last_seq",
                f"FIRST_VALUE(s._row) {window} AS _last_row",
            ]
        else:
            cols += [
                "s._seq AS _last_seq",
                "s._row AS _last_row",
            ]
        cols += [f's.{q(c)} AS "f_{c}"' for c in self.spec.columns]
        for n, name in enumerate(self.refs):
            ref = self.table.column(name).references
            assert ref is not None
            alias = f"r{n}"
            on = f"{alias}.{TENANT} = :tenant AND {alias}.{q(ref.column)} = s.{q(name)}"
            joins.append(self.join(q(ref.table), alias, on))
            cols.append(f'{alias}.{ID} AS "r_{name}"')
        for n, name in enumerate(self.uniques):
            alias = f"u{n}"
            on = f"{alias}.{TENANT} = :tenant AND {alias}.{q(name)} = s.{q(name)}"
            joins.append(self.join(t, alias, on))
            cols.append(f'{alias}.{ID} AS "u_{name}"')
        if self.spec.match:
            cols += [f't.{q(c.name)} AS "o_{c.name}"' for c in self.table.columns]
        else:
            cols += [f'{self.d.null_of(c)} AS "o_{c.name}"' for c in self.table.columns]
        if self.logs_changes:
            cols += [f"t.{CREATED} AS _o_created_at", f"t.{UPDATED} AS _o_updated_at"]
        return (
            f"SELECT {', '.join(cols)}\nFROM {stage} s\n"
            + "\n".join(joins)
            + "\nWHERE s._seq > :after"
        )

    # ---- the middle query: new values and in-file duplicates of unique columns -------------
    def middle(self) -> str:
        cols = ["i.*"]
        if self.spec.mode is not Mode.DELETE:
            cols += [f'{self.value(c)} AS "n_{c.name}"' for c in self.table.columns]
        for name in self.uniques:
            cols.append(
                "SUM(CASE WHEN i._last_seq = i._seq THEN 1 ELSE 0 END) "
                f'OVER (PARTITION BY i."f_{name}") AS "d_{name}"'
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
            given = self.d.as_text(f'm."f_{col_name}"')
            before, after = reference_words(ref)
            found.append(
                (
                    col_name,
                    Code.REFERENCE_NOT_FOUND,
                    f'm."f_{col_name}" IS NOT NULL AND m."r_{col_name}" IS NULL',
                    f"{lit(before)} || {given} || {lit(after)}",
                    given,
                )
            )
        first_key = spec.match[0] if spec.match else None
        if spec.mode in (Mode.UPDATE, Mode.DELETE):
            found.append(
                (
                    first_key,
                    Code.NOT_FOUND,
                    "m._target IS NULL",
                    f"{lit(f'no {name} row has {key_desc} {Q}')} || m._key || {lit(Q)}",
                    "m._key",
                )
            )
        if spec.mode is Mode.CREATE:
            found.append(
                (
                    first_key,
                    Code.ALREADY_EXISTS,
                    "m._target IS NOT NULL",
                    f"{lit(f'a {name} row with {key_desc} {Q}')} || m._key || "
                    f"{lit(f'{Q} already exists')}",
                    "m._key",
                )
            )
        if spec.mode is not Mode.DELETE:
            found += self._value_checks()
        return [
            RowCheck(f"e_{n}", col, str(code), msg, val, cond)
            for n, (col, code, cond, msg, val) in enumerate(found)
        ]

    def _value_checks(self) -> list[tuple[str | None, str, str, str, str]]:
        found: list[tuple[str | None, str, str, str, str]] = []
        name = self.table.name
        # update mode writes only matched rows: an unmatched one is not_found, nothing more
        only_matched = "m._target IS NOT NULL AND " if self.spec.mode is Mode.UPDATE else ""
        new_row = lit(f"is required to create a new {name} row")
        for col in self.table.columns:
            if col.required:
                found.append(
                    (
                        col.name,
                        Code.REQUIRED,
                        f'{only_matched}m."n_{col.name}" IS NULL',
                        f"CASE WHEN m._target IS NULL THEN {new_row} ELSE {lit('is required')} END",
                        "NULL",
                    )
                )
        taken = lit(f"{Q} is already used by another {name} row")
        twice = lit(f"{Q} is used by more than one row of the file")
        for uname in self.uniques:
            given = self.d.as_text(f'm."f_{uname}"')
            found.append(
                (
                    uname,
                    Code.DUPLICATE_VALUE,
                    f'm."u_{uname}" IS NOT NULL '
                    f'AND (m._target IS NULL OR m."u_{uname}" <> m._target)',
                    f"{lit(Q)} || {given} || {taken}",
                    given,
                )
            )
            found.append(
                (
                    uname,
                    Code.DUPLICATE_VALUE,
                    f'm."d_{uname}" > 1 AND m."f_{uname}" IS NOT NULL',
                    f"{lit(Q)} || {given} || {twice}",
                    given,
                )
            )
        for check in self.table.checks:
            left, right = f'm."n_{check.left}"', f'm."n_{check.right}"'
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
        if mode in (Mode.CREATE, Mode.APPEND):
            decided = "'created'"
        elif mode is Mode.DELETE:
            decided = "'deleted'"
        elif mode is Mode.UPDATE:
            decided = "CASE WHEN o._changed = 1 THEN 'updated' ELSE 'unchanged' END"
        else:
            decided = (
                "CASE WHEN o._target IS NULL THEN 'created' "
                "WHEN o._changed = 1 THEN 'updated' ELSE 'unchanged' END"
            )
        return (
            "CASE WHEN o._last_seq <> o._seq THEN 'skipped' WHEN o._failed = 1 THEN 'failed' "
            f"ELSE {decided} END"
        )

    def build(self) -> Plan:
        checks = self.checks()
        set_cols = self.set_columns()
        flags = [f"CASE WHEN {c.condition} THEN 1 ELSE 0 END AS {c.flag}" for c in checks]
        failed = " OR ".join(f"{c.condition}" for c in checks) or "1 = 0"
        same = " AND ".join(self.d.same(f'm."n_{c}"', f'm."o_{c}"') for c in set_cols)
        changed = f"CASE WHEN {same} THEN 0 ELSE 1 END" if same else "0"
        outer = (
            f"SELECT m.*, {', '.join([*flags, ''])}"
            f"CASE WHEN {failed} THEN 1 ELSE 0 END AS _failed, {changed} AS _changed "
            f"FROM (\n{self.middle()}\n) m"
        )
        with_outcome = (
            f"SELECT o.*, {self.outcome()} AS _outcome FROM (\n{outer}\n) o{self.d.plan_fence}"
        )
        if self.next_id:
            record_id = f"CASE WHEN w._outcome = 'created' THEN {self.next_id} ELSE w._target END"
        else:
            record_id = "w._target"
        kept = ", ".join(self.stored(c) for c in self.kept(checks, set_cols))
        select = f"SELECT {kept}, {record_id} AS _id FROM (\n{with_outcome}\n) w"
        spec = self.spec
        if is_reused(spec.plan):  # the connection keeps one table per query
            spec = replace(spec, plan=reused_plan_name(spec.plan, select))
        sql = f"CREATE {self.d.plan_table}TABLE {q(spec.plan)} AS\n{select}"
        keeps_old = self.d.plan_keeps_old
        return Plan(spec, tuple(checks), tuple(set_cols), sql, keeps_old, select)

    def stored(self, col: str) -> str:
        """A kept column as the plan table holds it. Behind a fence (PostgreSQL) the outcome
        is computed once per row, so a value only some outcomes read is kept for those and
        NULL for the rest: new values for rows created, updated or failed (the messages of
        errors quote them), old ones for rows updated or deleted (the change log), the
        file's raw values for failed rows. An update that leaves most rows unchanged then
        writes and scans a plan a fraction of the width."""
        if self.d.plan_fence:
            for prefixes, outcomes in _NEEDED_BY:
                if col.startswith(prefixes):
                    return f"CASE WHEN w._outcome IN ({outcomes}) THEN w.{col} END AS {col}"
        return f"w.{col}"

    def kept(self, checks: list[RowCheck], set_cols: list[str]) -> list[str]:
        """The plan table's columns: only what writing, results, errors and diffs read
        (a narrow plan is quicker to build and to scan than every intermediate value)."""
        cols = ["_seq", "_src", "_row", "_ref", "_key", "_target", "_last_seq", "_last_row"]
        cols += [f'"f_{c}"' for c in dict.fromkeys([*self.refs, *self.uniques])]
        if self.spec.mode is not Mode.DELETE:
            cols += [f'"n_{c.name}"' for c in self.table.columns]
        if self.logs_changes and self.d.plan_keeps_old:
            cols += [f'"o_{c.name}"' for c in self.table.columns]
            cols += ["_o_created_at", "_o_updated_at"]
        elif self.d.plan_keeps_old:
            cols += [f'"o_{c}"' for c in set_cols]
        cols += [c.flag for c in checks]
        return [*cols, "_outcome"]


def build_plan(spec: PlanSpec, dialect: Dialect, conn: Connection) -> Plan:
    next_id = None
    if dialect.name == "postgresql" and spec.mode in (
        Mode.CREATE,
        Mode.APPEND,
        Mode.UPSERT,
        Mode.REPLACE,
    ):
        next_id = dialect.next_id(conn, spec.table.name)  # type: ignore[attr-defined]
    return PlanBuilder(spec, dialect, next_id).build()
