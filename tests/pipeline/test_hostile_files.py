"""Hostile files: each is refused with a coded error, found early, in bounded memory.

Every bomb is built here with a real writer (gzip, zipfile with raw sheet XML,
xlsxwriter, plain JSON text) and read in a child process whose address space is
capped (``RLIMIT_AS``), so that a reader that runs away fails there instead of taking
the machine down; the child reports the error and its peak memory: ``VmHWM`` of its
own image (``ru_maxrss`` is no good here: Linux carries over the peak of the image
before ``exec``, which for a child of pytest is pytest's).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from loadbay.config import Settings
from loadbay.pipeline.read import Limits, ReadOptions, limits_of, read_file

#: the child's address space: polars and calamine reserve ~1 GiB of it up front
ADDRESS_SPACE = 3 << 30
#: what a refusal may cost at most, peak resident memory of the whole child included
PEAK = 700 << 20
GB = 1 << 30
MB = 1 << 20

CHILD = """
import json, resource, sys
cap = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from pathlib import Path
from loadbay.errors import LoadbayError
from loadbay.pipeline.read import Limits, ReadOptions, read_file
options = json.loads(sys.argv[2])
limits = Limits(**options.pop("limits", {}))
out = {"code": None, "message": None, "rows": 0}
try:
    for batch in read_file(Path(sys.argv[1]), ReadOptions(limits=limits, **options)):
        out["rows"] += batch.frame.height
except LoadbayError as exc:
    out.update(code=exc.code, message=exc.message, details=exc.details)
status = Path("/proc/self/status").read_text().split("VmHWM:")[1]
out["peak"] = int(status.split()[0]) * 1024  # kB
print(json.dumps(out))
"""


def read_capped(path: Path, **options: Any) -> dict[str, Any]:
    """Read ``path`` in a capped child process: its error, rows read and peak memory."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), json.dumps(options), str(ADDRESS_SPACE)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, f"the reader died ({done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def refused(path: Path, limit: str | None, **options: Any) -> dict[str, Any]:
    """The child's refusal of ``path``: over ``limit`` (a setting), within PEAK."""
    result = read_capped(path, **options)
    if limit is None:
        assert result["code"] == "unreadable_file", result
    else:
        assert result["code"] == "limit_exceeded", result
        assert result["details"]["limit"] == limit, result
        assert limit in result["message"]
    assert result["message"].startswith(path.name + ": ")
    assert result["peak"] < PEAK, f"peak {result['peak'] / MB:.0f} MiB: {result}"
    return result


# ---- builders -------------------------------------------------------------------------
def gzip_bomb(path: Path, head: bytes, unit: bytes, size: int) -> Path:
    """``head`` then ``unit`` repeated to ``size`` bytes, gzip-compressed: one member of
    64 MiB written once and repeated (a valid multi-member gzip: ~10 MB for 10 GB)."""
    block = 64 * MB
    member = gzip.compress(unit * (block // len(unit)), compresslevel=9)
    with open(path, "wb") as out:
        out.write(gzip.compress(head))
        for _ in range(size // block):
            out.write(member)
    return path


def workbook_zip(path: Path, sheet_xml: bytes | None) -> Path:
    """A minimal .xlsx written part by part (raw XML): one sheet (None: not yet)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    types = "http://schemas.openxmlformats.org/package/2006/content-types"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{types}">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            "</Types>",
        )
        book.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        book.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" '
            f'xmlns:r="{rel}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        if sheet_xml is not None:
            book.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def sheet(cells: str, dimension: str | None = None) -> bytes:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">{dim}'
        f"<sheetData>{cells}</sheetData></worksheet>"
    ).encode()


def two_cells(far: str, row: int) -> str:
    """A header cell at A1 and a number at ``far`` (in row ``row``)."""
    return (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
        f'<row r="{row}"><c r="{far}"><v>1</v></c></row>'
    )


# ---- workbooks ------------------------------------------------------------------------
def test_a_cell_at_xfd1048576_is_refused_naming_the_cell(tmp_path: Path) -> None:
    book = workbook_zip(tmp_path / "far.xlsx", sheet(two_cells("XFD1048576", 1048576)))
    assert book.stat().st_size < 5000
    result = refused(book, "max_sheet_cells")
    assert "XFD1048576" in result["message"]


def test_a_cell_out_of_order_in_its_row_is_found(tmp_path: Path) -> None:
    """The farthest cell hidden among ordinary ones, in a row numbered low."""
    cells = "".join(f'<c r="{c}2"><v>1</v></c>' for c in ("A", "XFD", "B"))
    rows = '<row r="1"><c r="A1"><v>1</v></c></row>' + f'<row r="2">{cells}</row>'
    rows += '<row r="3"><c r="a2000000"><v>1</v></c></row>'  # lower case, far below
    book = workbook_zip(tmp_path / "hidden.xlsx", sheet(rows))
    assert "XFD2000000" in refused(book, "max_sheet_cells")["message"]


@pytest.mark.parametrize(
    "rows",
    [
        # a row of 20,000 cells without references, then a row numbered far below
        '<row r="1"><c r="A1"><v>1</v></c></row><row>'
        + "<c/>" * 20_000
        + '</row><row r="1048576"><c><v>1</v></c></row>',
        # 2,000,000 rows without references under a header ten columns wide
        '<row r="1"><c r="A1"><v>1</v></c><c r="J1"/></row>' + "<row><c/></row>" * 2_000_000,
    ],
    ids=["wide", "long"],
)
def test_cells_and_rows_without_references_are_counted(tmp_path: Path, rows: str) -> None:
    """They take the place after the one before (counted conservatively): they widen
    and lengthen the grid."""
    refused(workbook_zip(tmp_path / "loose.xlsx", sheet(rows)), "max_sheet_cells")


def test_a_declared_dimension_over_the_limit_is_refused(tmp_path: Path) -> None:
    """calamine reserves the grid the dimension declares, whatever the cells."""
    xml = sheet(two_cells("B2", 2), dimension="A1:XFD1048576")
    result = refused(workbook_zip(tmp_path / "dim.xlsx", xml), "max_sheet_cells")
    assert "dimension" in result["message"] and "XFD1048576" in result["message"]


def test_a_workbook_written_by_xlsxwriter_with_a_far_cell(tmp_path: Path) -> None:
    path = tmp_path / "xw.xlsx"
    book = xlsxwriter.Workbook(str(path))
    page = book.add_worksheet()
    page.write(0, 0, "name")
    page.write(1_048_575, 16_383, 1)
    book.close()
    assert "XFD1048576" in refused(path, "max_sheet_cells")["message"]


def test_a_sheet_under_the_cell_limit_is_read(tmp_path: Path) -> None:
    book = workbook_zip(tmp_path / "ok.xlsx", sheet(two_cells("C50", 50)))
    assert read_capped(book, limits={"sheet_cells": 150})["code"] is None
    assert refused(book, "max_sheet_cells", limits={"sheet_cells": 149})


def test_a_sheet_that_decompresses_to_2_gb_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.xlsx"
    workbook_zip(path, None)
    start, end = sheet(two_cells("B2", 2)).split(b"</sheetData>")
    blank = b" " * (64 * MB)
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as book,
        book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part,
    ):
        part.write(start)
        for _ in range(32):  # 2 GiB of blanks between two rows
            part.write(blank)
        part.write(b"</sheetData>" + end)
    assert path.stat().st_size < 20 * MB
    # the limit of a 100 MiB upload: 10 x
    result = refused(path, "max_expanded_bytes", limits={"expanded_bytes": 1 * GB})
    assert "expands to 2,147,4" in result["message"]


def test_pk_and_zeros_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "zeros.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(64 * MB))
    assert "not a readable Excel workbook" in refused(path, None)["message"]


def test_pk_and_gigabytes_of_zeros_gzipped_stop_at_the_limit(tmp_path: Path) -> None:
    path = gzip_bomb(tmp_path / "zeros.xlsx.gz", b"PK\x03\x04", b"\x00", 2 * GB)
    refused(path, "max_expanded_bytes", limits={"expanded_bytes": 256 * MB})


# ---- gzip -----------------------------------------------------------------------------
def test_a_jsonl_gzip_of_10_gb_of_spaces_on_one_line(tmp_path: Path) -> None:
    path = gzip_bomb(tmp_path / "spaces.jsonl.gz", b"", b" ", 10 * GB)
    assert path.stat().st_size < 12 * MB
    result = refused(path, "max_line_bytes")
    assert "line 1 is longer than 67,108,864 bytes" in result["message"]


def test_a_csv_gzip_of_10_gb_of_lines_stops_at_the_expanded_limit(tmp_path: Path) -> None:
    line = b"Acme Corporation,30,a company that sells everything\n"
    path = gzip_bomb(tmp_path / "lines.csv.gz", b"name,due_days,description\n", line, 10 * GB)
    result = refused(path, "max_expanded_bytes", limits={"expanded_bytes": 128 * MB})
    assert 0 < result["rows"] < 128 * MB // len(line)  # what came before the limit


def test_the_gzip_trailer_refuses_before_anything_is_expanded(tmp_path: Path) -> None:
    path = tmp_path / "one.csv.gz"
    path.write_bytes(gzip.compress(b"a\n" + b"1\n" * (50 * MB)))
    result = refused(path, "max_expanded_bytes", limits={"expanded_bytes": 10 * MB})
    assert result["rows"] == 0


def test_a_gzip_under_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "small.csv.gz"
    path.write_bytes(gzip.compress(b"a\n" + b"1\n" * 1000))
    exact = len(b"a\n" + b"1\n" * 1000)
    assert read_capped(path, limits={"expanded_bytes": exact})["rows"] == 1000
    refused(path, "max_expanded_bytes", limits={"expanded_bytes": exact - 1})


# ---- JSON -----------------------------------------------------------------------------
def test_a_json_nested_100000_deep(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert path.stat().st_size == 200_000
    assert "deeper than 64 levels" in refused(path, "max_json_depth")["message"]


@pytest.mark.parametrize(
    "template",
    ['[{"a": %s}]', '{"r1": {"a": %s}}', '{"companies": [{"a": %s}]}'],
    ids=["array", "refs", "tables"],
)
def test_a_deep_value_in_a_record(tmp_path: Path, template: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(template % ("[" * 5000 + "]" * 5000))
    refused(path, "max_json_depth")


def test_depth_at_the_limit_is_read_and_brackets_in_strings_do_not_count(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ok.json"
    records = [{"a": json.loads("[" * 7 + "]" * 7), "b": '[[[[[[[[[[{{{{{{\\"\\\\'}] * 3
    path.write_text(json.dumps(records))
    assert read_capped(path, limits={"json_depth": 9})["rows"] == 3
    refused(path, "max_json_depth", limits={"json_depth": 8})


def test_a_jsonl_whose_first_line_nests_deeply(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": ' + "[" * 50_000 + "]" * 50_000 + '}\n{"a": 1}\n')
    assert "line 1 nests deeper" in refused(path, "max_json_depth")["message"]


def test_a_jsonl_whose_third_line_nests_deeply(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    deep = '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
    path.write_text('{"a": 1}\n{"a": "[[[[[[[[[[[[[["}\n' + deep)
    assert "line 3 nests deeper" in refused(path, "max_json_depth")["message"]


# ---- long lines, long fields, many columns ---------------------------------------------
def test_a_csv_line_without_end(tmp_path: Path) -> None:
    path = gzip_bomb(tmp_path / "line.csv.gz", b"a,b\n", b"x", 1 * GB)
    assert "line is longer than" in refused(path, "max_line_bytes")["message"]


def test_a_csv_header_without_end(tmp_path: Path) -> None:
    path = gzip_bomb(tmp_path / "head.csv.gz", b'"', b"x", 1 * GB)
    assert "header is longer than" in refused(path, "max_line_bytes")["message"]


def test_a_long_csv_field_is_named_by_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "field.csv"
    path.write_bytes(b"a,b\n1,2\n3," + b"y" * (2 * MB) + b"\n")
    result = refused(path, "max_field_bytes", limits={"field_bytes": MB})
    assert "row 2, column 'b'" in result["message"]
    assert read_capped(path, limits={"field_bytes": 2 * MB})["rows"] == 2


def test_a_long_json_string(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps([{"a": "z" * (3 * MB)}]))
    refused(path, "max_field_bytes", limits={"field_bytes": MB})


def test_a_long_jsonl_string_and_line(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text('{"a": 1}\n' + json.dumps({"a": "z" * (3 * MB)}) + "\n")
    assert "line 2" in refused(path, "max_field_bytes", limits={"field_bytes": MB})["message"]
    refused(path, "max_line_bytes", limits={"line_bytes": 2 * MB})


def test_a_huge_json_record(tmp_path: Path) -> None:
    path = tmp_path / "wide.json"
    record = {f"k{i}": i for i in range(200_000)}
    path.write_text(json.dumps([{"a": 1}, record]))
    refused(path, "max_line_bytes", limits={"line_bytes": MB, "columns": 10**6})


@pytest.mark.parametrize("kind", ["csv", "csv quoted", "json", "jsonl", "xml"])
def test_too_many_columns(tmp_path: Path, kind: str) -> None:
    names = [f"c{i}" for i in range(20_001)]
    path = tmp_path / f"wide.{kind.split()[0]}"
    if kind == "csv":
        path.write_text(",".join(names) + "\n" + ",".join("1" * len(names)) + "\n")
    elif kind == "csv quoted":
        path.write_text(",".join(f'"{n}"' for n in names) + "\n")
    elif kind == "json":
        path.write_text(json.dumps([dict.fromkeys(names, 1)]))
    elif kind == "jsonl":
        path.write_text('{"a": 1}\n' + json.dumps(dict.fromkeys(names[1:], 1)) + "\n")
    else:
        path.write_text("<rows><r>" + "".join(f"<{n}>1</{n}>" for n in names) + "</r></rows>")
    assert "20,001 columns" in refused(path, "max_columns")["message"]


def test_a_wide_sheet(tmp_path: Path) -> None:
    cells = "".join(f'<c r="{c}1"><v>1</v></c>' for c in ("A", "B", "C", "D"))
    book = workbook_zip(tmp_path / "wide.xlsx", sheet(f'<row r="1">{cells}</row>'))
    refused(book, "max_columns", limits={"columns": 3})


# ---- limits from the settings ---------------------------------------------------------
def test_limits_come_from_the_settings() -> None:
    env = {
        "LOADBAY_MAX_UPLOAD_BYTES": str(10 * MB),
        "LOADBAY_MAX_LINE_BYTES": "1000",
        "LOADBAY_MAX_FIELD_BYTES": "100",
        "LOADBAY_MAX_COLUMNS": "7",
        "LOADBAY_MAX_JSON_DEPTH": "5",
        "LOADBAY_MAX_SHEET_CELLS": "99",
    }
    limits = limits_of(Settings.from_env(env))
    assert limits == Limits(100 * MB, 1000, 100, 7, 5, 99)
    capped = Settings.from_env({"LOADBAY_MAX_EXPANDED_BYTES": str(GB)})
    assert limits_of(capped).expanded_bytes == GB  # under 10 x the 1 GiB upload limit
    assert limits_of(Settings()) == Limits()


def test_a_limit_below_1_is_a_bad_option(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    with pytest.raises(Exception, match="json_depth must be at least 1"):
        read_file(path, ReadOptions(limits=Limits(json_depth=0)))


@pytest.mark.parametrize("record_tag", [None, "r"])
def test_an_xml_record_of_millions_of_elements(tmp_path: Path, record_tag: str | None) -> None:
    """lxml builds a record whole (~120 bytes an element): 16 MB of <a/> would be 500 MB;
    refused after 1,000,000 of them (~200 MB for the whole child here)."""
    path = tmp_path / "huge.xml"
    path.write_bytes(b"<rows><r><b>1</b></r><r>" + b"<a/>" * (4 * MB) + b"</r></rows>")
    options = {} if record_tag is None else {"record_tag": record_tag}
    result = refused(path, "max_columns", **options)
    assert "more than 1,000,000 elements" in result["message"]
    assert result["peak"] < 400 * MB
