"""CSV bodies, chunk by chunk: polars where the chunk is regular, csv.reader where not.

The body (UTF-8 bytes after the header) is cut into chunks of whole records: at a
line break preceded by an even number of quote characters. Each chunk is parsed by
polars with one extra column (catches records with too many fields); then a cheap
count proves that no record has too few fields (polars pads those silently):

    delimiters in the raw chunk - delimiters inside values
        == (fields - 1) * (records - blank lines)

When the proof fails, or polars rejects the chunk, the chunk is read again with
Python's csv module, which gives the exact field count and raw text of every record:
the irregular ones become ``wrong_field_count`` errors, the others are kept.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from loadbay.errors import Code, RowError, UnreadableFile
from loadbay.pipeline.frames import ROW, empty_errors, errors_frame
from loadbay.pipeline.read.base import clip

QUOTE = b'"'
#: a record not ended within this many bytes is cut at the last line break anyway
MAX_PENDING = 64 * 1024 * 1024


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Layout:
    """What the header told us about the body."""

    names: list[str]
    delimiter: str
    source: str

    @property
    def extra(self) -> str:
        """A column name that is not a field: catches surplus fields."""
        name = "__extra__"
        while name in self.names:
            name += "_"
        return name


@dataclass
class Piece:
    frame: pl.DataFrame
    errors: pl.DataFrame
    records: int  # records in the chunk, blank and irregular ones included


def record_end(buf: bytes) -> int:
    """Position after the last line break in ``buf`` that ends a record, or 0."""
    pos = buf.rfind(b"\n")
    if pos < 0 or QUOTE not in buf:
        return pos + 1
    quotes = buf.count(QUOTE, 0, pos)
    while quotes % 2:
        prev = buf.rfind(b"\n", 0, pos)
        if prev < 0:
            return 0
        quotes -= buf.count(QUOTE, prev + 1, pos)
        pos = prev
    return pos + 1


def record_chunks(stream: Readable, pending: bytes, block_size: int) -> Iterator[bytes]:
    """Chunks of whole records, each about ``block_size`` bytes."""
    while True:
        block = stream.read(block_size)
        buf = pending + block if pending else block
        if not block:
            if buf:
                yield buf
            return
        cut = record_end(buf)
        if cut == 0 and len(buf) > MAX_PENDING:
            cut = buf.rfind(b"\n") + 1  # an unbalanced quote: give up on it
        if cut == 0:
            pending = buf
            continue
        pending = buf[cut:]
        yield buf[:cut]


def parse_chunk(chunk: bytes, first_row: int, layout: Layout) -> Piece:
    """The records of one chunk; ``first_row`` is the number of its first record."""
    try:
        frame = _polars(chunk, first_row, layout)
    except pl.exceptions.PolarsError:
        return _python(chunk, first_row, layout, None)
    if not _regular(frame, chunk, layout):
        return _python(chunk, first_row, layout, frame)
    records = frame.height
    frame = frame.drop(layout.extra).with_columns(pl.col(ROW).cast(pl.Int64))
    return Piece(_drop_empty(frame, layout), empty_errors(), records)


def _polars(chunk: bytes, first_row: int, layout: Layout) -> pl.DataFrame:
    schema = {n: pl.String() for n in [*layout.names, layout.extra]}
    return pl.scan_csv(
        chunk,
        has_header=False,
        schema=schema,
        separator=layout.delimiter,
        quote_char='"',
        truncate_ragged_lines=True,
        missing_columns="insert",
        empty_string_is_null=True,
        null_values=[""],
        row_index_name=ROW,
        row_index_offset=first_row,
        raise_if_empty=False,
    ).collect()


def _regular(frame: pl.DataFrame, chunk: bytes, layout: Layout) -> bool:
    """Whether every record of the chunk has exactly as many fields as the header."""
    if frame[layout.extra].null_count() != frame.height:
        return False  # some record has too many fields
    width = len(layout.names)
    if width == 1:
        return True
    cols = [pl.nth(i) for i in range(1, width + 1)]  # by position: names may look like regexes
    quoted = QUOTE in chunk
    blank = 0
    if frame.select(pl.all_horizontal(c.is_null() for c in cols).any()).item():
        if (
            quoted
            and frame.select(
                pl.any_horizontal(c.str.contains("\n", literal=True).any() for c in cols)
            ).item()
        ):
            return False  # line breaks inside values: blank lines cannot be counted
        blank = chunk.count(b"\n\n") + chunk.count(b"\n\r\n") + chunk.startswith((b"\n", b"\r\n"))
    inner = 0
    if quoted:
        counts = (c.str.count_matches(layout.delimiter, literal=True).sum() for c in cols)
        inner = int(frame.select(pl.sum_horizontal(counts)).item() or 0)
    raw = chunk.count(layout.delimiter.encode())
    return raw - inner == (width - 1) * (frame.height - blank)


def _drop_empty(frame: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Without blank lines and records whose every field is empty."""
    fields = pl.nth(range(1, len(layout.names) + 1))
    return frame.filter(pl.any_horizontal(fields.is_not_null()))


def _python(chunk: bytes, first_row: int, layout: Layout, frame: pl.DataFrame | None) -> Piece:
    records, raws = _csv_records(chunk, first_row, layout)
    width = len(layout.names)
    bad = [i for i, r in enumerate(records) if r and len(r) != width]
    errors = errors_frame(
        RowError(
            row=first_row + i,
            column=None,
            code=Code.WRONG_FIELD_COUNT,
            message=f"row has {len(records[i])} fields, the header has {width}",
            value=clip(raws(i)),
        )
        for i in bad
    )
    if frame is not None and frame.height == len(records):
        keep = [True] * frame.height
        for i in bad:
            keep[i] = False
        kept = frame.filter(pl.Series(keep, dtype=pl.Boolean))
        kept = kept.drop(layout.extra).with_columns(pl.col(ROW).cast(pl.Int64))
    else:
        kept = _frame_of(records, first_row, layout)
    return Piece(_drop_empty(kept, layout), errors, len(records))


def _csv_records(
    chunk: bytes, first_row: int, layout: Layout
) -> tuple[list[list[str]], Callable[[int], str]]:
    """Every record of the chunk as Python's csv module reads it, and its raw text."""
    if csv.field_size_limit() < MAX_PENDING:
        csv.field_size_limit(min(sys.maxsize, 2 * MAX_PENDING))
    lines = io.StringIO(chunk.decode("utf-8"), newline="").readlines()
    reader = csv.reader(lines, delimiter=layout.delimiter, quotechar='"', strict=False)
    records: list[list[str]] = []
    ends: list[int] = [0]
    try:
        for record in reader:
            records.append(record)
            ends.append(reader.line_num)
    except csv.Error as exc:
        row = first_row + len(records)
        raise UnreadableFile(
            f"{layout.source}: cannot read record {row}: {exc}", file=layout.source
        ) from exc
    return records, lambda i: "".join(lines[ends[i] : ends[i + 1]])


def _frame_of(records: list[list[str]], first_row: int, layout: Layout) -> pl.DataFrame:
    width = len(layout.names)
    good = [(first_row + i, r) for i, r in enumerate(records) if len(r) == width]
    columns: dict[str, list[str | None] | list[int]] = {ROW: [row for row, _ in good]}
    for j, name in enumerate(layout.names):
        columns[name] = [r[j] or None for _, r in good]
    schema = {ROW: pl.Int64(), **{n: pl.String() for n in layout.names}}
    return pl.DataFrame(columns, schema=schema)
