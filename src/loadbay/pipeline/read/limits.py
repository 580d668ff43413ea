"""The limits of what a file may hold, and the checks every reader shares.

A file over a limit raises LimitExceeded (code ``limit_exceeded``) naming the limit,
its value and where the file went over it, as soon as it is found and before the
memory or time it would take is spent: decompressed bytes are counted as they come
(``source``), lines are read at most one limit long, a JSON document's nesting is
followed as its bytes stream by (``JsonGuard``), a workbook's sheets are measured
before they are loaded (``xlsx_check``). Defaults are safe; the service sets them
from the LOADBAY_MAX_* settings (``limits_of``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Protocol

from loadbay.errors import InvalidOption, LimitExceeded

if TYPE_CHECKING:
    from loadbay.config import Settings


@dataclass(frozen=True)
class Limits:
    #: decompressed bytes of a compressed file (a gzip file, the parts of a workbook)
    expanded_bytes: int = 8 << 30
    line_bytes: int = 64 << 20  # a line (a JSON Lines record, a CSV record, a header)
    field_bytes: int = 16 << 20  # one value (a JSON string, a CSV field)
    columns: int = 10_000  # the fields of a file (or of one table of a JSON file)
    json_depth: int = 64  # nested arrays and objects of a JSON value
    sheet_cells: int = 10_000_000  # rows x columns of a sheet, up to its last cell

    def check(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 1:
                raise InvalidOption(f"the limit {f.name} must be at least 1", option=f.name)


#: the setting (and LOADBAY_* variable) behind each limit
SETTINGS = {
    "expanded_bytes": "max_expanded_bytes",
    "line_bytes": "max_line_bytes",
    "field_bytes": "max_field_bytes",
    "columns": "max_columns",
    "json_depth": "max_json_depth",
    "sheet_cells": "max_sheet_cells",
}


def limits_of(settings: Settings) -> Limits:
    """The limits the settings give (decompressed bytes: ``Settings.expanded_limit``)."""
    return Limits(
        expanded_bytes=settings.expanded_limit,
        line_bytes=settings.max_line_bytes,
        field_bytes=settings.max_field_bytes,
        columns=settings.max_columns,
        json_depth=settings.max_json_depth,
        sheet_cells=settings.max_sheet_cells,
    )


def over(source: str, what: str, limit: str, value: int) -> LimitExceeded:
    """The error of ``source`` going over ``limit`` (a field of Limits) = ``value``."""
    setting = SETTINGS[limit]
    return LimitExceeded(
        f"{source}: {what}, over the limit {setting} = {value:,} (LOADBAY_{setting.upper()})",
        file=source,
        limit=setting,
        value=value,
    )


_OPENS = (ord("["), ord("{"))
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def check_depth(text: bytes, limit: int, source: str, where: str, depth: int = 0) -> int:
    """Raise when the arrays and objects of ``text`` nest deeper than ``limit``; the
    depth at its end. ``depth``: the depth at its start. Strings are skipped. Cheap
    unless the text has more brackets than the limit: callers count them first."""
    structure = _STRING.sub(b"", text) if b'"' in text else text
    return _walk(structure.translate(None, _NOT_BRACKETS), limit, source, where, depth)[0]


def _walk(shape: bytes, limit: int, source: str, where: str, depth: int) -> tuple[int, int, bool]:
    """The depth at the end of ``shape`` (brackets, and quotes: brackets between an odd
    and an even one are in a string), the lowest on the way, and whether a string is
    left open."""
    low = depth
    in_string = False
    for byte in shape:
        if byte == _QUOTE:
            in_string = not in_string
        elif in_string:
            continue
        elif byte in _OPENS:
            depth += 1
            if depth > limit:
                what = f"{where} nests deeper than {limit} levels"
                raise over(source, what, "json_depth", limit)
        else:
            depth -= 1
            low = min(low, depth)
    return depth, low, in_string


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_SHAPE = bytes(b for b in range(256) if b not in b'[]{}"')
_QUOTE = ord('"')
_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # an escape pair, in a string
_QUOTED = re.compile(rb'"[^"]*"')  # a string, in a shape (its brackets only)


def brackets(text: bytes) -> int:
    """How many arrays and objects ``text`` opens (strings included: an upper bound)."""
    return text.count(b"[") + text.count(b"{")


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class JsonGuard:
    """A JSON byte stream, read through: its nesting, string lengths and record sizes
    checked as the bytes go by, so that a parser never builds a value deeper or longer
    than the limits.

    Each block is boiled down at C speed to its quotes and brackets (escaped quotes and
    backslashes dropped first), adjacent quotes dropped in pairs (which keeps every
    bracket inside or outside its string), pairs ``{}``/``[]`` dropped level by level;
    a walk byte by byte is left for blocks that could reach the limit or that have
    brackets inside strings. A record (a value at ``record_depth``) may span at most
    ``line_bytes``, a string ``field_bytes``.
    """

    def __init__(self, stream: Readable, limits: Limits, source: str, record_depth: int) -> None:
        self._stream = stream
        self._limits = limits
        self._source = source
        self._record_depth = record_depth
        self._depth = 0
        self._in_string = False
        self._carry = b""  # backslashes at the end of the last block (they escape on)
        self._string = 0  # bytes of the string still open, at most
        self._record = 0  # bytes of the record still open, at most

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._scan(self._carry + data if self._carry else data, final=not data)
        return data

    def _scan(self, data: bytes, final: bool) -> None:
        self._carry = b""
        if b"\\" in data:
            kept = data.rstrip(b"\\")
            if not final and len(kept) < len(data):
                self._carry, data = data[len(kept) :], kept
            data = _ESCAPE.sub(b"", data)
        shape = data.translate(None, _NOT_SHAPE)
        if self._in_string:
            shape = b'"' + shape
        shape = shape.replace(b'""', b"")
        in_string = False
        if b'"' in shape:  # brackets inside strings, or a string left open
            shape = _QUOTED.sub(b"", shape)
            quote = shape.find(b'"')
            in_string = quote >= 0
            if in_string:
                shape = shape[:quote]
        start, limit = self._depth, self._limits.json_depth
        reduced = _reduce(shape, limit - start)
        if reduced is None:
            self._depth, low, _ = _walk(shape, limit, self._source, "the JSON", start)
        else:
            self._depth = start + 2 * (shape.count(b"[") + shape.count(b"{")) - len(shape)
            low = start - reduced.count(b"]") - reduced.count(b"}")
        self._in_string = in_string
        self._measure(data, low)

    def _measure(self, data: bytes, low: int) -> None:
        """Count the bytes of the string and of the record open at the end of the block."""
        limits, size = self._limits, len(data)
        if self._in_string:
            last = data.rfind(b'"')
            self._string = size - last if last >= 0 else self._string + size
            if self._string > limits.field_bytes:
                what = f"a string is longer than {limits.field_bytes:,} bytes"
                raise over(self._source, what, "field_bytes", limits.field_bytes)
        else:
            self._string = 0
        if self._depth < self._record_depth:
            self._record = 0
        else:
            self._record = size if low < self._record_depth else self._record + size
        if self._record > limits.line_bytes:
            what = f"a record is longer than {limits.line_bytes:,} bytes"
            raise over(self._source, what, "line_bytes", limits.line_bytes)


def _reduce(shape: bytes, room: int) -> bytes | None:
    """``shape`` (brackets only) without its pairs ``{}``/``[]``, removed pass by pass
    (each replace takes one level at most): what is left is closes, then opens. None
    when the nesting may go more than ``room`` above its start (then only the exact
    walk can tell)."""
    levels = 0
    while True:
        reduced = shape.replace(b"{}", b"").replace(b"[]", b"")
        if len(reduced) == len(shape):
            break
        shape, levels = reduced, levels + 2
        if levels > room:
            return None
    if levels + shape.count(b"[") + shape.count(b"{") > room:
        return None
    return shape


def check_columns(count: int, limits: Limits, source: str) -> None:
    if count > limits.columns:
        raise over(source, f"{count:,} columns", "columns", limits.columns)
