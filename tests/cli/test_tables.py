"""``loadbay tables infer`` and ``import --create``/``--alter``: locally (both databases)
and against a server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from tests.cli.test_cli import as_json, loadbay

ROWS = [
    ["Order Ref", "Placed", "Total", "Gift", "Buyer e-mail", "Comment"],
    ["R-1", "03/01/2024", "10.00", "yes", "a@example.com", ""],
    ["R-2", "28/02/2024", "7.5", "no", "", "leave at door"],
    ["R-3", "31/12/2023", "1200", "No", "c@example.org", ""],
]


def _csv(path: Path, rows: list[list[str]], delimiter: str = ";") -> str:
    """``rows`` written by Python's csv module."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return str(path)


def test_infer_prints_a_schema_file_that_imports_the_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    orders = _csv(tmp_path / "orders.csv", ROWS)
    done = loadbay(env, "tables", "infer", orders)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# orders: 3 rows read")
    doc = yaml.safe_load(done.stdout)
    (table,) = doc["tables"]
    assert table["key"] == ["order_ref"]
    columns = {c["name"]: c for c in table["columns"]}
    assert columns["placed"] == {
        "name": "placed",
        "type": "date",
        "required": True,
        "format": "%d/%m/%Y",
    }
    assert columns["total"]["type"] == "decimal" and columns["total"]["scale"] == 2
    assert columns["gift"]["type"] == "boolean"
    assert columns["buyer_e_mail"] == {"name": "buyer_e_mail", "type": "email"}
    assert not (tmp_path / "data").exists()  # nothing opened, nothing created
    schema = tmp_path / "orders.yaml"
    schema.write_text(done.stdout, encoding="utf-8")
    imported = loadbay(env, "import", orders, "--schema", str(schema), "--json")
    body = as_json(imported)
    assert imported.returncode == 0 and body["counts"]["created"] == 3, body
    as_one = as_json(loadbay(env, "tables", "infer", orders, "--json", "--key", "Total"))
    assert as_one["tables"][0]["table"]["key"] == ["total"]
    assert as_one["tables"][0]["mapping"]["Order Ref"] == "order_ref"


def test_infer_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    missing = loadbay(env, "tables", "infer", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    orders = _csv(tmp_path / "orders.csv", ROWS)
    keyless = loadbay(env, "tables", "infer", orders, "--key", "Comment")
    assert keyless.returncode == 1
    assert "a key needs a value in every row" in keyless.stderr


def test_import_create_then_alter(path_env: dict[str, str], tmp_path: Path) -> None:
    orders = _csv(tmp_path / "orders.csv", ROWS)
    made = loadbay(path_env, "import", orders, "--create", "--json")
    body = as_json(made)
    assert made.returncode == 0, made.stderr
    assert body["counts"]["created"] == 3 and body["errors"] == []
    assert "created table orders" in made.stderr
    listed = as_json(loadbay(path_env, "tables", "--json"))
    names = [t["name"] for t in listed]
    assert "orders" in names and "companies" in names

    again = loadbay(path_env, "import", orders, "--create", "--json")
    assert again.returncode == 1 and "exists already" in again.stdout
    later = _csv(
        tmp_path / "orders-2.csv",
        [
            ["Order Ref", "Placed", "Total", "Gift", "Courier"],
            ["R-2", "28/02/2024", "8.25", "no", "DHL"],
            ["R-4", "1/3/2024", "3", "yes", "UPS"],
        ],
    )
    ignored = as_json(loadbay(path_env, "import", later, "--table", "orders", "--json"))
    assert ignored["counts"] == {**ignored["counts"], "created": 1, "updated": 1}
    altered = loadbay(path_env, "import", later, "--table", "orders", "--alter", "--json")
    body = as_json(altered)
    assert altered.returncode == 0, altered.stderr
    assert "added to table orders: courier" in altered.stderr
    assert body["counts"]["updated"] == 2
    exported = loadbay(path_env, "export", "orders", "--format", "jsonl")
    rows = {r["order_ref"]: r for r in map(json.loads, exported.stdout.splitlines())}
    assert rows["R-2"]["courier"] == "DHL" and rows["R-2"]["placed"] == "2024-02-28"
    builtin = loadbay(path_env, "import", later, "--table", "companies", "--alter", "--json")
    assert builtin.returncode == 1 and "not one you defined" in builtin.stdout


def test_import_create_without_a_key_appends(env: dict[str, str], tmp_path: Path) -> None:
    log = _csv(
        tmp_path / "Access Log.csv", [["when", "what"], ["2024-01-01", "x"], ["2024-01-01", "x"]]
    )
    done = loadbay(env, "import", log, "--create", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert as_json(done)["counts"]["created"] == 2
    shown = loadbay(env, "tables")
    assert "access_log" in shown.stdout


def test_create_against_a_server(remote_env: dict[str, str], tmp_path: Path) -> None:
    orders = _csv(tmp_path / "remote_orders.csv", ROWS)
    made = loadbay(remote_env, "import", orders, "--create", "--key", "Order Ref", "--json")
    assert made.returncode == 0, made.stdout + made.stderr
    assert as_json(made)["counts"]["created"] == 3
    later = _csv(tmp_path / "more.csv", [["Order Ref", "Courier"], ["R-1", "DHL"]])
    altered = loadbay(remote_env, "import", later, "--table", "remote_orders", "--alter", "--json")
    assert altered.returncode == 0, altered.stdout + altered.stderr
    assert as_json(altered)["counts"]["updated"] == 1


def test_infer_reads_as_import_does(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("My export, 2024\n\nname;amount\nA;1.5\nB;2\n", encoding="utf-8")
    done = loadbay(env, "tables", "infer", str(path), "--skip-lines", "2", "--json")
    (found,) = as_json(done)["tables"]
    assert [c["name"] for c in found["table"]["columns"]] == ["name", "amount"]
    assert found["table"]["columns"][1]["type"] == "decimal"


def _messy_files(tmp: Path) -> list[tuple[Path, list[str]]]:
    """Files of the issue's messy cases, written by real writers, each with the read
    options its import needs."""
    import openpyxl
    import xlsxwriter
    from lxml import etree

    found: list[tuple[Path, list[str]]] = []
    latin = tmp / "latin_shops.csv"
    latin.write_bytes(
        "name,since,fee\nCafé © Zoë,05/01/2020,1.5\nRené,31/12/2019,2\n".encode("latin-1")
    )
    found.append((latin, []))
    euro = tmp / "euro_prices.csv"
    euro.write_bytes("item;price;note\nTee;9.99;€ only\nMug;4.5;‘nice’\n".encode("cp1252"))
    found.append((euro, []))
    trailing = tmp / "trailing_rows.csv"
    trailing.write_text("code,qty,ok,\nA,1,yes,\nB,2,no,\nC,,Y,\n", encoding="utf-8")
    found.append((trailing, []))
    short = tmp / "short_rows.csv"
    short.write_text("code,email,day\nA,a@example.com,2024-01-02\nB\n", encoding="utf-8")
    found.append((short, []))
    quoted = tmp / "quoted_names.csv"
    quoted.write_text('id, name, amount\n1, "Smith, J", 10.25\n2, "Doe, A", 3\n', encoding="utf-8")
    found.append((quoted, []))
    twice = _csv(tmp / "twice_amounts.csv", [["ref", "amount", "amount"], ["x", "5", "6"]], ",")
    found.append((Path(twice), []))
    nul = tmp / "nul_notes.csv"
    nul.write_bytes(b"ref,note\nr1,hel\x00lo\nr2,ok\n")
    found.append((nul, []))
    commented = tmp / "commented.csv"
    commented.write_text("# exported\nref,when\n# a note\nr1,2024-03-01 10:00\n", encoding="utf-8")
    found.append((commented, ["--comment", "#"]))
    bare = _csv(tmp / "bare_rows.csv", [["Initech", "45"], ["Umbrella", "7"]], ",")
    found.append((Path(bare), ["--no-header"]))
    book = tmp / "stock_book.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["SKU", "Price", "Counted"])
    sheet.append(["X-1", 9.99, "01.02.2024"])
    sheet.append(["X-2", 19.5, "15.02.2024"])
    workbook.save(book)
    found.append((book, []))
    other = tmp / "other_book.xlsx"
    with xlsxwriter.Workbook(str(other)) as written:
        ws = written.add_worksheet()
        for r, row in enumerate([["Name", "Joined", "Paid"], ["Ann", "2023-04-01", "TRUE"]]):
            ws.write_row(r, 0, row)
    found.append((other, []))
    ns = "urn:example:members"
    root = etree.Element(f"{{{ns}}}members", nsmap={"m": ns})
    for name, mail in (("Ann", "ann@example.com"), ("Bo", "bo@example.org")):
        member = etree.SubElement(root, f"{{{ns}}}member")
        etree.SubElement(member, f"{{{ns}}}name").text = name
        etree.SubElement(member, f"{{{ns}}}mail").text = mail
    xml = tmp / "xml_members.xml"
    xml.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    found.append((xml, []))
    return found


def test_each_messy_file_imports_into_its_inferred_table(
    env: dict[str, str], tmp_path: Path
) -> None:
    for path, options in _messy_files(tmp_path):
        done = loadbay(env, "import", str(path), "--create", *options, "--json")
        assert done.returncode == 0, (path.name, done.stdout, done.stderr)
        body = as_json(done)
        assert body["errors"] == [] and body["counts"]["failed"] == 0, (path.name, body)
        assert body["counts"]["created"] >= 1, (path.name, body)


def test_create_refuses_a_dry_run_and_a_file_of_several_tables(
    env: dict[str, str], tmp_path: Path
) -> None:
    orders = _csv(tmp_path / "orders.csv", ROWS)
    dry = loadbay(env, "import", orders, "--create", "--dry-run")
    assert dry.returncode == 1 and "--dry-run writes nothing" in dry.stderr
    several = tmp_path / "both.json"
    several.write_text(
        json.dumps({"shops": [{"name": "a"}], "staff": [{"email": "x@example.com"}]}),
        encoding="utf-8",
    )
    refused = loadbay(env, "import", str(several), "--table", "mix", "--create")
    assert refused.returncode == 1 and "the file holds several (shops, staff)" in refused.stderr
    assert "orders" not in loadbay(env, "tables").stdout  # nothing was made
