"""Which format a file is in: its content first, then its name, else CSV."""

from __future__ import annotations

import json
from pathlib import Path

from loadbay.errors import UnsupportedFormat
from loadbay.pipeline.read.base import ReadOptions, normalise_format
from loadbay.pipeline.read.source import SAMPLE_SIZE, canonical, detect_encoding, io_errors, peek

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

    Content rules: zip (``PK``) or OLE → xlsx; first non-blank character ``<`` → xml,
    ``[`` → json, ``{`` → jsonl when the first line is a whole JSON object and more
    lines follow (one JSON document cannot be that), else json. Known non-data files (PDF, images,
    archives, binary with NUL bytes) raise UnsupportedFormat.
    """
    if options.format:
        return normalise_format(options.format)
    with io_errors(path):
        head = peek(path)
    return _from_content(path, head, options.encoding) or from_extension(path) or "csv"


def from_extension(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _EXTENSIONS.get(suffixes[-1]) if suffixes else None


def _from_content(path: Path, head: bytes, encoding: str | None) -> str | None:
    if head.startswith((_ZIP, _OLE)):
        return "xlsx"
    for magic, kind in _NOT_DATA.items():
        if head.startswith(magic):
            raise UnsupportedFormat(
                f"{path.name}: this is a {kind}, not a data file", file=path.name
            )
    enc = canonical(encoding) if encoding else detect_encoding(head)
    text = head.decode(enc, errors="replace").lstrip("\ufeff \t\r\n")
    if "\x00" in text:
        raise UnsupportedFormat(
            f"{path.name}: this is a binary file, not CSV, JSON, XML or Excel", file=path.name
        )
    if not text:
        return None
    first = text[0]
    if first == "<":
        return "xml"
    if first == "[":
        return "json"
    if first == "{":
        return _json_or_jsonl(path, text, complete=len(head) < SAMPLE_SIZE)
    return None


def _json_or_jsonl(path: Path, text: str, complete: bool) -> str:
    first, _, rest = text.partition("\n")
    try:
        record = json.loads(first)
    except ValueError:
        return "json"
    if not isinstance(record, dict):
        return "json"
    if rest.strip():  # a whole object and more: not one JSON document
        return "jsonl"
    if not complete:  # one very long line: the sample cannot tell
        return "json"
    # one record on one line: valid as both; the name decides
    return "jsonl" if from_extension(path) == "jsonl" else "json"
