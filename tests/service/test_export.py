"""The export of a table as CSV: text cells a spreadsheet would run as a formula are
neutralised with a leading apostrophe (numbers and dates never), and the file imports
again with the stored values. Both databases, both import paths."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from loadbay.service import tables as table_service
from loadbay.service.context import Context
from tests.service.helpers import rows, run

COLUMNS = [
    {"name": "code", "type": "text", "required": True},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "qty", "type": "integer"},
    {"name": "note", "type": "text"},
    {"name": "day", "type": "date"},
]
HEADER = ["code", "amount", "qty", "note", "day"]
#: a file's cells; ``'=x`` imports as ``=x`` and ``''=x`` as ``'=x``
ROWS = [
    ["A1", "-3.5", "-5", "=SUM(A1:A3)", "2024-01-31"],
    ["-A2", "-0.25", "+7", "-5", "2024-02-01"],
    ["@A3", "", "", "+plus", ""],
    ["A4", "1000", "3", "@handle", "2024-03-03"],
    ["A5", "-1", "-1", "''=kept", ""],
    ["A6", "", "", "-5-3", ""],
    ["A7", "", "", "a=b", ""],
]
#: the exported cells: text a spreadsheet would run with an apostrophe, the rest as stored
EXPORTED = [
    ["A1", "-3.50", "-5", "'=SUM(A1:A3)", "2024-01-31"],
    ["'-A2", "-0.25", "7", "-5", "2024-02-01"],
    ["'@A3", "", "", "'+plus", ""],
    ["A4", "1000.00", "3", "'@handle", "2024-03-03"],
    ["A5", "-1.00", "-1", "''=kept", ""],
    ["A6", "", "", "'-5-3", ""],
    ["A7", "", "", "a=b", ""],
]


def _table(ctx: Context, name: str) -> None:
    table_service.create_table(ctx, ctx.tenant, {"name": name, "key": ["code"], "columns": COLUMNS})


def _file(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(lines)
    return path


def _values(ctx: Context, table: str) -> list[list[object]]:
    return [[r[n] for n in HEADER] for r in rows(ctx, table)]


def test_text_cells_a_spreadsheet_would_run_are_neutralised_and_import_again(
    ctx: Context, tmp_path: Path
) -> None:
    _table(ctx, "ledger")
    done = run(ctx, _file(tmp_path / "ledger.csv", ROWS), table="ledger")
    assert done.state == "succeeded", done
    stored = _values(ctx, "ledger")
    assert [r[3] for r in stored][:5] == ["=SUM(A1:A3)", "-5", "+plus", "@handle", "'=kept"]

    out = io.StringIO()
    assert table_service.export_table(ctx, "ledger", out) == len(ROWS)
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines == [HEADER, *EXPORTED]

    _table(ctx, "again")
    exported = tmp_path / "exported.csv"
    exported.write_text(out.getvalue(), encoding="utf-8")
    done = run(ctx, exported, table="again")
    assert done.state == "succeeded", done
    assert _values(ctx, "again") == stored
