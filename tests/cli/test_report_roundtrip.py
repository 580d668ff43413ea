"""The fix-and-reimport loop: import, take the error report, fix only its failing cells,
import the report, and every row is in the table with exactly the values of the file."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli.test_cli import as_json, loadbay

SCHEMA = """
tables:
  - name: ledger
    key: [code]
    columns:
      - {name: code, type: text, required: true}
      - {name: amount, type: decimal, precision: 12, scale: 2}
      - {name: qty, type: integer}
      - {name: note, type: text}
      - {name: day, type: date}
  - name: expected
    key: [code]
    columns:
      - {name: code, type: text, required: true}
      - {name: amount, type: decimal, precision: 12, scale: 2}
      - {name: qty, type: integer}
      - {name: note, type: text}
      - {name: day, type: date}
"""
HEADER = ["code", "amount", "qty", "note", "day"]
#: rows of the file; the cells in FIXES are bad, every other cell is valid as it is
ROWS = [
    ["A1", "-3.5", "-5", "=SUM(A1:A3)", "2024-01-31"],
    ["A2", "abc", "-5", "-dash at the start", "2024-02-01"],
    ["A3", "+3.5", "oops", "-1e3", "2024-02-02"],
    ["-A4", "-0.25", "+7", "+plus", "2024-13-45"],
    ["=A5", "-1000", "-12", "@handle", ""],
    ["@A6", "1e3", "3", "\tindented", "2024-03-03"],
    ["A7", ".5", "-1", "-", "2024-03-04"],
    ["A8", "-.75", "x", "=cmd|' /C calc'!A0", "2024-03-05"],
    ["A9", "zz", "-9", "-1,5", ""],
]
FIXES = {("A2", "amount"): "-2.5", ("A3", "qty"): "-3", ("-A4", "day"): "2024-12-31"}
FIXES |= {("@A6", "amount"): "-1000.5", ("A8", "qty"): "-8", ("A9", "amount"): "-9.5"}
#: cells of the report: numbers as they are, anything else a spreadsheet would run neutralised
REPORTED = {
    ("A2", "qty"): "-5",
    ("A2", "note"): "'-dash at the start",
    ("A3", "amount"): "+3.5",
    ("A3", "note"): "-1e3",
    ("-A4", "code"): "'-A4",
    ("-A4", "amount"): "-0.25",
    ("-A4", "qty"): "+7",
    ("-A4", "note"): "'+plus",
    ("@A6", "code"): "'@A6",
    ("@A6", "note"): "'\tindented",
    ("A8", "amount"): "-.75",
    ("A8", "note"): "'=cmd|' /C calc'!A0",
    ("A9", "note"): "-1,5",
}


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _fixed(rows: list[list[str]]) -> list[list[str]]:
    return [
        [FIXES.get((row[0], name), cell) for name, cell in zip(HEADER, row, strict=True)]
        for row in rows
    ]


def _fix_report(report: Path, out: Path) -> int:
    """Replace only the failing cells of the report; the rest stays byte for byte as read."""
    with open(report, newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    header, rows = lines[0], lines[1:]
    assert header == [*HEADER, "error"]
    changed = 0
    for row in rows:
        code = row[0].removeprefix("'")  # the key itself may be neutralised in the report
        for i, name in enumerate(HEADER):
            if (code, name) in FIXES:
                row[i] = FIXES[(code, name)]
                changed += 1
    _write(out, header, rows)
    return changed


def _export(env: dict[str, str], table: str, out: Path) -> list[list[str]]:
    result = loadbay(env, "export", table, "--output", str(out))
    assert result.returncode == 0, result.stderr
    with open(out, newline="", encoding="utf-8") as handle:
        return sorted(csv.reader(handle))


def test_fixed_report_imports_with_the_original_values(env: dict[str, str], tmp_path: Path) -> None:
    schema = tmp_path / "ledger.yaml"
    schema.write_text(SCHEMA)
    env = {**env, "LOADBAY_SCHEMA": str(schema)}
    original, report, fixed = tmp_path / "ledger.csv", tmp_path / "errors.csv", tmp_path / "f.csv"
    _write(original, HEADER, ROWS)

    first = loadbay(
        env, "import", str(original), "--error-handling", "lenient", "--report", str(report)
    )
    assert first.returncode == 3, first.stdout + first.stderr
    with open(report, newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    cells = {
        (r[0].removeprefix("'"), n): c
        for r in lines[1:]
        for n, c in zip(HEADER, r[:-1], strict=True)
    }
    assert {k: cells[k] for k in REPORTED} == REPORTED
    assert _fix_report(report, fixed) == len(FIXES)

    again = loadbay(env, "import", str(fixed), "--table", "ledger", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    body = as_json(again)
    assert body["counts"]["created"] == len({code for code, _ in FIXES}), body
    assert body["counts"]["failed"] == 0

    clean = tmp_path / "expected.csv"
    _write(clean, HEADER, _fixed(ROWS))
    reference = loadbay(env, "import", str(clean), "--table", "expected", "--json")
    assert as_json(reference)["counts"]["created"] == len(ROWS), reference.stdout
    got, want = (
        _export(env, "ledger", tmp_path / "l.csv"),
        _export(env, "expected", tmp_path / "e.csv"),
    )
    assert got == want
    # the export neutralises text a spreadsheet would run, as the report does: the table
    # holds "=A5", the exported file "'=A5" (read back as "=A5"); numbers stay as they are
    by_code = {row[0]: row for row in got}
    assert by_code["'=A5"][1:4] == ["-1000.00", "-12", "'@handle"]
    assert (
        by_code["A8"][3] == "'=cmd|' /C calc'!A0" and by_code["'@A6"][3] == "indented"
    )  # text is stripped
    assert by_code["'-A4"][4] == "2024-12-31" and by_code["A3"][1:4] == ["3.50", "-3", "-1e3"]
