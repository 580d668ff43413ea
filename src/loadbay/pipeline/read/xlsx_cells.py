"""What calamine does not say of a workbook's cells, read from its XML parts.

calamine (through fastexcel) gives a sheet as a grid of values, but an error cell
(``#DIV/0!``, ``#N/A``…) comes out as an empty one, a date-time and a duration look
alike in a column that mixes them, and the grid starts at the first filled cell with
no word of where that is. This module reads the parts of a (measured) ``.xlsx`` zip:

* ``workbook_facts``: the date system (``date1904`` on a ``workbookPr`` element,
  found by local name wherever it sits, extension elements included, as calamine
  does) and the part of each sheet, in workbook order (calamine's order);
* ``elapsed_styles``: the cell styles whose number format is elapsed time
  (``[h]:mm:ss``: a duration, not a time of day);
* ``scan_cells``: one pass over a sheet part that finds where the grid starts (the
  first row and column of a filled cell: the origin calamine's grid has) and the
  cells asked for: error cells with their value, and cells of the given styles.

Small parts (workbook, relationships, styles) are parsed by lxml without entities,
DTDs or network; a sheet is scanned by regular expressions over its bytes, block by
block, as ``xlsx_check`` measures it. Only workbooks that need it are scanned.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import polars as pl
from lxml import etree

from loadbay.pipeline.read.xlsx_check import ERROR_TYPE, LOOSE, column_number, found_in, text_of

_BLOCK = 1024 * 1024
_P = rb"(?:[A-Za-z0-9_.-]+:)?"  # a namespace prefix
#: a cell: its attributes, and its content unless it closes itself
_CELL = re.compile(rb"<" + _P + rb"c((?:\s[^>]*?)?)(?:/>|>(.*?)</" + _P + rb"c>)", re.DOTALL)
_ROW = re.compile(rb"<" + _P + rb"row((?:\s[^>]*?)?)/?>")
#: where a block can be cut: after a cell or a row
_CUT = re.compile(rb"</" + _P + rb"(?:c|row)>")
_REF = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{1,3})(\d{1,9})["']""")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["'](\d{1,9})["']""")
_TYPE = re.compile(rb"""\st\s*=\s*["']([A-Za-z]+)["']""")
_STYLE = re.compile(rb"""\ss\s*=\s*["'](\d{1,9})["']""")
_VALUE = re.compile(rb"<" + _P + rb"v(?:\s[^>]*)?>([^<]+)</" + _P + rb"v>")
_INLINE = re.compile(rb"<" + _P + rb"is[\s>/]")
_DATE1904 = re.compile(rb"""<""" + _P + rb"""workbookPr\s[^>]*?date1904\s*=\s*["'](?:1|true)["']""")
#: for polars (Rust regular expressions): a filled cell (a value or an inline string)
#: with its reference, and an error cell
_TP = r"(?:[A-Za-z0-9_.-]+:)?"
_FILLED = (
    rf"<{_TP}c(?:[ \t\r\n][^>]*?)?[ \t\r\n]r=[\"'][A-Za-z]+[0-9]+[\"'][^>]*>"
    rf"(?:<{_TP}f[^>]*/>|<{_TP}f[^>]*>[^<]*</{_TP}f>)?<{_TP}(?:v>[^<]|is[ \t\r\n>])"
)
_FILLED_REF = r"[ \t\r\n]r=[\"'](?<column>[A-Za-z]+)(?<row>[0-9]+)[\"']"
_ERROR_CELL = (
    rf"(?s)<{_TP}c(?:[ \t\r\n][^>]*)?[ \t\r\n]t[ \t\r\n]*=[ \t\r\n]*[\"']e[\"']"
    rf"(?:[^>]*[^/>])?>.*?</{_TP}c>"
)
_WORKBOOK = "xl/workbook.xml"
_OFFICE_DOCUMENT = "/officeDocument"
#: built-in number formats of elapsed time ([h]:mm:ss, mm:ss.0 is a time of day)
_ELAPSED_BUILTIN = {46}
_ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)
_QUOTED = re.compile(r'"[^"]*"|\\.')


@dataclass(frozen=True)
class WorkbookFacts:
    date1904: bool
    sheets: list[str]  # the part of each sheet, in workbook order ("" when not found)


@dataclass
class Cells:
    """What ``scan_cells`` found in a sheet: positions are 1-based (row, column)."""

    origin: tuple[int, int] | None = None  # the first filled row and column
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # → "#DIV/0!"
    styled: set[tuple[int, int]] = field(default_factory=set)  # cells of the given styles

    def in_row(self, row: int) -> int:
        """The error cells of a row."""
        return sum(1 for r, _ in self.errors if r == row) if self.errors else 0


def _parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False
    )
    return etree.fromstring(data, parser)


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _workbook_part(book: zipfile.ZipFile) -> str:
    """The workbook part named by the package's relationships (xl/workbook.xml)."""
    try:
        rels = _parse(book.read("_rels/.rels"))
    except (KeyError, etree.XMLSyntaxError):
        return _WORKBOOK
    for rel in rels:
        if str(rel.get("Type", "")).endswith(_OFFICE_DOCUMENT):
            return str(rel.get("Target", _WORKBOOK)).lstrip("/")
    return _WORKBOOK


def _relationships(book: zipfile.ZipFile, part: str) -> dict[str, str]:
    """The targets of a part's relationships by id, as paths in the zip."""
    folder, name = posixpath.split(part)
    try:
        rels = _parse(book.read(posixpath.join(folder, "_rels", name + ".rels")))
    except (KeyError, etree.XMLSyntaxError):
        return {}
    targets: dict[str, str] = {}
    for rel in rels:
        target = str(rel.get("Target", ""))
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        targets[str(rel.get("Id", ""))] = posixpath.normpath(path)
    return targets


def workbook_facts(book: zipfile.ZipFile) -> WorkbookFacts:
    part = _workbook_part(book)
    try:
        data = book.read(part)
    except KeyError:
        return WorkbookFacts(False, [])
    date1904 = _DATE1904.search(data) is not None
    targets = _relationships(book, part)
    try:
        root = _parse(data)
    except etree.XMLSyntaxError:
        return WorkbookFacts(date1904, [])
    sheets: list[str] = []
    for group in root:
        if _local(group.tag) == "sheets":
            for sheet in group:
                rid = next((v for k, v in sheet.attrib.items() if _local(k) == "id"), "")
                sheets.append(targets.get(str(rid), ""))
    return WorkbookFacts(date1904, sheets)


def elapsed_styles(book: zipfile.ZipFile) -> set[int]:
    """The indexes of the cell styles (``cellXfs``) whose number format is elapsed time."""
    styles = next((n for n in book.namelist() if n.lower().endswith("styles.xml")), None)
    if styles is None:
        return set()
    try:
        root = _parse(book.read(styles))
    except etree.XMLSyntaxError:
        return set()
    elapsed = set(_ELAPSED_BUILTIN)
    for element in root.iter():
        if _local(element.tag) == "numFmt":
            code = _QUOTED.sub("", str(element.get("formatCode", "")))
            if _ELAPSED.search(code):
                elapsed.add(_number(element.get("numFmtId")))
    found: set[int] = set()
    for element in root.iter():
        if _local(element.tag) == "cellXfs":
            xfs = [x for x in element if _local(x.tag) == "xf"]
            found = {i for i, x in enumerate(xfs) if _number(x.get("numFmtId")) in elapsed}
    return found


def _number(text: str | None) -> int:
    """An attribute's whole number; -1 for anything else (a broken file is no crash)."""
    try:
        return int(text) if text is not None else -1
    except ValueError:
        return -1


def scan_cells(book: zipfile.ZipFile, part: str, styles: set[int]) -> Cells:
    """The origin of a sheet's grid, its error cells, and its cells of ``styles``: by
    polars' regular expressions when every cell has its reference and no style is
    asked for (many times faster), else cell by cell."""
    if part not in book.namelist():
        return Cells()
    if not styles:
        found = _scan_referenced(book, part)
        if found is not None:
            return found
    return _scan_each(book, part, styles)


def _scan_referenced(book: zipfile.ZipFile, part: str) -> Cells | None:
    """``scan_cells`` of a sheet whose cells all have a reference; None for another."""
    cells = Cells()
    first_row = first_column = 0
    for block in _blocks(book, part):
        text = text_of(block)
        if text is None or found_in(LOOSE, block, text):
            return None
        refs = text.str.extract_all(_FILLED).explode().drop_nulls()
        if refs.len():
            parts = refs.str.extract_groups(_FILLED_REF)
            if not first_row:
                first_row = int(parts.struct.field("row").cast(pl.Int64).min())  # type: ignore[arg-type]
            letters = parts.struct.field("column").unique().to_list()
            least = min(column_number(x.encode()) for x in letters)
            first_column = min(first_column, least) if first_column else least
        if found_in(ERROR_TYPE, block, text):
            for raw in text.str.extract_all(_ERROR_CELL).explode().drop_nulls().to_list():
                ref = _REF.search(raw.encode())
                value = _VALUE.search(raw.encode())
                if ref is not None and value is not None:
                    where = (int(ref[2]), column_number(ref[1]))
                    cells.errors[where] = value[1].decode("utf-8", "replace")
    if first_row:
        cells.origin = (first_row, first_column)
    return cells


def _scan_each(book: zipfile.ZipFile, part: str, styles: set[int]) -> Cells:
    """``scan_cells``, cell by cell."""
    cells = Cells()
    first_row = first_column = 0
    for row, column, attributes, content in _cells(book, part):
        filled = content is not None and (
            _VALUE.search(content) is not None or _INLINE.search(content) is not None
        )
        if filled:
            if not first_row:
                first_row, first_column = row, column
            first_column = min(first_column, column)
        kind = _TYPE.search(attributes)
        if filled and kind is not None and kind[1] == b"e":
            value = _VALUE.search(content or b"")
            cells.errors[(row, column)] = value[1].decode("utf-8", "replace") if value else ""
        style = _STYLE.search(attributes) if styles else None
        if style is not None and int(style[1]) in styles:
            cells.styled.add((row, column))
    if first_row:
        cells.origin = (first_row, first_column)
    return cells


def _cells(book: zipfile.ZipFile, part: str) -> Iterator[tuple[int, int, bytes, bytes | None]]:
    """Every cell of a sheet part: row, column, attributes and content (None when the
    cell closes itself). A cell or row without a reference follows the one before."""
    row = column = 0
    for block in _blocks(book, part):
        rows = list(_ROW.finditer(block))
        index = 0
        for cell in _CELL.finditer(block):
            while index < len(rows) and rows[index].start() < cell.start():
                number = _ROW_NUMBER.search(rows[index][1])
                row = int(number[1]) if number else row + 1
                column = 0
                index += 1
            ref = _REF.search(cell[1])
            if ref is not None:
                column, row = column_number(ref[1]), int(ref[2])
            else:
                column += 1
            yield row, column, cell[1], cell[2]
        if index < len(rows):  # rows after the block's last cell
            for rest in rows[index:]:
                number = _ROW_NUMBER.search(rest[1])
                row, column = (int(number[1]) if number else row + 1), 0


def _blocks(book: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The part in blocks of whole cells (cut after a closing cell or row tag)."""
    tail = b""
    with book.open(part) as stream:
        while data := stream.read(_BLOCK):
            data = tail + data
            cut = _last_cut(data)
            yield data[:cut]
            tail = data[cut:]
    if tail:
        yield tail


def _last_cut(data: bytes) -> int:
    """Where the last closing cell or row tag of ``data`` ends (0: none)."""
    start = len(data)
    while start > 0:
        start = max(0, start - _BLOCK // 4)
        ends = [m.end() for m in _CUT.finditer(data, start)]
        if ends:
            return ends[-1]
    return 0
