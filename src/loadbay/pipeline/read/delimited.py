"""CSV and TSV files.

The header is the first record (blank lines before it are skipped); blank names
become ``column_N``, duplicated names make the file unreadable. The delimiter is
``options.delimiter``, a tab for TSV, else the one of ``, ; tab |`` that splits the
header and the first records most consistently. ``ROW`` numbers records after the
header, blank lines included (they are skipped, as are records whose every field is
empty). A header without records gives one empty batch; an empty file is unreadable.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl

from loadbay.errors import UnreadableFile
from loadbay.pipeline.frames import ROW, empty_errors
from loadbay.pipeline.read.base import Batch, ReadOptions, empty_frame, header_names
from loadbay.pipeline.read.csv_chunks import (
    Layout,
    Piece,
    Prepared,
    Readable,
    finish,
    gather,
    long_fields,
    parse,
    prepare,
    record_chunks,
    record_end,
)
from loadbay.pipeline.read.limits import check_columns, over
from loadbay.pipeline.read.source import open_utf8_blocks

CANDIDATES = (",", ";", "\t", "|")
_SAMPLE = 64 * 1024
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
        layout, body, source = _start(stream, options, fmt, path.name)
        size = _run_size(body, options.batch_size)
        yield from rebatch(_pieces(source, body, size, layout), options.batch_size, layout)


def read_header(path: Path, options: ReadOptions, fmt: str = "csv") -> list[str]:
    """The field names, from the header alone."""
    with open_utf8_blocks(path, options.encoding, options.limits.expanded_bytes) as stream:
        return _start(stream, options, fmt, path.name)[0].names


def _start(
    stream: Readable, options: ReadOptions, fmt: str, source: str
) -> tuple[Layout, bytes, Readable]:
    """The layout from the header, the body bytes read so far, and the body stream."""
    buf = stream.read(_SAMPLE)
    if buf.endswith(b"\r"):  # the read may have cut a CRLF in two
        buf += stream.read(1)
    body_stream: Readable = stream
    if b"\n" not in buf and b"\r" in buf:  # old Mac line ends
        body_stream = _CrToLf(stream)
        buf = buf.replace(b"\r", b"\n")
    limits = options.limits
    head, body = _read_header(buf, body_stream, source, limits.line_bytes)
    text = head.rstrip(b"\r\n").decode("utf-8")
    fixed = options.delimiter or ("\t" if fmt == "tsv" else None)
    if '"' not in text:  # else the count is not the width: it is checked once parsed
        check_columns(max(text.count(d) for d in fixed or CANDIDATES) + 1, limits, source)
    long_fields(limits.line_bytes)
    delimiter = fixed or sniff(text, body)
    raw_names = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    check_columns(len(raw_names), limits, source)
    terminator = b"\r\n" if head.endswith(b"\r\n") else b"\n"
    layout = Layout(header_names(raw_names, source), delimiter, source, terminator, limits)
    return layout, body, body_stream


class _CrToLf:
    """A stream of a file with CR line ends, read as LF line ends."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream

    def read(self, size: int) -> bytes:
        return self._stream.read(size).replace(b"\r", b"\n")


def sniff(header: str, body: bytes) -> str:
    """The candidate delimiter that splits the header and the sample most consistently."""
    sample = body[: record_end(body[:_SAMPLE])].decode("utf-8", errors="replace")
    best, best_score = ",", (0.0, 1)
    for d in CANDIDATES:
        width = len(next(csv.reader([header], delimiter=d), []))
        if width < 2:
            continue
        rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d) if r]
        fit = sum(len(r) == width for r in rows) / len(rows) if rows else 1.0
        score = (fit, width)
        if score > best_score:
            best, best_score = d, score
    return best


def _read_header(buf: bytes, stream: Readable, source: str, longest: int) -> tuple[bytes, bytes]:
    """The header record (with its line break) and the bytes read after it."""
    buf = buf.lstrip(b"\r\n")
    while True:
        end = _first_record_end(buf)
        if end:
            return buf[:end], buf[end:]
        more = stream.read(max(_SAMPLE, len(buf)))  # doubling: each byte looked at twice
        if not more:
            if not buf.strip():
                raise UnreadableFile(f"{source}: the file is empty", file=source)
            return buf.rstrip(b"\r\n"), b""
        if len(buf) > longest:
            what = f"the header is longer than {longest:,} bytes (an unclosed quote?)"
            raise over(source, what, "line_bytes", longest)
        buf = (buf + more).lstrip(b"\r\n")


def _first_record_end(buf: bytes) -> int:
    pos = buf.find(b"\n")
    quotes = buf.count(b'"', 0, max(pos, 0))
    while pos >= 0 and quotes % 2:
        nxt = buf.find(b"\n", pos + 1)
        if nxt < 0:
            return 0
        quotes += buf.count(b'"', pos, nxt)
        pos = nxt
    return pos + 1


def _run_size(body: bytes, batch_size: int) -> int:
    """The bytes of a batch, judged from the sample, within bounds."""
    sample = body[:_SAMPLE]
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


def rebatch(pieces: Iterable[Piece], size: int, layout: Layout) -> Iterator[Batch]:
    """Batches of exactly ``size`` rows (the last one smaller), errors with their rows."""
    frames: list[pl.DataFrame] = []
    errors: list[pl.DataFrame] = []
    count = 0
    emitted = False
    for piece in pieces:
        frames.append(piece.frame)
        errors.append(piece.errors)
        count += piece.frame.height
        if count < size and sum(e.height for e in errors) < size:
            continue
        frame, errs = pl.concat(frames), pl.concat(errors)
        while frame.height >= size:
            head, frame = frame.head(size), frame.slice(size)
            last = head[ROW][-1]
            yield Batch(head, errs.filter(pl.col("row") <= last))
            errs = errs.filter(pl.col("row") > last)
            emitted = True
        if errs.height >= size:
            yield Batch(frame, errs)
            frame, errs, emitted = frame.clear(), errs.clear(), True
        frames, errors, count = [frame], [errs], frame.height
    if count or any(e.height for e in errors) or not emitted:
        frame = pl.concat(frames) if frames else empty_frame(layout.names)
        yield Batch(frame, pl.concat(errors) if errors else empty_errors())
