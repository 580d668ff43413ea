"""?expand= is set-based: one query for a page of records, and one more per expanded
column for all its rows together, however many rows the page has."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from loadbay.service import pages
from loadbay.service.context import Context
from tests.service.helpers import run, write

#: every other project has an owner
OWNERS = ("p1@x.example", "")


@contextmanager
def selects(ctx: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        data = "loadbay_custom_tables" not in statement  # (the tenant's catalog: not records)
        if data and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)


def test_a_page_expands_each_column_in_one_query(ctx: Context, tmp_path: Path) -> None:
    companies = "name\n" + "".join(f"Company {n}\n" for n in range(30))
    people = "email,first_name,last_name,company\n" + "".join(
        f"p{n}@x.example,P{n},Q{n},Company {n % 30}\n" for n in range(30)
    )
    projects = "external_id,name,customer,contact,owner\n" + "".join(
        f"X-{n},Project {n},Company {n % 30},p{n % 30}@x.example,{OWNERS[n % 2]}\n"
        for n in range(120)
    )
    for name, text, table in (
        ("c.csv", companies, "companies"),
        ("p.csv", people, "people"),
        ("x.csv", projects, "projects"),
    ):
        assert run(ctx, write(tmp_path, name, text), table=table).state == "succeeded"

    with selects(ctx) as seen:
        page = pages.records_page(
            ctx, ctx.tenant, "projects", 100, expand=["customer", "contact", "owner"]
        )
    assert len(seen) == 4, seen  # the page, then one IN query per expanded column
    assert len(page["data"]) == 100 and page["next_cursor"]
    first = page["data"][0]
    (company,) = pages.records_page(ctx, ctx.tenant, "companies", 1)["data"]
    assert first["customer"] == company  # the whole record, its own id included
    assert (first["contact"]["email"], first["contact"]["company"]) == (
        "p0@x.example",
        "Company 0",
    )
    assert first["owner"]["email"] == "p1@x.example"
    assert page["data"][1]["owner"] is None

    with selects(ctx) as seen:
        counted = pages.records_page(ctx, ctx.tenant, "projects", 10, count=True)
    assert len(seen) == 2 and counted["total_count"] == 120
    filtered = pages.records_page(
        ctx, ctx.tenant, "projects", 10, filters={"customer": "Company 3"}, count=True
    )
    assert filtered["total_count"] == 4
