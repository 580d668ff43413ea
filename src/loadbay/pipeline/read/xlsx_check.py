"""A workbook measured before calamine loads it, within bounded memory.

calamine allocates a sheet as a grid from A1 to its farthest cell (and reserves the
grid its declared ``<dimension>`` names): one cell at ``XFD1048576`` in a 5 KB file
asks for 512 GiB and aborts the process. So before a workbook is handed over:

* it must be a readable zip (a file that starts with ``PK`` and is not one is
  unreadable), whose parts together decompress to at most ``limits.expanded_bytes``;
* every part is decompressed as a stream, its bytes counted (the zip module stops at
  the declared size and checks the CRC, so a part cannot expand beyond it unseen);
* in every XML part, the declared dimension and the cell references (``r="…"``) are
  read block by block, and a grid of more than ``limits.sheet_cells`` cells raises
  LimitExceeded naming its farthest cell;
* the parts that hold an error cell (``t="e"``) are noted, for ``xlsx_cells`` to
  find them (calamine gives an error cell as an empty one).

Cell references are found by regular expressions over the raw bytes, not by an XML
parser (many times faster; entities are never expanded, nothing is loaded): the
last reference of a block gives the candidate farthest row and column (rows are in
order in a regular sheet), and one search for anything beyond them confirms it.
Legacy ``.xls`` files (not zips) are not measured.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from typing import IO

import polars as pl

from loadbay.errors import UnreadableFile
from loadbay.pipeline.read.limits import Limits, over

_BLOCK = 1024 * 1024
_ZIP = b"PK"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="(?:[A-Za-z]+\d+:)?([A-Za-z]+)(\d+)"')
_REF = re.compile(rb' r="([A-Za-z]{0,3})(\d{1,9})"')
_COLUMNS = re.compile(rb' r="([A-Za-z]+)\d')
_ROWS = re.compile(rb' r="[A-Za-z]*(\d+)"')
#: a start tag of a cell or a row without an ``r`` attribute (ASCII classes only, no \b
#: or \w: polars' regular expressions stay on their fast engine)
_SPACE = rb"[ \t\r\n]"
_NOT_R = rb"(?:[A-Za-qs-z_:][^ \t\r\n=>]*|r[^ \t\r\n=>]+)"  # an attribute name, not r
_VALUE = rb"""(?:"[^"]*"|'[^']*')"""
_ATTRIBUTES = rb"(?:%s+%s%s*=%s*%s)*%s*/?>" % (_SPACE, _NOT_R, _SPACE, _SPACE, _VALUE, _SPACE)
LOOSE = rb"<(?:[A-Za-z0-9_]+:)?(?:c|row)" + _ATTRIBUTES
_LOOSE_ROWS = re.compile(rb"<(?:[A-Za-z0-9_]+:)?row" + _ATTRIBUTES)
_ROW_SPLIT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?row[ \t\r\n/>]")
_CELL_TAGS = re.compile(rb"<(?:[A-Za-z0-9_]+:)?c[ \t\r\n/>]")
#: the type attribute of an error cell
ERROR_TYPE = rb"""[ \t\r\n]t[ \t\r\n]*=[ \t\r\n]*["']e["']"""


def check_workbook(file: IO[bytes], limits: Limits, source: str) -> set[str]:
    """Raise UnreadableFile or LimitExceeded for a workbook calamine must not load;
    else the XML parts that hold error cells."""
    if file.read(2) != _ZIP:
        return set()  # a legacy .xls: calamine's own checks only
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as book:
            parts = book.infolist()
            total = sum(p.file_size for p in parts)
            if total > limits.expanded_bytes:
                what = f"the workbook expands to {total:,} bytes"
                raise over(source, what, "expanded_bytes", limits.expanded_bytes)
            return {p.filename for p in parts if _check_part(book, p, limits, source)}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise UnreadableFile(
            f"{source}: not a readable Excel workbook ({exc})", file=source
        ) from exc


def _check_part(book: zipfile.ZipFile, part: zipfile.ZipInfo, limits: Limits, src: str) -> bool:
    """Measure one part: whether it holds error cells."""
    grid = Grid(limits, src, part.filename) if part.filename.endswith(".xml") else None
    tail = b""
    with book.open(part) as stream:
        while block := stream.read(_BLOCK):
            if grid is not None:
                block = tail + block
                cut = block.rfind(b">") + 1
                tail = block[cut:][-4096:]  # an unfinished tag; more is not a reference
                grid.feed(block[:cut])
    return grid is not None and grid.errors


class Grid:
    """The farthest row and column of the cells referred to in one XML part."""

    def __init__(self, limits: Limits, source: str, part: str) -> None:
        self.limits = limits
        self.source = source
        self.part = part
        self.rows = 0
        self.columns = 0
        self.dimension = False  # seen (it comes before the cells)
        self.loose_rows = 0  # rows without a reference
        self.loose_columns = 0  # the most cells in a row, when some have no reference
        self.open_row = 0  # cells of the row the last block ended in
        self.errors = False  # an error cell seen

    def feed(self, block: bytes) -> None:
        if not self.dimension:
            found = _DIMENSION.search(block)
            if found is not None:
                self.dimension = True
                self._check(column_number(found[1]), int(found[2]), "declares a dimension up to")
        last = block.rfind(b' r="')
        ref = _REF.match(block, last) if last >= 0 else None
        rows, columns = self.rows, self.columns
        if ref is not None:
            rows = max(rows, int(ref[2]))
            columns = max(columns, column_number(ref[1]) if ref[1] else 0)
        text = text_of(block)
        if not columns or found_in(rb' r="(?i:' + letters_above(columns) + rb")[0-9]", block, text):
            columns = max([columns, *map(column_number, set(_COLUMNS.findall(block)))])
        if found_in(rb' r="[A-Za-z]*0*' + number_above(rows) + b'"', block, text):
            rows = max([rows, *map(int, set(_ROWS.findall(block)))])
        self.rows, self.columns = rows, columns
        self._unreferenced(block, text)
        if not self.errors and (b'"e"' in block or b"'e'" in block):  # bytes first: fast
            self.errors = found_in(ERROR_TYPE, block, text)
        rows, columns = rows + self.loose_rows, columns + self.loose_columns
        self._check(columns, rows, "has a cell at")
        if columns > self.limits.columns:
            what = f"{self.part} has a cell in column {column_letters(columns)} ({columns:,})"
            raise over(self.source, what, "columns", self.limits.columns)

    def _unreferenced(self, block: bytes, text: pl.Series | None) -> None:
        """Cells and rows without a reference take the place after the one before: a
        row of them widens the grid by its length, each such row lengthens it by one."""
        if not found_in(LOOSE, block, text):  # the common case: every one has its place
            self.open_row = 0
            return
        self.loose_rows += len(_LOOSE_ROWS.findall(block))
        rows = _ROW_SPLIT.split(block)  # the first piece goes on with the open row
        counts = [len(_CELL_TAGS.findall(piece)) for piece in rows]
        counts[0] += self.open_row
        self.open_row = counts[-1]
        self.loose_columns = max(self.loose_columns, *counts)

    def _check(self, columns: int, rows: int, what: str) -> None:
        cells = max(columns, 1) * rows
        if cells > self.limits.sheet_cells:
            cell = f"{column_letters(columns)}{rows}"
            said = f"{self.part} {what} {cell}: a grid of {cells:,} cells"
            raise over(self.source, said, "sheet_cells", self.limits.sheet_cells)


def text_of(block: bytes) -> pl.Series | None:
    """The block as text for polars' regular expressions (many times faster than re's
    here), or None when it is not UTF-8."""
    try:
        return pl.Series([block], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        return None


def found_in(pattern: bytes, block: bytes, text: pl.Series | None) -> bool:
    if text is None:
        return re.search(pattern, block) is not None
    return bool(text.str.contains(pattern.decode()).item())


def column_number(letters: bytes) -> int:
    """``A`` → 1, ``Z`` → 26, ``AA`` → 27, ``XFD`` → 16384."""
    number = 0
    for byte in letters.upper():
        number = number * 26 + byte - 64
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters or "A"


def letters_above(number: int) -> bytes:
    """A pattern of the column letters after column ``number`` (case-insensitive)."""
    text = column_letters(number)
    alternatives = [b"[A-Z]{%d,}" % (len(text) + 1)]
    for i, letter in enumerate(text):
        if letter != "Z":
            rest = len(text) - i - 1
            after = b"[%s-Z]" % chr(ord(letter) + 1).encode()
            alternatives.append(text[:i].encode() + after + b"[A-Z]" * rest)
    return b"(?:" + b"|".join(alternatives) + b")"


def number_above(number: int) -> bytes:
    """A pattern of the decimal numbers greater than ``number`` (no leading zeros)."""
    text = str(number)
    alternatives = [rb"[1-9][0-9]{%d,}" % len(text)]
    for i, digit in enumerate(text):
        if digit != "9":
            rest = len(text) - i - 1
            after = b"[%d-9]" % (int(digit) + 1)
            alternatives.append(text[:i].encode() + after + b"[0-9]" * rest)
    return b"(?:" + b"|".join(alternatives) + b")"
