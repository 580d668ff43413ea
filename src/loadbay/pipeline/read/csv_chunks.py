"""CSV bodies, chunk by chunk: polars where the chunk is regular, csv.reader where not.

The body (UTF-8 bytes after the header) is cut into chunks of whole records: at a
line break preceded by an even number of quote characters. Before polars parses a
chunk, a marker field (a control character that is not in the chunk) is appended to
every record, and polars reads one column more than the header has. A record has
exactly the header's number of fields if and only if that last column holds the
marker: a short record puts it further left, a long one pushes it out (even when
the surplus fields are empty, which polars cannot tell from missing ones).

Chunks are small, so that cutting, counting and marking them stays in the processor's
cache; polars parses a run of consecutive chunks at once (as the sources of one scan),
and what follows applies to the run. A run where some record lacks its marker in
place, or that polars rejects, is read again with Python's csv module, which gives the
exact field count and raw text of every record. A short record (the marker in one of
the columns) is padded with empty fields and counted; a long one is kept when its extra
fields are empty, else it is a ``wrong_field_count`` error. With ``Layout.trailing`` (a
delimiter at the end of every line) polars reads one column more, which must be empty.
Markers that landed inside quoted values (line breaks in values) are removed.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import polars as pl

from loadbay.errors import Code, RowError, UnreadableFile
from loadbay.pipeline.frames import ROW, empty_errors, errors_frame
from loadbay.pipeline.read.base import clip
from loadbay.pipeline.read.limits import Limits, over

if TYPE_CHECKING:
    from _csv import Reader as _reader

QUOTE = b'"'
#: a record not ended within this many bytes is cut at the last line break anyway
MAX_PENDING = 64 * 1024 * 1024
#: buffers from this size on have their quotes counted by polars
_POLARS_COUNT = 256 * 1024
_MARKERS = (b"\x01", b"\x02", b"\x03", b"\x1e", b"\x1f")


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Layout:
    """What the header told us about the body."""

    names: list[str]
    delimiter: str
    source: str
    terminator: bytes = b"\n"  # how records end (b"\n" or b"\r\n"), as in the header
    limits: Limits = field(default_factory=Limits)
    #: every line may end with a delimiter (an empty field that is not a column)
    trailing: bool = False
    escape: str | None = None  # a character that escapes a quote or the delimiter
    initial_space: bool = False  # spaces after a delimiter are skipped (1, "Smith, J")

    @property
    def extra(self) -> str:
        """A column name that is not a field: where the marker must land."""
        return self._unused("__extra__")

    @property
    def columns(self) -> list[str]:
        """The columns polars reads before the marker: the fields, and the trailing one."""
        return [*self.names, self._unused("__trailing__")] if self.trailing else self.names

    @property
    def plain(self) -> bool:
        """Whether polars can read the dialect (no escape character, no initial spaces)."""
        return self.escape is None and not self.initial_space

    def reader(self, lines: Iterable[str]) -> _reader:
        """Python's csv reader of this dialect."""
        return csv.reader(
            lines,
            delimiter=self.delimiter,
            quotechar='"',
            escapechar=self.escape,
            skipinitialspace=self.initial_space,
            strict=False,
        )

    def _unused(self, name: str) -> str:
        while name in self.names:
            name += "_"
        return name


@dataclass
class Piece:
    frame: pl.DataFrame
    errors: pl.DataFrame
    records: int  # records in the run, blank and irregular ones included
    padded: int = 0  # records shorter than the header, padded with empty fields


def count_quotes(buf: bytes) -> int:
    """How many quote characters ``buf`` holds.

    Polars counts a large buffer in half the time of ``bytes.count`` (which tests one
    byte at a time), and without holding the GIL.
    """
    if len(buf) < _POLARS_COUNT:
        return buf.count(QUOTE)
    values = pl.Series([buf], dtype=pl.Binary).cast(pl.List(pl.UInt8)).explode()
    return int(values.eq(QUOTE[0]).sum())


def record_end(buf: bytes, quotes: int = 0) -> int:
    """Position after the last line break in ``buf`` that ends a record, or 0.

    ``quotes``: how many quote characters come before ``buf`` in its chunk.
    """
    pos = buf.rfind(b"\n")
    if pos < 0 or (quotes % 2 == 0 and QUOTE not in buf):
        return pos + 1
    quotes += count_quotes(buf) - buf.count(QUOTE, pos)
    while quotes % 2:
        prev = buf.rfind(b"\n", 0, pos)
        if prev < 0:
            return 0
        quotes -= buf.count(QUOTE, prev + 1, pos)
        pos = prev
    return pos + 1


def record_chunks(
    stream: Readable, pending: bytes, block_size: int, source: str, longest: int = MAX_PENDING
) -> Iterator[bytes]:
    """Chunks of whole records, each about ``block_size`` bytes.

    A chunk is the records left over from the block before (``pending``) and the
    block's own up to its last record end, joined in one copy. A record not ended
    within ``longest`` bytes is cut at its last line break (an unbalanced quote); a
    line longer than that raises LimitExceeded (the limit ``line_bytes``).
    """
    quotes = count_quotes(pending)  # in pending, counted once as it grows
    while True:
        block = stream.read(block_size)
        if not block:
            if pending:
                yield pending
            return
        cut = record_end(block, quotes)
        if cut:
            whole = not pending and cut == len(block)
            yield block if whole else b"".join((pending, memoryview(block)[:cut]))
            pending = block[cut:]
            quotes = count_quotes(pending)
            continue
        pending += block  # no record ends in this block
        quotes += count_quotes(block)
        if len(pending) > longest:  # an unbalanced quote: give up on it
            cut = pending.rfind(b"\n") + 1
            if cut == 0:
                what = f"a line is longer than {longest:,} bytes"
                raise over(source, what, "line_bytes", longest)
            yield pending[:cut]
            pending = pending[cut:]
            quotes = count_quotes(pending)


@dataclass
class Prepared:
    """Chunks made ready for polars: every record ends with the marker field.

    One chunk, or a run of consecutive chunks that share a marker: polars reads their
    marked bytes as the sources of one scan. Only the last chunk may have had blank
    lines at its end (``blank_tail``): row numbers run on over the others.
    """

    bodies: list[bytes]  # each chunk without blank lines at its end
    blank_tail: int
    marker: bytes = b""  # empty when no marker could be used
    marked: list[bytes] = field(default_factory=list)
    markers: int = 0
    #: every line break of the body is a terminator: polars rows == markers - markers in values
    exact: bool = True

    @property
    def body(self) -> bytes:
        return b"".join(self.bodies)

    @property
    def size(self) -> int:
        return sum(map(len, self.bodies))

    def joins(self, after: Prepared) -> bool:
        """Whether ``after`` (the next chunk) can be parsed with these."""
        return not self.blank_tail and bool(self.marker) and after.marker == self.marker

    def plus(self, after: Prepared) -> Prepared:
        return Prepared(
            self.bodies + after.bodies,
            after.blank_tail,
            self.marker,
            self.marked + after.marked,
            self.markers + after.markers,
            self.exact and after.exact,
        )


def prepare(chunk: bytes, layout: Layout) -> Prepared:
    """The byte work on a chunk (done while polars parses the run before)."""
    body, blank_tail = _trim(chunk)
    marker = next((m for m in _MARKERS if m not in body), None) if body else None
    if marker is None:
        return Prepared([body] if body else [], blank_tail)
    term = layout.terminator
    seq = layout.delimiter.encode() + marker
    marked = body.replace(term, seq + term)
    markers = (len(marked) - len(body)) // len(seq)
    exact = term == b"\n" or body.count(b"\n") == markers  # no lone \n in a CRLF file
    if not marked.endswith(term):  # the last record of the file, without a line break
        marked += seq + term
        markers += 1
    return Prepared([body], blank_tail, marker, [marked], markers, exact)


def gather(chunks: Iterable[Prepared], size: int) -> Iterator[Prepared]:
    """Prepared chunks in runs of about ``size`` bytes, for polars to parse at once.

    Small chunks keep the byte work in the processor's cache; polars' fixed cost per
    parse and per frame is paid per run. A run ends after a chunk with blank lines at
    its end, and before a chunk with another marker.
    """
    run: Prepared | None = None
    for chunk in chunks:
        if run is not None and run.joins(chunk):
            run = run.plus(chunk)
        else:
            if run is not None:
                yield run
            run = chunk
        if run.blank_tail or run.size >= size:
            yield run
            run = None
    if run is not None:
        yield run


def parse(prepared: Prepared, layout: Layout) -> pl.DataFrame | None:
    """Polars' reading of a prepared run (None when it cannot or will not)."""
    if not prepared.marker:
        return None
    try:
        return _polars(prepared.marked, layout)
    except pl.exceptions.PolarsError:
        return None


def finish(prepared: Prepared, frame: pl.DataFrame | None, first_row: int, layout: Layout) -> Piece:
    """The records of a run; ``first_row`` is the number of its first record.

    A record shorter than the header is padded with empty fields (the marker landed in
    one of the columns); one longer than the header is kept when its extra fields are
    empty, else it is an error (``wrong_field_count``)."""
    blank_tail = prepared.blank_tail
    if not prepared.bodies:  # only blank lines
        return Piece(_frame_of([], layout), empty_errors(), blank_tail)
    if frame is None:
        return _python(prepared.body, first_row, layout, blank_tail)
    term, marker = layout.terminator.decode(), prepared.marker.decode()
    one_line = prepared.exact and prepared.markers == frame.height  # one line per record
    if not one_line:  # some markers may be inside quoted values
        frame = _unmark(frame, layout, layout.delimiter + marker + term, term)
    regular = (frame[layout.extra] == marker).fill_null(False)
    if layout.trailing:  # a value in the trailing column is an extra field
        regular &= frame.get_column(layout.columns[-1]).is_null()
    fields = pl.nth(range(1, len(layout.names) + 1))  # by position: names may be regexes
    records = frame.height + blank_tail  # polars' rows are the records: lines only if one_line
    if regular.all():
        frame = frame.select(pl.col(ROW).cast(pl.Int64) + first_row, fields)
        return Piece(_drop_empty(frame, layout), empty_errors(), records)
    width = len(layout.columns)
    short = frame.select(_has_marker(width, marker)).to_series() & ~regular
    if not one_line and not (regular | short).all():  # long records: csv.reader decides
        return _python(prepared.body, first_row, layout, blank_tail)
    padded = frame.select(_has_marker(len(layout.names), marker)).to_series()
    frame = frame.select(pl.col(ROW).cast(pl.Int64) + first_row, *_unmarked(layout, marker))
    errors, kept = empty_errors(), regular | short
    if not kept.all():  # one line per record: look at the long lines only
        found = _line_errors(prepared.body, ~kept, first_row, layout)
        if found is None:
            return _python(prepared.body, first_row, layout, blank_tail)
        errors, kept = found
    frame, padded = frame.filter(kept), padded.filter(kept)
    filled = frame.select(pl.any_horizontal(fields.is_not_null())).to_series()
    return Piece(frame.filter(filled), errors, records, int((padded & filled).sum()))


def _has_marker(width: int, marker: str) -> pl.Expr:
    """Whether a record ended before column ``width`` (by position: names may be regexes)."""
    return pl.any_horizontal([(pl.nth(i) == marker).fill_null(False) for i in range(1, width + 1)])


def _unmarked(layout: Layout, marker: str) -> list[pl.Expr]:
    """The field columns, a marker (that ended a short record) made an empty field."""
    return [
        pl.when(pl.nth(i) == marker).then(None).otherwise(pl.nth(i)).alias(name)
        for i, name in enumerate(layout.names, start=1)
    ]


def _line_errors(
    body: bytes, long: pl.Series, first_row: int, layout: Layout
) -> tuple[pl.DataFrame, pl.Series] | None:
    """For records of one line each, the long ones as csv.reader reads them: errors for
    those with a non-empty extra field, and which records are kept. None when csv.reader
    disagrees that they are long."""
    lines = body.split(layout.terminator)
    width = len(layout.names)
    errors: list[RowError] = []
    kept = ~long
    for i in long.arg_true().to_list():
        text = lines[i].decode("utf-8")
        try:
            fields: list[str] = next(layout.reader([text]), [])
        except csv.Error:
            return None
        if len(fields) <= width:
            return None
        if any(fields[width:]):
            errors.append(_wrong_count(first_row + i, len(fields), width, text))
        else:
            kept[i] = True  # only empty fields past the header's: they are dropped
    return errors_frame(errors), kept


def classify(
    records: list[list[str]], first_row: int, layout: Layout, raw: Callable[[int], str]
) -> Piece:
    """Records as Python's csv module read them: short ones padded, long ones kept
    when their extra fields are empty, else errors; blank ones skipped (counted)."""
    width = len(layout.names)
    errors: list[RowError] = []
    good: list[tuple[int, list[str]]] = []
    padded = 0
    for i, record in enumerate(records):
        if not any(record):
            continue  # a blank line, or a record of empty fields
        if len(record) > width and any(record[width:]):
            errors.append(_wrong_count(first_row + i, len(record), width, raw(i)))
            continue
        if len(record) < width:
            padded += 1
        good.append((first_row + i, record))
    return Piece(_frame_of(good, layout), errors_frame(errors), len(records), padded)


def _wrong_count(row: int, count: int, width: int, raw: str) -> RowError:
    extra = "" if count < width else " (the extra fields are not empty)"
    return RowError(
        row=row,
        column=None,
        code=Code.WRONG_FIELD_COUNT,
        message=f"row has {count} fields, the header has {width}{extra}",
        value=clip(raw),
    )


def _trim(chunk: bytes) -> tuple[bytes, int]:
    """The chunk without blank lines at its end (copied only when there are some)."""
    end = len(chunk)
    while end and chunk[end - 1] in b"\r\n":
        end -= 1
    breaks = chunk.count(b"\n", end)
    if not end:
        return b"", breaks
    if breaks <= 1:
        return chunk, 0
    body = chunk[:end]
    return body + (b"\r\n" if chunk[end : end + 2] == b"\r\n" else b"\n"), breaks - 1


def _polars(chunks: list[bytes], layout: Layout) -> pl.DataFrame:
    schema = {n: pl.String() for n in [*layout.columns, layout.extra]}
    return pl.scan_csv(
        chunks,
        has_header=False,
        schema=schema,
        separator=layout.delimiter,
        quote_char='"',
        truncate_ragged_lines=True,
        missing_columns="insert",
        extra_columns="ignore",
        empty_string_is_null=True,
        null_values=[""],
        row_index_name=ROW,
        raise_if_empty=False,
    ).collect()


def _unmark(frame: pl.DataFrame, layout: Layout, seq: str, term: str) -> pl.DataFrame:
    """Without the markers put after line breaks that are inside quoted values."""
    fields = pl.nth(range(1, len(layout.names) + 1))  # by position: names may be regexes
    return frame.with_columns(fields.str.replace_all(seq, term, literal=True))


def _drop_empty(frame: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Without blank lines and records whose every field is empty."""
    fields = pl.nth(range(1, len(layout.names) + 1))
    filled = frame.select(pl.any_horizontal(fields.is_not_null())).to_series()
    return frame if filled.all() else frame.filter(filled)


def _python(body: bytes, first_row: int, layout: Layout, blank_tail: int) -> Piece:
    """The chunk as Python's csv module reads it."""
    records, raw = _csv_records(body, first_row, layout)
    piece = classify(records, first_row, layout, raw)
    piece.records += blank_tail
    return piece


def long_fields(longest: int = MAX_PENDING) -> None:
    """Let Python's csv module read fields as long as a record may be (not 128 KiB)."""
    if csv.field_size_limit() < longest:
        csv.field_size_limit(min(sys.maxsize, 2 * longest))


def _csv_records(
    body: bytes, first_row: int, layout: Layout
) -> tuple[list[list[str]], Callable[[int], str]]:
    """Every record of the chunk as Python's csv module reads it, and its raw text."""
    long_fields(layout.limits.line_bytes)
    lines = io.StringIO(body.decode("utf-8"), newline="").readlines()
    reader = layout.reader(lines)
    try:
        records = list(reader)
    except csv.Error as exc:
        row = first_row + reader.line_num
        raise UnreadableFile(
            f"{layout.source}: cannot read the record near row {row}: {exc}", file=layout.source
        ) from exc
    if len(records) == len(lines):  # one line per record
        return records, lines.__getitem__
    return records, _spans(lines, layout)


def _spans(lines: list[str], layout: Layout) -> Callable[[int], str]:
    """The raw text of each record, when some records span several lines."""
    reader = layout.reader(lines)
    ends = [0]
    for _ in reader:
        ends.append(reader.line_num)
    return lambda i: "".join(lines[ends[i] : ends[i + 1]])


def _frame_of(good: list[tuple[int, list[str]]], layout: Layout) -> pl.DataFrame:
    """A frame of numbered records (short ones padded with empty fields)."""
    width = len(layout.names)
    columns: dict[str, list[str | None] | list[int]] = {ROW: [row for row, _ in good]}
    for j, name in enumerate(layout.names):
        columns[name] = [(r[j] or None) if j < len(r) else None for _, r in good]
    schema = {ROW: pl.Int64(), **{n: pl.String() for n in layout.names[:width]}}
    return pl.DataFrame(columns, schema=schema)
