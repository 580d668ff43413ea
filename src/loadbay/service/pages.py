"""Cursor pages of imports, row results and records; whole results and tables as files.

A cursor is opaque to clients: the keyset of the last item of a page, as base64 JSON.
A page is ``{"data": [...], "next_cursor": "..." | None}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Generic, NotRequired, TypedDict, TypeVar

from loadbay.domain.imports import OUTCOMES as OUTCOMES  # the outcomes a page filters by
from loadbay.domain.imports import Import
from loadbay.domain.json import JSON, JSONObject
from loadbay.domain.tables import TableInfo
from loadbay.errors import InvalidOption
from loadbay.service import states
from loadbay.service import tables as table_service
from loadbay.service.context import Context
from loadbay.service.imports import get_import, iter_results, write_error_report
from loadbay.service.views import ResultView, import_view, result_view
from loadbay.store import columns, imports_sql
from loadbay.store.engine import reading
from loadbay.store.records_sql import (
    INT64_MAX,
    INT64_MIN,
    count_records,
    expansions,
    page_records,
)

MAX_LIMIT = 200
#: the key of loadbay's id in every record shown (a user's column may be named ``id``)
RECORD_ID = columns.ID


T = TypeVar("T")
V = TypeVar("V")


class Page(TypedDict, Generic[V]):
    """One page: its items, the cursor of the next one (None: the last), and, when
    asked, how many items every page together holds."""

    data: list[V]
    next_cursor: str | None
    total_count: NotRequired[int]


def encode_cursor(values: Sequence[JSON]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[int | str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidOption(f"cursor {cursor!r} is not valid") from None
    if not isinstance(values, list) or len(values) != size or not all(map(_plain, values)):
        raise InvalidOption(f"cursor {cursor!r} is not valid")
    return values


def _plain(value: object) -> bool:
    """A value a cursor may hold: a 64-bit integer, or text without NUL."""
    if isinstance(value, int) and not isinstance(value, bool):
        return INT64_MIN <= value <= INT64_MAX
    return isinstance(value, str) and "\x00" not in value


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """A cursor of (time, id), as pages in newest-first order make them; None for none."""
    if not cursor:
        return None
    at, last = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(str(at)), str(last)
    except ValueError:
        raise InvalidOption(f"cursor {cursor!r} is not valid") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidOption(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def _page(
    rows: list[T], limit: int, key: Callable[[T], list[JSON]], view: Callable[[T], V]
) -> Page[V]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "data": [view(r) for r in rows],
        "next_cursor": encode_cursor(key(rows[-1])) if more and rows else None,
    }


def imports_page(
    ctx: Context,
    tenant: str,
    limit: int = 50,
    cursor: str | None = None,
    filters: Mapping[str, object] | None = None,
    count: bool = False,
) -> Page[JSONObject]:
    """Imports newest first; filters: state, table, created_after, created_before,
    template_id, kind, created_by. ``count``: add ``total_count``, of every page."""
    check_limit(limit)
    state = (filters or {}).get("state")
    if state and state not in states.ALL:
        raise InvalidOption(f"state {state!r} is not one of {', '.join(states.ALL)}")
    after = decode_time_cursor(cursor)
    with ctx.engine.connect() as conn, reading(conn).begin():
        rows = imports_sql.page_imports(conn, tenant, limit, after, filters)
        total = imports_sql.count_imports(conn, tenant, filters) if count else None
    page = _page(rows, limit, _import_key, import_view)
    return page if total is None else {**page, "total_count": total}


def _import_key(record: Import) -> list[JSON]:
    return [record.created_at.isoformat(), record.id]


def _outcomes(outcome: str | None) -> list[str] | None:
    if not outcome:
        return None
    found = [o.strip() for o in outcome.split(",") if o.strip()]
    bad = [o for o in found if o not in OUTCOMES]
    if bad:
        raise InvalidOption(f"outcome {bad[0]!r} is not one of {', '.join(OUTCOMES)}")
    return found


def results_page(
    ctx: Context,
    tenant: str,
    import_id: str,
    limit: int = 100,
    cursor: str | None = None,
    outcome: str | None = None,
) -> Page[ResultView]:
    """One page of per-row outcomes, in file order; ``outcome`` may list several."""
    check_limit(limit)
    outcomes = _outcomes(outcome)
    after = None
    if cursor:
        table, src, row = decode_cursor(cursor, 3)
        if not (isinstance(table, str) and isinstance(src, int) and isinstance(row, int)):
            raise InvalidOption(f"cursor {cursor!r} is not valid")
        after = (table, src, row)
    with ctx.engine.connect() as conn, reading(conn).begin():
        imports_sql.get_import(conn, tenant, import_id)
        rows = imports_sql.page_results(conn, import_id, limit, after, outcomes)
    return _page(rows, limit, _result_key, result_view)


def _result_key(row: Mapping[str, object]) -> list[JSON]:
    return [str(row["table_name"]), int(str(row["src"])), int(str(row["row"]))]


def results_lines(
    ctx: Context, tenant: str, import_id: str, outcome: str | None = None
) -> Iterator[str]:
    """Every row outcome as JSON Lines (for streaming)."""
    get_import(ctx, import_id, tenant)  # NotFound before the first byte
    outcomes = _outcomes(outcome)

    def lines() -> Iterator[str]:
        for row in iter_results(ctx, import_id, tenant, outcomes=outcomes):
            yield json.dumps(result_view(row), ensure_ascii=False, default=str) + "\n"

    return lines()


def error_report(ctx: Context, tenant: str, import_id: str) -> Path:
    """The failed rows as they were in the file plus an error column, in a temporary file."""
    get_import(ctx, import_id, tenant)
    fd, name = tempfile.mkstemp(prefix="loadbay-errors-", suffix=".csv")
    os.close(fd)
    write_error_report(ctx, import_id, Path(name), tenant)
    return Path(name)


def records_page(
    ctx: Context,
    tenant: str,
    table_name: str,
    limit: int = 100,
    cursor: str | None = None,
    filters: dict[str, str] | None = None,
    expand: Sequence[str] = (),
    count: bool = False,
) -> Page[Mapping[str, object]]:
    """Records in id order; ``expand``: reference columns shown as the records they
    name; ``count``: add ``total_count``, of every page."""
    check_limit(limit)
    catalog = ctx.catalog_for(tenant)
    table = catalog.get(table_name)
    expanded = expansions(table, expand)
    after = None
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if not isinstance(last, int):
            raise InvalidOption(f"cursor {cursor!r} is not valid")
        after = last
    with ctx.engine.connect() as conn, reading(conn).begin():
        rows = page_records(conn, catalog, table, tenant, limit, after, filters, expanded)
        total = count_records(conn, catalog, table, tenant, filters) if count else None
    page = _page(rows, limit, _record_key, _same)
    return page if total is None else {**page, "total_count": total}


def _record_key(record: Mapping[str, object]) -> list[JSON]:
    return [int(str(record[RECORD_ID]))]


def _same(record: Mapping[str, object]) -> Mapping[str, object]:
    return record


def export_file(ctx: Context, tenant: str, table_name: str, fmt: str) -> Path:
    """Every row of a table as CSV or JSON Lines (as ``loadbay export``), in a temp file."""
    if fmt not in ("csv", "jsonl"):
        raise InvalidOption(f"format {fmt!r}: use csv or jsonl")
    ctx.catalog_for(tenant).get(table_name)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the caller removes it once sent
        "w", prefix="loadbay-export-", suffix="." + fmt, delete=False, newline="", encoding="utf-8"
    )
    with handle:
        table_service.export_table(ctx, table_name, handle, fmt, tenant)
    return Path(handle.name)


def table_info(ctx: Context, table_name: str, tenant: str | None = None) -> TableInfo:
    return table_service.describe_table(ctx.catalog_for(tenant or ctx.tenant).get(table_name))
