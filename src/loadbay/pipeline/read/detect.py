"""Which format a file is in: its content first, then its name, else CSV."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import ijson

from loadbay.errors import UnsupportedFormat
from loadbay.pipeline.read.base import ReadOptions, normalise_format
from loadbay.pipeline.read.limits import Limits, brackets, check_depth
from loadbay.pipeline.read.source import (
    SAMPLE_SIZE,
    canonical,
    detect_encoding,
    io_errors,
    looks_binary,
    peek,
)

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".xml": "xml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
}
_XML_START = re.compile(r"<[?!A-Za-z_]")
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (calamine reads it too)
_NOT_DATA = {
    b"%PDF": "PDF document",
    b"\x89PNG": "PNG image",
    b"GIF8": "GIF image",
    b"\xff\xd8\xff": "JPEG image",
    b"\x1f\x8b": "gzip file inside a gzip file",
    b"7z\xbc\xaf": "7-Zip archive",
    b"Rar!": "RAR archive",
}


def detect_format(path: Path, options: ReadOptions) -> str:
    """The format of ``path``: ``options.format`` if set, else from content, then name.

    Content rules: zip (``PK``) or OLE → xlsx; text starting with a tag (``<x``,
    ``<?``, ``<!``) → xml; a whole JSON object on the first line and more lines after
    it → jsonl (one JSON document cannot be that); text starting with ``[`` or ``{``
    that parses as JSON → json (jsonl for a one-line ``.jsonl`` file). Known non-data
    files (PDF, images, archives, binary: control characters beyond a few NUL bytes)
    raise UnsupportedFormat.
    """
    if options.format:
        return normalise_format(options.format)
    with io_errors(path):
        head = peek(path, expanded=options.limits.expanded_bytes)
    found = _from_content(path, head, options.encoding, options.limits)
    return found or from_extension(path) or "csv"


def from_extension(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _EXTENSIONS.get(suffixes[-1]) if suffixes else None


def _from_content(path: Path, head: bytes, encoding: str | None, limits: Limits) -> str | None:
    if head.startswith((_ZIP, _OLE)):
        return "xlsx"
    for magic, kind in _NOT_DATA.items():
        if head.startswith(magic):
            raise UnsupportedFormat(
                f"{path.name}: this is a {kind}, not a data file", file=path.name
            )
    enc = canonical(encoding) if encoding else detect_encoding(head)
    text = head.decode(enc, errors="replace").lstrip("\ufeff \t\r\n")
    if looks_binary(text):
        raise UnsupportedFormat(
            f"{path.name}: this is a binary file, not CSV, JSON, XML or Excel", file=path.name
        )
    if not text:
        return None
    complete = len(head) < SAMPLE_SIZE
    if _XML_START.match(text):
        return "xml"
    if text[0] == "{" and _jsonl(text, limits, path.name):
        return "jsonl"
    if text[0] in "[{" and _json_start(text, complete):
        one_line_jsonl = text[0] == "{" and complete and from_extension(path) == "jsonl"
        return "jsonl" if one_line_jsonl else "json"
    return None


def _jsonl(text: str, limits: Limits, source: str) -> bool:
    """A whole JSON object on the first line, and more lines: JSON Lines."""
    first, _, rest = text.partition("\n")
    line = first.encode("utf-8")
    if brackets(line) > limits.json_depth:  # parsed deep, it would exhaust the stack
        check_depth(line, limits.json_depth, source, "line 1")
    try:
        return isinstance(json.loads(first), dict) and bool(rest.strip())
    except ValueError:
        return False


def _json_start(text: str, complete: bool) -> bool:
    """Whether the sample is JSON (or the start of it, when the sample is cut short)."""
    try:
        for _ in ijson.basic_parse(io.BytesIO(text.encode("utf-8"))):
            pass
    except ijson.JSONError as exc:
        return not complete and "premature EOF" in str(exc)
    return True
