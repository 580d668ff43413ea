"""Every format and encoding reaches the table with the same values."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import xlsxwriter

from loadbay.service.context import Context
from tests.service.helpers import by_key, run

ROWS = [("Café Müller", "EUR", "30"), ("Globex, Inc.", "USD", "14")]
EXPECTED = {"Café Müller": ("EUR", 30), "Globex, Inc.": ("USD", 14)}


def _csv(sep: str) -> str:
    lines = [sep.join(["name", "default_currency", "due_days"])]
    lines += [sep.join(f'"{v}"' if sep in v else v for v in row) for row in ROWS]
    return "\r\n".join(lines) + "\r\n"


def _records() -> list[dict[str, object]]:
    return [{"name": n, "default_currency": c, "due_days": int(d)} for n, c, d in ROWS]


def _xml() -> str:
    items = "".join(
        f'<company due_days="{d}"><name>{n.replace("&", "&amp;")}</name>'
        f"<default_currency>{c}</default_currency></company>"
        for n, c, d in ROWS
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><companies>{items}</companies>'


def _xlsx(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Companies")
    sheet.write_row(0, 0, ["name", "default_currency", "due_days"])
    for i, (n, c, d) in enumerate(ROWS, start=1):
        sheet.write_row(i, 0, [n, c, int(d)])
    book.close()


FILES = {
    "comma.csv": lambda: _csv(",").encode(),
    "semicolon.csv": lambda: _csv(";").encode(),
    "pipe.csv": lambda: _csv("|").encode(),
    "tab.tsv": lambda: _csv("\t").encode(),
    "bom.csv": lambda: b"\xef\xbb\xbf" + _csv(",").encode(),
    "utf16.csv": lambda: _csv(",").encode("utf-16"),
    "cp1252.csv": lambda: _csv(",").encode("cp1252"),
    "rows.jsonl": lambda: "\n".join(json.dumps(r) for r in _records()).encode(),
    "rows.json": lambda: json.dumps(_records()).encode(),
    "rows.xml": lambda: _xml().encode(),
    "comma.csv.gz": lambda: gzip.compress(_csv(",").encode()),
    "rows.jsonl.gz": lambda: gzip.compress("\n".join(json.dumps(r) for r in _records()).encode()),
}


@pytest.mark.parametrize("name", [*FILES, "book.xlsx"])
def test_format_reaches_the_table(ctx: Context, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".xlsx"):
        _xlsx(path)
    else:
        path.write_bytes(FILES[name]())
    result = run(ctx, path, table="companies")
    assert result.state == "succeeded", result
    stored = by_key(ctx, "companies", "name")
    assert {k: (v["default_currency"], v["due_days"]) for k, v in stored.items()} == EXPECTED
