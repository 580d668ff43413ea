"""Named queries on loadbay's own tables; every one is scoped to a tenant or an import."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.domain.imports import OUTCOMES as OUTCOMES  # (named here too, as ever)
from loadbay.domain.imports import Checkpoint, Counts, Import, State
from loadbay.domain.json import JSONObject
from loadbay.errors import NotFound
from loadbay.store import system, webhooks_sql
from loadbay.times import utc_now

if TYPE_CHECKING:
    import polars as pl


# The statements every run sends, built once: building one costs SQLAlchemy more than
# SQLite takes to run it (0.1-0.2 ms each; a bulk request of 100 records sends a dozen).
# Their WHERE parameters are named w_*; an UPDATE's SET columns are the other parameters.
_I = system.imports
_THIS_IMPORT = (_I.c.id == sa.bindparam("w_id"), _I.c.tenant_id == sa.bindparam("w_tenant"))
_GET_IMPORT = sa.select(_I).where(*_THIS_IMPORT)
_GET_STATE = sa.select(_I.c.state).where(*_THIS_IMPORT)
_GET_REQUEST = sa.select(_I.c.request).where(*_THIS_IMPORT)
_UPDATE_IMPORT = sa.update(_I).where(*_THIS_IMPORT)
_SET_STATE_IF = sa.update(_I).where(
    *_THIS_IMPORT, _I.c.state.in_(sa.bindparam("w_current", expanding=True))
)
_INSERT_IMPORT = sa.insert(_I)
_R = system.results
_THIS_NUMBER = _R.c.import_number == system.import_number(sa.bindparam("w_import"))
_COUNT_OUTCOMES = (
    sa.select(_R.c.outcome, sa.func.count()).where(_THIS_NUMBER).group_by(_R.c.outcome)
)
_CLEAR = (
    sa.delete(_R).where(_THIS_NUMBER),
    sa.delete(system.errors).where(system.errors.c.import_id == sa.bindparam("w_import")),
)
_INSERT_NUMBER = sa.insert(system.import_numbers)
_GET_NUMBER = sa.select(system.import_numbers.c.number).where(
    system.import_numbers.c.import_id == sa.bindparam("w_import")
)
#: what a result row gives its readers (not the import's number: they asked by its id)
_RESULT_FIELDS = [c for c in _R.c if c.name != "import_number"]


def _this(tenant: str, import_id: str) -> dict[str, Any]:
    return {"w_id": import_id, "w_tenant": tenant}


def _set(values: dict[str, Any]) -> dict[str, Any]:
    return system.known_values(_I, {k: _stored(v) for k, v in values.items()})


def _stored(value: object) -> object:
    """A value of an import's column as the column keeps it (typed records as JSON)."""
    if isinstance(value, Counts):
        return value.as_dict()
    if isinstance(value, Checkpoint):
        return value.to_json()
    return value


def now() -> datetime:
    return utc_now()


def insert_import(conn: Connection, values: dict[str, Any]) -> None:
    """A new import, and its number (the key of its results)."""
    conn.execute(_INSERT_IMPORT, _set(values))
    conn.execute(_INSERT_NUMBER, {"import_id": values["id"]})


def number_of(conn: Connection, import_id: str) -> int:
    """The number an import's results are kept under."""
    number = conn.execute(_GET_NUMBER, {"w_import": import_id}).scalar_one_or_none()
    if number is None:
        raise NotFound(f"no import {import_id!r}")
    return int(number)


def get_import(conn: Connection, tenant: str, import_id: str) -> Import:
    row = conn.execute(_GET_IMPORT, _this(tenant, import_id)).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no import {import_id!r}")
    return Import.from_row(dict(row))


def get_state(conn: Connection, tenant: str, import_id: str) -> State:
    """Only the state of an import (what the runner checks between steps: a narrow read)."""
    state = conn.execute(_GET_STATE, _this(tenant, import_id)).scalar_one_or_none()
    if state is None:
        raise NotFound(f"no import {import_id!r}")
    return State.of(state)


def get_request(conn: Connection, tenant: str, import_id: str) -> JSONObject:
    """Only what an import asks (its ``request``): a narrow read."""
    found = conn.execute(_GET_REQUEST, _this(tenant, import_id)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no import {import_id!r}")
    return dict(found)


def update_import(conn: Connection, tenant: str, import_id: str, **values: Any) -> None:
    if values:
        conn.execute(_UPDATE_IMPORT, {**_this(tenant, import_id), **_set(values)})


def save_progress(
    conn: Connection, tenant: str, import_id: str, progress: Mapping[str, object]
) -> None:
    """Store an import's progress, in the caller's transaction (the progress tracker's
    own short one: ``service/progress.py``)."""
    conn.execute(_UPDATE_IMPORT, {**_this(tenant, import_id), "progress": dict(progress)})


def error_summary(conn: Connection, import_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The errors of an import grouped by table, column and code, most frequent first:
    how many rows each, and one example value (the smallest), by one GROUP BY."""
    e = system.errors
    count = sa.func.count().label("count")
    rows = conn.execute(
        sa.select(
            e.c.table_name,
            e.c.column,
            e.c.code,
            count,
            sa.func.min(e.c.value).label("example"),
            sa.func.min(e.c.message).label("message"),
        )
        .where(e.c.import_id == import_id)
        .group_by(e.c.table_name, e.c.column, e.c.code)
        .order_by(count.desc(), e.c.table_name, e.c.column, e.c.code)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def queued_since(conn: Connection, before: datetime, limit: int = 100) -> list[tuple[str, str]]:
    """(tenant, import id) of every tenant's imports ``queued`` and made before ``before``,
    oldest first: the reaper looks among them for imports whose queue message was lost."""
    imports = system.imports
    rows = conn.execute(
        sa.select(imports.c.tenant_id, imports.c.id)
        .where(imports.c.state == State.QUEUED.value, imports.c.created_at < before)
        .order_by(imports.c.created_at)
        .limit(limit)
    )
    return [(str(tenant), str(import_id)) for tenant, import_id in rows]


def list_imports(
    conn: Connection,
    tenant: str,
    limit: int = 50,
    state: str | None = None,
    table: str | None = None,
) -> list[Import]:
    query = sa.select(system.imports).where(system.imports.c.tenant_id == tenant)
    if state:
        query = query.where(system.imports.c.state == state)
    rows = conn.execute(
        query.order_by(system.imports.c.created_at.desc(), system.imports.c.id.desc())
    ).mappings()
    found: list[Import] = []
    for row in rows:
        if table and table not in (row["tables"] or []):
            continue
        found.append(Import.from_row(dict(row)))
        if len(found) >= limit:
            break
    return found


def count_outcomes(conn: Connection, import_id: str) -> Counts:
    rows = conn.execute(_COUNT_OUTCOMES, {"w_import": import_id}).all()
    return Counts.of({str(outcome): int(n) for outcome, n in rows})


def clear_results(conn: Connection, import_id: str) -> None:
    for statement in _CLEAR:
        conn.execute(statement, {"w_import": import_id})


def insert_frame(conn: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """Bulk-insert a frame whose columns are columns of a loadbay system table."""
    from loadbay.store.staging import append_frame  # (polars: not for reading imports)

    if frame.height == 0:
        return
    append_frame(conn, table.name, frame)


def first_errors(conn: Connection, import_id: str, limit: int = 100) -> list[dict[str, Any]]:
    e = system.errors
    rows = conn.execute(
        sa.select(e.c.table_name, e.c.src, e.c.row, e.c.column, e.c.code, e.c.message, e.c.value)
        .where(e.c.import_id == import_id)
        .order_by(e.c.table_name, e.c.src, e.c.row, e.c.column)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def iter_results(
    conn: Connection,
    import_id: str,
    outcomes: Sequence[str] | None = None,
    batch: int = 10_000,
    stream: bool = True,
) -> Iterator[dict[str, Any]]:
    """Every row outcome of an import in file order, each with its errors. ``stream``:
    read ``batch`` rows at a time (PostgreSQL: a server-side cursor, four round trips more
    than reading the few rows of a small import at once)."""
    r = system.results
    query = sa.select(*_RESULT_FIELDS).where(r.c.import_number == system.import_number(import_id))
    if outcomes:
        query = query.where(r.c.outcome.in_(list(outcomes)))
    query = query.order_by(r.c.table_name, r.c.src, r.c.row)
    options = {"yield_per": batch} if stream else {}
    result = conn.execute(query, execution_options=options).mappings()
    for part in result.partitions(batch):
        yield from _with_errors(conn, import_id, [dict(x) for x in part])


#: the fields of a row's error as results give them
_ERROR_FIELDS = ("column", "code", "message", "value")


def _with_errors(
    conn: Connection, import_id: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``rows`` (results of one import), each with its ``errors`` in one order, the same
    for the page and the stream on both databases: the errors of the whole row (no column)
    first, then by column, code and message."""
    e = system.errors
    failed = [x["row"] for x in rows if x["outcome"] == "failed"]
    found: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    if failed:
        query = (
            sa.select(e)
            .where(e.c.import_id == import_id, e.c.row >= min(failed), e.c.row <= max(failed))
            .order_by(e.c.table_name, e.c.src, e.c.row, e.c.column.asc().nulls_first())
            .order_by(e.c.code, e.c.message)
        )
        for err in conn.execute(query).mappings():
            key = (err["table_name"], err["src"], err["row"])
            found.setdefault(key, []).append({k: err[k] for k in _ERROR_FIELDS})
    for x in rows:
        x["errors"] = found.get((x["table_name"], x["src"], x["row"]), [])
    return rows


# ---- pages and guarded state changes (the API) ---------------------------------------
def page_imports(
    conn: Connection,
    tenant: str,
    limit: int,
    after: tuple[datetime, str] | None = None,
    filters: Mapping[str, object] | None = None,
) -> list[Import]:
    """Newest first, keyset-paginated on (created_at, id); ``limit`` + 1 rows tell more."""
    i = system.imports
    query = sa.select(i).where(i.c.tenant_id == tenant, *_filtered(filters or {}))
    query = system.newest_first(query, i.c.created_at, i.c.id, after, limit)
    return [Import.from_row(dict(r)) for r in conn.execute(query).mappings()]


def count_imports(
    conn: Connection, tenant: str, filters: Mapping[str, object] | None = None
) -> int:
    """How many imports of ``tenant`` the filters of ``page_imports`` keep (every page)."""
    i = system.imports
    query = sa.select(sa.func.count()).select_from(i).where(i.c.tenant_id == tenant)
    return int(conn.execute(query.where(*_filtered(filters or {}))).scalar_one())


#: the filters of the imports list that are one column's equality
_EQUAL = ("state", "template_id", "kind", "created_by")


def _filtered(filters: Mapping[str, object]) -> list[sa.ColumnElement[bool]]:
    """The conditions of the imports list's filters (besides the tenant)."""
    i = system.imports
    where = [i.c[name] == filters[name] for name in _EQUAL if filters.get(name)]
    if filters.get("table"):
        pattern = '%"' + _like_escape(str(filters["table"])) + '"%'
        where.append(sa.cast(i.c.tables, sa.Text).like(pattern, escape="\\"))
    if filters.get("created_after"):
        where.append(i.c.created_at > filters["created_after"])
    if filters.get("created_before"):
        where.append(i.c.created_at < filters["created_before"])
    return where


def _like_escape(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def set_state_if(
    conn: Connection,
    tenant: str,
    import_id: str,
    current: Sequence[str],
    state: str,
    **values: Any,
) -> bool:
    """Move an import to ``state`` only if it is in one of ``current`` (compare-and-set).

    The outbox hook: a move to a state with a webhook event (webhooks_sql.EVENT_OF_STATE)
    records the event in this transaction, whoever moves it (runner, cancel, revert, the
    reaper giving up). Only a real change is an event: ``state`` among ``current`` (the
    values alone change) is tried apart, and is none."""
    event = webhooks_sql.event_type(current, state)
    others = [s for s in current if s != state] if event else list(current)
    params = {**_this(tenant, import_id), "w_current": others, **_set({"state": state, **values})}
    if others and conn.execute(_SET_STATE_IF, params).rowcount:
        if event:
            webhooks_sql.record_event(conn, tenant, import_id, event, now())
        return True
    if len(others) == len(current):
        return False
    done = conn.execute(_SET_STATE_IF, {**params, "w_current": [state]})
    return bool(done.rowcount)


def page_results(
    conn: Connection,
    import_id: str,
    limit: int,
    after: tuple[str, int, int] | None = None,
    outcomes: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Row outcomes in file order, keyset-paginated on (table, src, row), with their errors."""
    r = system.results
    query = sa.select(*_RESULT_FIELDS).where(r.c.import_number == system.import_number(import_id))
    if outcomes:
        query = query.where(r.c.outcome.in_(list(outcomes)))
    if after is not None:
        query = query.where(sa.tuple_(r.c.table_name, r.c.src, r.c.row) > sa.tuple_(*after))
    query = query.order_by(r.c.table_name, r.c.src, r.c.row).limit(limit + 1)
    return _with_errors(conn, import_id, [dict(x) for x in conn.execute(query).mappings()])
