"""xlsx_cells: the scan of a sheet part, fast (polars) and cell by cell, agree."""

from __future__ import annotations

import io
import zipfile

import pytest

from loadbay.pipeline.read.xlsx_cells import Cells, _scan_each, scan_cells

SHEETS = {
    "plain": (
        '<row r="2"><c r="B2" s="1"/><c r="C2" t="s"><v>0</v></c></row>'
        '<row r="3"><c r="C3" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D3"><v>1</v></c></row>'
    ),
    "prefixed": (
        '<x:row r="4"><x:c r="E4" t="e"><x:v>#N/A</x:v></x:c></x:row>'
        '<x:row r="5"><x:c r="D5" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c></x:row>'
    ),
    "decoys": (  # an attribute that reads like a reference, an error cell with no value
        '<row r="1"><c nr="A1" r="C1"><v>1</v></c><c r="B1" t="e"/>'
        '<c r="D1" fmt="e"><v>2</v></c><c r="E1" t="e"><v>#REF!</v></c></row>'
    ),
}
EXPECTED = {
    "plain": Cells(origin=(2, 3), errors={(3, 3): "#DIV/0!"}),
    "prefixed": Cells(origin=(4, 4), errors={(4, 5): "#N/A"}),
    "decoys": Cells(origin=(1, 3), errors={(1, 5): "#REF!"}),
}


@pytest.mark.parametrize("name", list(SHEETS))
def test_both_scans_agree(name: str) -> None:
    xml = f'<worksheet xmlns:x="urn:x"><sheetData>{SHEETS[name]}</sheetData></worksheet>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("xl/worksheets/sheet1.xml", xml)
    with zipfile.ZipFile(buffer) as book:
        fast = scan_cells(book, "xl/worksheets/sheet1.xml", set())
        each = _scan_each(book, "xl/worksheets/sheet1.xml", set())
    assert fast == each == EXPECTED[name]
