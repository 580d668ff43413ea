"""CSV and TSV files.

Where the table starts, the dialect and the header: ``csv_head`` (skipped lines,
comments, no header, a delimiter at the end of every line, spaces after delimiters,
backslash escapes; blank names become ``column_N``, repeated names ``amount_2``, with a
warning). The delimiter is ``options.delimiter``, a tab for TSV, else the one of
``, ; tab |`` that splits the header and the first records most consistently. ``ROW``
numbers records after the header, blank lines included (they are skipped, as are
records whose every field is empty). A record shorter than the header is padded with
empty fields (counted in one warning); one longer than the header is an error unless
its extra fields are empty. A header without records gives one empty batch; an empty
file is unreadable. The warnings of a file (names, a guessed encoding, NUL characters
removed, padded records) come with its first batch, or after its last one (an empty
batch that carries them).

Polars reads the standard dialect (``csv_chunks``); escapes and spaces after
delimiters are read by Python's csv module, record by record (``_python_pieces``).
"""

from __future__ import annotations

import codecs
import csv
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import polars as pl

from loadbay.errors import UnreadableFile
from loadbay.pipeline.frames import ROW, empty_errors
from loadbay.pipeline.read.base import Batch, ReadOptions, empty_frame
from loadbay.pipeline.read.csv_chunks import (
    Layout,
    Piece,
    Prepared,
    Readable,
    classify,
    finish,
    gather,
    long_fields,
    parse,
    prepare,
    record_chunks,
)
from loadbay.pipeline.read.csv_head import SAMPLE, read_head
from loadbay.pipeline.read.limits import over
from loadbay.pipeline.read.source import open_utf8_blocks

#: bytes polars parses at a time (a run): about a batch, but at most 8 MiB (two runs are
#: parsed at once; larger runs measured slower, and hold more memory)
_MIN_BLOCK, _MAX_BLOCK = 256 * 1024, 8 * 1024 * 1024
#: runs parsed at a time
_PARSING = 2
#: bytes read (and counted, marked) at a time: blocks that stay in the processor's cache,
#: in buffers that the allocator reuses (fresh large ones cost page faults)
_READ_BLOCK = 2 * 1024 * 1024


def read_delimited(path: Path, options: ReadOptions, fmt: str = "csv") -> Iterator[Batch]:
    expanded, count = options.limits.expanded_bytes, options.count
    with open_utf8_blocks(path, options.encoding, expanded, count) as stream:
        head = read_head(stream, options, fmt, path.name)
        layout, body = head.layout, head.body
        if layout.plain:
            pieces = _pieces(head.stream, body, _run_size(body, options.batch_size), layout)
        else:
            pieces = _python_pieces(head.stream, body, layout, options.batch_size)
        batches = rebatch(pieces, options.batch_size, layout)
        yield from _with_warnings(batches, head.warnings, stream.warnings, layout)


def read_header(path: Path, options: ReadOptions, fmt: str = "csv") -> list[str]:
    """The field names, from the header alone."""
    with open_utf8_blocks(path, options.encoding, options.limits.expanded_bytes) as stream:
        return read_head(stream, options, fmt, path.name).layout.names


def _with_warnings(
    batches: Iterator[tuple[Batch, int]],
    first: list[str],
    last: Callable[[], list[str]],
    layout: Layout,
) -> Iterator[Batch]:
    """The batches, the first with the header's warnings; then, when the end of the file
    brings warnings (the stream's, the records padded), an empty batch with them (no
    batch is held back: memory stays at what the reader holds)."""
    padded = 0
    pending = list(first)
    for batch, short in batches:
        padded += short
        batch.warnings, pending = pending + batch.warnings, []
        yield batch
    end = pending + last()
    if padded:
        end.append(
            f"{layout.source}: {padded:,} record(s) shorter than the header padded with "
            "empty fields"
        )
    if end:
        yield Batch(empty_frame(layout.names), warnings=end)


def _python_pieces(
    stream: Readable, body: bytes, layout: Layout, batch_size: int
) -> Iterator[Piece]:
    """The records as Python's csv module reads them (a dialect polars cannot read),
    ``batch_size`` at a time."""
    long_fields(layout.limits.line_bytes)
    reader = layout.reader(_lines(stream, body, layout))
    row = 1
    while True:
        try:
            records = list(islice(reader, batch_size))
        except csv.Error as exc:
            near = row + reader.line_num
            raise UnreadableFile(
                f"{layout.source}: cannot read the record near row {near}: {exc}",
                file=layout.source,
            ) from exc
        if not records:
            return
        piece = classify(records, row, layout, _joined(records, layout.delimiter))
        check_fields(piece.frame, layout)
        row += len(records)
        yield piece


def _joined(records: list[list[str]], delimiter: str) -> Callable[[int], str]:
    """The text of a record, as an error's value."""
    return lambda i: delimiter.join(records[i])


def _lines(stream: Readable, body: bytes, layout: Layout) -> Iterator[str]:
    """The text of the body, line by line (line breaks kept), at most ``line_bytes`` a
    line."""
    longest = layout.limits.line_bytes
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending, block = "", body
    while True:
        lines = (pending + decoder.decode(block, not block)).split("\n")
        pending = lines.pop()
        for line in lines:
            yield line + "\n"
        if len(pending) > longest:
            what = f"a line is longer than {longest:,} bytes"
            raise over(layout.source, what, "line_bytes", longest)
        if not block:
            break
        block = stream.read(_READ_BLOCK)
    if pending:
        yield pending


def _run_size(body: bytes, batch_size: int) -> int:
    """The bytes of a batch, judged from the sample, within bounds."""
    sample = body[:SAMPLE]
    per_record = len(sample) / max(1, sample.count(b"\n"))
    return int(min(_MAX_BLOCK, max(_MIN_BLOCK, per_record * batch_size)))


def _pieces(stream: Readable, body: bytes, size: int, layout: Layout) -> Iterator[Piece]:
    """The records of runs of about ``size`` bytes, in order.

    This thread cuts and prepares the chunks; polars parses up to ``_PARSING`` runs at a
    time on workers, and each run is finished here, in order, as soon as it is parsed.
    """
    row = 1
    block = min(size, _READ_BLOCK)
    longest = layout.limits.line_bytes
    records = record_chunks(stream, body, block, layout.source, longest)
    chunks = (prepare(chunk, layout) for chunk in records)
    parsing: deque[tuple[Prepared, Future[pl.DataFrame | None]]] = deque()
    with ThreadPoolExecutor(max_workers=_PARSING) as pool:
        for prepared in gather(chunks, size):
            parsing.append((prepared, pool.submit(parse, prepared, layout)))
            while parsing and (len(parsing) > _PARSING or parsing[0][1].done()):
                piece = _finish(parsing.popleft(), row, layout)
                row += piece.records
                yield piece
        while parsing:
            piece = _finish(parsing.popleft(), row, layout)
            row += piece.records
            yield piece


def _finish(
    parsed: tuple[Prepared, Future[pl.DataFrame | None]], row: int, layout: Layout
) -> Piece:
    prepared, frame = parsed
    piece = finish(prepared, frame.result(), row, layout)
    if prepared.size > layout.limits.field_bytes:  # a field may be that long: look
        check_fields(piece.frame, layout)
    return piece


def check_fields(frame: pl.DataFrame, layout: Layout) -> None:
    """Raise for a field longer than ``limits.field_bytes``, naming its row and column."""
    longest = layout.limits.field_bytes
    for i, name in enumerate(layout.names, start=1):
        lengths = frame.to_series(i).str.len_bytes()
        if (lengths.max() or 0) > longest:  # type: ignore[operator]
            row = frame[ROW][lengths.arg_max()]
            what = f"row {row}, column {name!r}: a value longer than {longest:,} bytes"
            raise over(layout.source, what, "field_bytes", longest)


def rebatch(pieces: Iterable[Piece], size: int, layout: Layout) -> Iterator[tuple[Batch, int]]:
    """Batches of exactly ``size`` rows (the last one smaller), errors with their rows;
    each with the records padded in the pieces read for it."""
    frames: list[pl.DataFrame] = []
    errors: list[pl.DataFrame] = []
    count = padded = 0
    emitted = False
    for piece in pieces:
        frames.append(piece.frame)
        errors.append(piece.errors)
        count += piece.frame.height
        padded += piece.padded
        if count < size and sum(e.height for e in errors) < size:
            continue
        frame, errs = pl.concat(frames), pl.concat(errors)
        while frame.height >= size:
            head, frame = frame.head(size), frame.slice(size)
            last = head[ROW][-1]
            yield Batch(head, errs.filter(pl.col("row") <= last)), padded
            errs = errs.filter(pl.col("row") > last)
            emitted, padded = True, 0
        if errs.height >= size:
            yield Batch(frame, errs), padded
            frame, errs, emitted, padded = frame.clear(), errs.clear(), True, 0
        frames, errors, count = [frame], [errs], frame.height
    if count or any(e.height for e in errors) or not emitted:
        frame = pl.concat(frames) if frames else empty_frame(layout.names)
        yield Batch(frame, pl.concat(errors) if errors else empty_errors()), padded
    elif padded:
        yield Batch(empty_frame(layout.names)), padded
