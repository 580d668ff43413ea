"""Read: a file (or inline JSON records) in, batches of string columns out.

Nothing is typed here: every field is a ``pl.String`` column (empty string, missing
key and JSON null all become null; whitespace is kept), after ``ROW`` (Int64), the
1-based number of the record in its file (or in its table's section of a JSON file),
and ``REF`` when the records carry client references. Records that cannot be read
at all (a CSV row with the wrong number of fields, a JSON line that is not an
object) are row errors in ``Batch.errors``, never in the frame; the rest of the file
is read. Failures of the file as a whole raise: UnreadableFile, UnsupportedFormat,
EncodingError, InvalidOption (bad options raise when ``read_file`` is called).

Decisions, format by format (details in each module):

* CSV/TSV: the header is the first record (or the one ``header_row``/``skip_lines``
  say; ``header=False``: none, the columns are ``column_N``); blank names become
  ``column_N``, repeated names ``name_2`` (a warning), reserved names make the file
  unreadable. ``ROW`` counts records after the header, blank lines included; blank
  lines and records whose every field is empty are skipped; short records are padded.
  A header without records yields one empty batch; an empty file is unreadable.
* What a reader decided for the user (a guessed encoding, NUL characters removed,
  renamed headers, padded records) is in ``Batch.warnings``, said once.
* JSON, JSON Lines, XML, inline records: a record is explicit, so an empty one is
  kept. Batches carry every field seen so far in their file or table.
* XML: fields are the record's attributes and child elements; on a name clash the
  child element wins. Entities are never expanded, DTDs never loaded.
* Excel: fully empty rows are skipped; ``ROW`` is the position below the header.

Every format may be gzip-compressed, and every reader streams (bounded memory),
except for Excel workbooks, which are loaded whole once measured (``xlsx_check``).
``options.limits`` bound what a file may hold (decompressed bytes, line, field,
columns, JSON nesting, sheet cells: ``limits``); a file over one raises
LimitExceeded as soon as it is found, before the memory it would take is spent.
``read_file`` reads one batch ahead in a background thread (``ahead``): reading
overlaps with what the caller does with the batch before. A read yields at least one
batch per table. One module per format: ``delimited`` (with ``csv_chunks``),
``jsonl``, ``json_doc``, ``xml_doc``, ``xlsx``; ``detect`` picks the format,
``source`` handles gzip and text encodings, ``records`` turns JSON-like records into
batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from loadbay.pipeline.read.ahead import read_ahead
from loadbay.pipeline.read.base import FORMATS, Batch, ReadOptions, check_options
from loadbay.pipeline.read.delimited import read_delimited, read_header
from loadbay.pipeline.read.detect import detect_format
from loadbay.pipeline.read.json_doc import read_json, read_records
from loadbay.pipeline.read.jsonl import read_jsonl
from loadbay.pipeline.read.limits import Limits, limits_of
from loadbay.pipeline.read.source import io_errors
from loadbay.pipeline.read.xlsx import read_xlsx
from loadbay.pipeline.read.xml_doc import read_xml

__all__ = [
    "FORMATS",
    "Batch",
    "Limits",
    "ReadOptions",
    "detect_format",
    "headers",
    "limits_of",
    "read_file",
    "read_records",
    "small_files",
]

Reader = Callable[[Path, ReadOptions], Iterator[Batch]]

READERS: dict[str, Reader] = {
    "csv": partial(read_delimited, fmt="csv"),
    "tsv": partial(read_delimited, fmt="tsv"),
    "jsonl": read_jsonl,
    "json": read_json,
    "xml": read_xml,
    "xlsx": read_xlsx,
}


#: files smaller than this are read in the caller's thread: they are one batch or a few
#: small ones, so there is nothing to overlap, and a thread would cost more than reading
#: (the default; an import takes the setting ``small_import_bytes``)
READ_AHEAD_FROM = 1024 * 1024


def read_file(
    path: Path, options: ReadOptions = ReadOptions(), small_below: int = READ_AHEAD_FROM
) -> Iterator[Batch]:
    """The batches of a file, in order, read ahead on a thread unless the file is under
    ``small_below`` bytes. Raises before the first batch on bad options."""
    path = Path(path)
    check_options(options)
    fmt = detect_format(path, options)
    return _read(path, options, READERS[fmt], small_below)


def small_files(*paths: Path, below: int = READ_AHEAD_FROM) -> bool:
    """Whether these files together are under ``below`` bytes (one missing counts as
    small: its reader says what is wrong)."""
    try:
        return sum(Path(p).stat().st_size for p in paths) < below
    except OSError:
        return True


def _read(path: Path, options: ReadOptions, reader: Reader, small_below: int) -> Iterator[Batch]:
    with io_errors(path):
        batches = reader(path, options)
        yield from batches if small_files(path, below=small_below) else read_ahead(batches)


def headers(path: Path, options: ReadOptions = ReadOptions()) -> list[str]:
    """The field names of the first batch, without reading the whole file."""
    path = Path(path)
    check_options(options)
    fmt = detect_format(path, options)
    with io_errors(path):
        if fmt in ("csv", "tsv"):
            return read_header(path, options, fmt)
        batches = READERS[fmt](path, options)
        try:
            return next(batches).fields
        finally:
            getattr(batches, "close", lambda: None)()
