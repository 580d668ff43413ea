"""Messy workbooks and XML over the HTTP API (issue 16), on SQLite and PostgreSQL: files
written by openpyxl, xlsxwriter and lxml, uploaded and imported by a real server."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from lxml import etree

from tests.api.helpers import records, results, run, upload
from tests.api.server import Server
from tests.pipeline.test_read_xlsx_messy import (
    _in_alternate_content,
    _rewrite_workbook,
    by_openpyxl,
    by_xlsxwriter,
)

STATIONS = [
    ["Station log", None],
    [],
    ["station", "taken_at", "temperature", "kind"],
    ["north", datetime(2024, 1, 15, 8, 0, 0, 500000), 1.25, "manual"],
    ["south", datetime(2024, 1, 15, 9, 0), ("=NA()", "#N/A"), ("=A1+1", "#VALUE!")],
    ["west", datetime(2024, 2, 29, 23, 59, 59), -2, "automatic"],
]


def test_1904_flag_in_an_extension_and_error_cells(server: Server, tmp_path: Path) -> None:
    plain = by_openpyxl(tmp_path / "log.xlsx", STATIONS, True)
    book = _rewrite_workbook(plain, _in_alternate_content)
    with server.http("workbooks", "write") as client:
        up = upload(client, book, "log.xlsx")
        done = run(
            server, client, upload_id=up["id"], table="measurements", error_handling="lenient"
        )
        assert done["state"] == "partially_succeeded", done
        assert done["counts"]["created"] == 2
        assert any("the header is row 3 of sheet 'Data'" in w for w in done["warnings"])
        failed = results(client, done["id"], outcome="failed")
        assert [r["row"] for r in failed] == [2]
        errors = {(e["column"], e["code"], e["value"]) for e in failed[0]["errors"]}
        assert errors == {
            ("temperature", "cell_error", "#N/A"),
            ("kind", "cell_error", "#VALUE!"),
        }
        taken = {r["station"]: r["taken_at"] for r in records(client, "measurements")}
        assert set(taken) == {"north", "west"}
        assert taken["north"].startswith("2024-01-15") and "08:00:00.5" in taken["north"]
        assert taken["west"].startswith("2024-02-29") and "23:59:59" in taken["west"]
        report = client.get(f"/v1/imports/{done['id']}/results", headers={"Accept": "text/csv"})
        rows = list(csv.DictReader(io.StringIO(report.text)))
        assert len(rows) == 1 and "#N/A" in rows[0]["error"], report.text


def test_sheet_and_header_row_options(server: Server, tmp_path: Path) -> None:
    rows = [["Visits"], ["station", "visited_on"], ["north", datetime(2024, 3, 1)]]
    book = by_xlsxwriter(tmp_path / "visits.xlsx", rows, True)
    with server.http("sheets", "write") as client:
        up = upload(client, book)
        options = {"sheet": "Data", "header_row": 2}
        done = run(
            server, client, upload_id=up["id"], table="visits", mode="append", options=options
        )
        assert done["state"] == "succeeded", done
        assert not done["warnings"]
        found = [(r["station"], r["visited_on"]) for r in records(client, "visits")]
        assert found == [("north", "2024-03-01")]
        wrong = run(
            server, client, upload_id=up["id"], table="visits", mode="append",
            options={"sheet": "Nope"},
        )  # fmt: skip
        assert wrong["state"] == "failed" and wrong["error"]["code"] == "invalid_option"


def test_namespaced_xml(server: Server) -> None:
    ns = "urn:example:crm"
    root = etree.Element(f"{{{ns}}}export", nsmap={None: ns})
    for name, days in (("Apex", ["3", ""]), ("Nadir", ["4", "5"])):
        company = etree.SubElement(root, f"{{{ns}}}company")
        etree.SubElement(company, f"{{{ns}}}name").text = name
        for value in days:
            etree.SubElement(company, f"{{{ns}}}due_days").text = value or None
    content = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with server.http("xml", "write") as client:
        up = client.post("/v1/uploads", params={"filename": "c.xml"}, content=content).json()
        done = run(server, client, upload_id=up["id"], table="companies", error_handling="lenient")
        assert done["counts"]["created"] == 1, done
        failed = results(client, done["id"], outcome="failed")
        assert [(r["row"], [e["column"] for e in r["errors"]]) for r in failed] == [
            (2, ["due_days"])
        ]
        assert {r["name"]: r["due_days"] for r in records(client, "companies")} == {"Apex": 3}
