"""Tables from files: infer a definition, create the table, import the same file into it;
add columns; names that are not available; each tenant sees its own tables. Both
databases, both import paths."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from loadbay.errors import Conflict, InvalidSchema, UnknownTable
from loadbay.schema.loader import table_spec
from loadbay.service import imports as import_service
from loadbay.service import tables as table_service
from loadbay.service.context import Context
from loadbay.service.requests import ImportRequest, SourceSpec
from tests.service.helpers import errors

HEADER = ["Customer ID", "Name", "E-Mail", "Signed up", "Balance", "Active", "Currency", "Note"]
ROWS = [
    ["1", "Anne", "anne@example.com", "05/01/1990", "12.50", "yes", "EUR", ""],
    ["2", "Bob", "BOB@example.org", "31/12/1985", "-3", "No", "USD", "late payer"],
    ["3", "Cyd", "", "1/2/2000", "1000.125", "YES", "GBP", ""],
    ["4", "Dee", "dee@example.net", "29/02/2024", "0.5", "no", "CHF", "x, y"],
]


def messy_csv(tmp: Path, name: str = "customers.csv", delimiter: str = ",") -> Path:
    path = tmp / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    return path


def messy_jsonl(tmp: Path) -> Path:
    path = tmp / "orders.jsonl"
    records = [
        {"order": "A-1", "placed": "2024-03-01T10:15:00Z", "qty": 3, "paid": True},
        {"order": "A-2", "placed": "2024-03-02 08:00", "qty": 10, "paid": False, "memo": "rush"},
        {"order": "A-3", "placed": "2024-03-03T23:59:59+02:00", "qty": None, "paid": True},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def messy_xlsx(tmp: Path) -> Path:
    path = tmp / "stock.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["SKU", "Price", "In stock", "Counted on"])
    sheet.append(["X-1", "9.99", "yes", "01.02.2024"])
    sheet.append(["X-2", "19.5", "no", "15.02.2024"])
    sheet.append(["X-3", "", "yes", ""])
    book.save(path)
    return path


def source(path: Path, table: str | None = None, **read: Any) -> SourceSpec:
    return SourceSpec(path=str(path), name=path.name, table=table, **read)


def run(
    ctx: Context, path: Path, table: str, mapping: dict[str, str], **read: Any
) -> dict[str, Any]:
    request = ImportRequest(sources=(source(path, table, **read),), mapping=mapping)
    return import_service.run_import(ctx, import_service.create_import(ctx, request))


def test_inferred_types_of_a_messy_csv(ctx: Context, tmp_path: Path) -> None:
    (found,) = table_service.infer_sources(ctx.settings, [source(messy_csv(tmp_path))])
    spec = table_spec(found.table)
    assert spec["name"] == "customers"
    columns = {c["name"]: c for c in spec["columns"]}
    assert spec["key"] == ["customer_id"]
    assert columns["customer_id"] == {"name": "customer_id", "type": "integer", "required": True}
    assert columns["e_mail"] == {"name": "e_mail", "type": "email"}
    assert columns["signed_up"]["type"] == "date"
    assert columns["signed_up"]["format"] == "%d/%m/%Y"
    assert columns["signed_up"]["required"] is True
    assert columns["balance"] == {
        "name": "balance",
        "type": "decimal",
        "required": True,
        "precision": 18,
        "scale": 3,
    }
    assert columns["active"]["type"] == "boolean"
    assert columns["currency"]["type"] == "currency"
    assert columns["note"] == {"name": "note", "type": "text"}
    assert found.mapping["Customer ID"] == "customer_id"
    assert found.rows == 4


@pytest.mark.parametrize("maker", [messy_csv, messy_jsonl, messy_xlsx])
def test_the_inferred_table_imports_its_file_without_row_errors(
    ctx: Context, tmp_path: Path, maker: Any
) -> None:
    path = maker(tmp_path)
    (found,) = table_service.infer_sources(ctx.settings, [source(path)])
    table_service.create_table(ctx, ctx.tenant, table_spec(found.table))
    record = run(ctx, path, found.table.name, found.mapping)
    assert errors(ctx, record.id) == []
    assert record.state == "succeeded", record
    assert record.counts.created == found.rows
    names = [t.name for t in table_service.list_tables(ctx, ctx.tenant)]
    assert found.table.name in names and "companies" in names


def test_semicolons_and_an_ambiguous_day_month(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("when;who\n01/02/2024;a\n03/04/2024;b\n", encoding="utf-8")
    (found,) = table_service.infer_sources(ctx.settings, [source(path)])
    when = found.table.column("when")
    assert (when.type.value, when.format) == ("date", "%d/%m/%Y")
    assert "%m/%d/%Y" in when.description  # both read it: said
    table_service.create_table(ctx, ctx.tenant, table_spec(found.table))
    record = run(ctx, path, "visits", found.mapping)
    assert record.counts.created == 2


def test_leading_zeros_stay_text_and_no_key_without_a_unique_column(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "zips.csv"
    path.write_text("zip,city\n01234,A\n01234,B\n,C\n", encoding="utf-8")
    (found,) = table_service.infer_sources(ctx.settings, [source(path)])
    assert found.table.column("zip").type.value == "text"
    assert found.table.key == ("city",)
    (keyless,) = table_service.infer_sources(ctx.settings, [source(path, "zips2")], key=None)
    assert keyless.table.name == "zips2"


def test_given_key_must_have_a_value_in_every_row(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "zips.csv"
    path.write_text("zip,city\n01234,A\n,B\n", encoding="utf-8")
    with pytest.raises(Exception, match="a key needs a value in every row"):
        table_service.infer_sources(ctx.settings, [source(path)], key="zip")


def test_several_files_into_one_table(ctx: Context, tmp_path: Path) -> None:
    one = tmp_path / "a.csv"
    one.write_text("id_code,amount\nA,1\nB,2\n", encoding="utf-8")
    two = tmp_path / "b.csv"
    two.write_text("id_code,amount,extra\nC,2.5,x\n", encoding="utf-8")
    (found,) = table_service.infer_sources(ctx.settings, [source(one, "both"), source(two, "both")])
    assert found.rows == 3
    assert found.table.key == ("id_code",)
    amount = found.table.column("amount")
    assert (amount.type.value, amount.scale, amount.required) == ("decimal", 1, True)
    assert found.table.column("extra").required is False


def test_a_name_taken_is_not_available(ctx: Context, tmp_path: Path) -> None:
    spec = {"name": "gadgets", "key": ["code"], "columns": [{"name": "code", "required": True}]}
    table_service.create_table(ctx, "acme", spec)
    with pytest.raises(Conflict, match="exists already"):
        table_service.create_table(ctx, "acme", spec)
    for name in ("gadgets", "companies"):  # another tenant's, a built-in one: the same words
        with pytest.raises(Conflict) as caught:
            table_service.create_table(ctx, "globex", {**spec, "name": name})
        assert caught.value.message == (f"the name {name!r} is not available; choose another")
    # globex neither sees nor can use acme's table
    assert "gadgets" not in [t.name for t in table_service.list_tables(ctx, "globex")]
    assert "gadgets" in [t.name for t in table_service.list_tables(ctx, "acme")]
    with pytest.raises(UnknownTable):
        table_service.alter_table(ctx, "globex", "gadgets", [{"name": "color"}])


def test_bad_definitions_are_refused(ctx: Context) -> None:
    cases = [
        ({"name": "Bad Name", "columns": [{"name": "a"}]}, "is not valid"),
        ({"name": "t1", "columns": [{"name": "a", "type": "float"}]}, "unknown type"),
        ({"name": "t2", "columns": [{"name": "a", "format": "%d"}]}, "only a date or datetime"),
        ({"name": "t3", "columns": [{"name": "a", "type": "date", "format": "dd"}]}, "strftime"),
        ({"name": "t4", "columns": [{"name": "a", "references": "nope.x"}]}, "unknown table"),
        ({"name": "t" * 39, "columns": [{"name": "a"}]}, "too long"),
    ]
    for spec, words in cases:
        with pytest.raises(InvalidSchema, match=words):
            table_service.create_table(ctx, ctx.tenant, spec)


def test_alter_adds_columns_and_never_retypes(ctx: Context, tmp_path: Path) -> None:
    spec = {
        "name": "gizmos",
        "key": ["code"],
        "columns": [{"name": "code", "required": True}, {"name": "size", "type": "integer"}],
    }
    table_service.create_table(ctx, ctx.tenant, spec)
    first = tmp_path / "g1.csv"
    first.write_text("code,size\nA,1\n", encoding="utf-8")
    run(ctx, first, "gizmos", {})
    with pytest.raises(Conflict, match="never retyped"):
        table_service.alter_table(ctx, ctx.tenant, "gizmos", [{"name": "size", "type": "text"}])
    with pytest.raises(InvalidSchema, match="required column cannot be added"):
        table_service.alter_table(ctx, ctx.tenant, "gizmos", [{"name": "color", "required": True}])
    shown = table_service.alter_table(
        ctx, ctx.tenant, "gizmos", [{"name": "size", "type": "integer"}, {"name": "color"}]
    )
    assert [c.name for c in shown.columns] == ["code", "size", "color"]
    later = tmp_path / "g2.csv"
    later.write_text("code,size,color,weight\nB,2,red,1.5\n", encoding="utf-8")
    (found,) = table_service.infer_sources(ctx.settings, [source(later, "gizmos")])
    assert table_service.add_file_columns(ctx, ctx.tenant, found.table) == ["weight"]
    record = run(ctx, later, "gizmos", {})
    assert record.counts.created == 1
    with pytest.raises(Conflict, match="not one you defined"):
        table_service.alter_table(ctx, ctx.tenant, "companies", [{"name": "x"}])


def test_tables_survive_a_new_context(ctx: Context) -> None:
    spec = {"name": "widgets", "columns": [{"name": "label"}]}
    table_service.create_table(ctx, ctx.tenant, spec)
    from loadbay.service.context import open_context

    other = open_context(ctx.settings)
    try:
        assert "widgets" in other.catalog_for(ctx.tenant)
    finally:
        other.close()


def test_a_stored_definition_the_loader_refuses_leaves_the_other_tables_working(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """A table whose stored definition no longer parses (written by hand, or by a release
    whose rules were looser) is left out with a logged error; the tenant's other tables,
    the built-in ones and every request on them go on working."""
    from loadbay.store.tables_sql import update_table
    from loadbay.times import utc_now

    table_service.create_table(ctx, ctx.tenant, {"name": "widgets", "columns": [{"name": "a"}]})
    table_service.create_table(ctx, ctx.tenant, {"name": "gadgets", "columns": [{"name": "b"}]})
    bad = {"name": "gadgets", "columns": [{"name": "b", "type": "no_such_type"}]}
    with ctx.engine.begin() as conn:
        update_table(conn, ctx.tenant, "gadgets", bad, utc_now())
    catalog = ctx.catalog_for(ctx.tenant)
    assert "widgets" in catalog and "projects" in catalog and "gadgets" not in catalog
    assert "gadgets" in caplog.text and "no_such_type" in caplog.text


def test_update_revert_export_and_bulk_on_a_custom_table(ctx: Context, tmp_path: Path) -> None:
    import io

    from loadbay.service import bulk
    from loadbay.service.leases import open_leases
    from loadbay.service.revert import revert_import

    path = messy_csv(tmp_path)
    (found,) = table_service.infer_sources(ctx.settings, [source(path)])
    table_service.create_table(ctx, ctx.tenant, table_spec(found.table))
    first = run(ctx, path, "customers", found.mapping)
    changed = tmp_path / "changed.csv"
    changed.write_text("Customer ID,Name\n1,Annie\n", encoding="utf-8")
    second = run(ctx, changed, "customers", {"Customer ID": "customer_id"})
    assert second.counts.updated == 1
    revert_import(ctx, second.id)
    names = {r["customer_id"]: r["name"] for r in table_service.records(ctx, "customers")}
    assert names[1] == "Anne"
    out = io.StringIO()
    assert table_service.export_table(ctx, "customers", out) == 4
    assert out.getvalue().splitlines()[1].startswith("1,Anne,anne@example.com,1990-01-05")
    leases = open_leases(ctx.settings)
    record = {"customer_id": 9, "name": "Ed", "signed_up": "02/03/2001", "balance": "1"}
    record |= {"active": "no", "currency": "EUR"}
    try:
        answer = bulk.bulk_records(ctx, leases, ctx.tenant, "customers", [record])
    finally:
        leases.close()
    assert not answer.failed, answer
    revert_import(ctx, first.id, force=True)
    assert [r["customer_id"] for r in table_service.records(ctx, "customers")] == [9]
