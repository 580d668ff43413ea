"""The head of a CSV file: where its table starts, its dialect and its header.

Before the header: old Mac line ends (CR only) are read as LF, but never a CR inside a
quoted value; lines starting with ``options.comment`` read as blank lines (they are
skipped and counted like them, in the whole file); ``skip_lines`` (or ``header_row``
N: N-1) lines are skipped, then blank lines. The header is the next record, unless
``header`` is False: then it is the first record, and the columns are ``column_1`` …

The dialect: the delimiter (``sniff``), then, when the standard reading of the sample
leaves records of the wrong width, spaces after the delimiter (``1, "Smith, J"``) and a
backslash escape (``\\"``, ``\\,``) are tried; the one that fits the sample best wins
(``options.escape`` sets the escape). A blank last header name over a field that every
sampled record leaves empty is a delimiter at the end of every line, not a column.

A first line that does not look like a header (a title above the table, a ``#`` comment:
one field, or a ``#`` first and fewer fields than the records below; only delimiters:
no name) is refused with
the option that reads the file (``--header-row``, ``--comment``), unless the options
already say where the table is.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from loadbay.errors import UnreadableFile
from loadbay.pipeline.read.base import ReadOptions, clip, named_header, numbered_names
from loadbay.pipeline.read.csv_chunks import Layout, Readable, long_fields, record_end
from loadbay.pipeline.read.limits import check_columns, over

if TYPE_CHECKING:
    from _csv import Reader as _reader

CANDIDATES = (",", ";", "\t", "|")
SAMPLE = 64 * 1024
#: the share of sampled records that must agree on a width for a header to be judged
_AGREE = 0.8


@dataclass
class Head:
    """What the head of a file told: the layout, the body bytes read so far (from the
    first record after the header), the stream of the rest, and warnings."""

    layout: Layout
    body: bytes
    stream: Readable
    warnings: list[str]


def read_head(stream: Readable, options: ReadOptions, fmt: str, source: str) -> Head:
    limits = options.limits
    buf = stream.read(SAMPLE)
    if buf.endswith(b"\r"):  # the read may have cut a CRLF in two
        buf += stream.read(1)
    if _cr_only(buf):
        to_lf = CrToLf(stream)
        buf, stream = to_lf.convert(buf), to_lf
    if options.comment:
        uncommented = Uncommented(stream, options.comment.encode())
        buf, stream = uncommented.convert(buf, final=False), uncommented
    skip = options.skip_lines or (options.header_row or 1) - 1
    buf, blank = _skip_lines(buf, stream, skip, source, limits.line_bytes)
    head, body, blanks = _read_header(buf, stream, source, limits.line_bytes)
    text = head.rstrip(b"\r\n").decode("utf-8")
    fixed = options.delimiter or ("\t" if fmt == "tsv" else None)
    if '"' not in text:  # else the count is not the width: it is checked once parsed
        check_columns(max(text.count(d) for d in fixed or CANDIDATES) + 1, limits, source)
    long_fields(limits.line_bytes)
    sample = body[: record_end(body[:SAMPLE])].decode("utf-8", errors="replace")
    terminator = b"\r\n" if head.endswith(b"\r\n") else b"\n"
    delimiter, records = sniff(text, sample) if fixed is None else (fixed, None)
    plain = Layout([], delimiter, source, terminator, limits)
    layout = _dialect(text, sample, plain, options.escape)
    first: list[str] = next(layout.reader([text]), [])
    check_columns(len(first), limits, source)
    if records is None or not layout.plain:  # else sniff read the sample as it is
        records = list(layout.reader(io.StringIO(sample, newline="")))
    trailing = _trailing(first, records)
    fields = first[:-1] if trailing else first
    warnings: list[str] = []
    if options.header:
        if not (options.skip_lines or options.header_row or options.comment):
            _check_header(text, fields, records, layout, skip + blank + blanks + 1)
        names, warnings = named_header(fields, source)
    else:
        names, body = numbered_names(len(fields)), head + body
    return Head(replace(layout, names=names, trailing=trailing), body, stream, warnings)


def sniff(header: str, sample: str) -> tuple[str, list[list[str]]]:
    """The candidate delimiter that splits the header and the sample most consistently
    (the sample alone when none splits the header: a title above the table), and the
    sample's records read with it (blank ones as ``[]``)."""
    widths = {d: len(next(_plain_reader([header], d), [])) for d in CANDIDATES}
    splits = max(widths.values()) > 1
    best, best_score, best_rows = ",", (0.0, 1), None
    for d in CANDIDATES:
        if splits and widths[d] < 2:
            continue  # (not parsed: the usual file has one delimiter that splits it)
        rows = list(_plain_reader(io.StringIO(sample, newline=""), d))
        filled = [r for r in rows if r]
        width = widths[d] if splits else _most_common_width(filled)
        if width < 2:
            continue
        fit = sum(len(r) == width for r in filled) / len(filled) if filled else 1.0
        score = (fit, width)
        if score > best_score:
            best, best_score, best_rows = d, score, rows
    if best_rows is None:
        best_rows = list(_plain_reader(io.StringIO(sample, newline=""), best))
    return best, best_rows


def _most_common_width(rows: list[list[str]]) -> int:
    return Counter(map(len, rows)).most_common(1)[0][0] if rows else 1


def _plain_reader(lines: io.StringIO | list[str], delimiter: str) -> _reader:
    return Layout([], delimiter, "").reader(lines)


def _dialect(header: str, sample: str, plain: Layout, escape: str | None) -> Layout:
    """The dialect that reads the sample with the fewest records of the wrong width."""
    base = replace(plain, escape=escape) if escape else plain
    candidates = [base]
    if f'{plain.delimiter} "' in header or f'{plain.delimiter} "' in sample:
        candidates.append(replace(base, initial_space=True))
    if escape is None and "\\" in sample + header:
        candidates += [replace(c, escape="\\") for c in list(candidates)]
    if len(candidates) == 1:
        return base
    return max(candidates, key=lambda c: _fit(header, sample, c))  # first of the best


def _fit(header: str, sample: str, layout: Layout) -> float:
    width = len(next(layout.reader([header]), []))
    try:
        rows = [r for r in layout.reader(io.StringIO(sample, newline="")) if any(r)]
    except Exception:
        return -1.0
    return sum(len(r) == width for r in rows) / len(rows) if rows else 0.0


def _trailing(first: list[str], records: list[list[str]]) -> bool:
    """A delimiter at the end of every line: a blank last name over empty fields."""
    if len(first) < 2 or first[-1].strip():
        return False
    last = len(first) - 1
    return all(len(r) <= last or r[last] == "" for r in records)


def _check_header(
    text: str, fields: list[str], records: list[list[str]], layout: Layout, line: int
) -> None:
    """Refuse a first line that is not the header, saying which option reads the file."""
    hashed = text.startswith("#")  # then lines like it below are comments too
    widths = [len(r) for r in records if any(r) and not (hashed and r[0].startswith("#"))]
    if not widths:
        return
    width, agree = Counter(widths).most_common(1)[0]
    unnamed = len(fields) > 1 and not any(f.strip() for f in fields)
    short = len(fields) < width and (len(fields) == 1 or hashed)
    if not (unnamed or short) or agree < _AGREE * len(widths):
        return
    found = _line_of_width(records, width, line)
    advice = [f"if the header is line {found}, use --header-row {found} (header_row over the API)"]
    if hashed:
        advice.append("if lines starting with # are comments, use --comment '#' (comment)")
    advice.append("if the file has no header, use --no-header (header: false)")
    raise UnreadableFile(
        f"{layout.source}: line {line} {clip(text)!r} does not look like the header: "
        f"it has {len(fields)} field(s){' and no names' if unnamed else ''}, the records "
        f"below have {width}; " + "; ".join(advice),
        file=layout.source,
    )


def _line_of_width(records: list[list[str]], width: int, header_line: int) -> int:
    """The file line of the first sampled record of ``width`` named fields."""
    for i, record in enumerate(records, start=1):
        if len(record) == width and all(f.strip() for f in record):
            return header_line + i
    return header_line + 1


def _cr_only(buf: bytes) -> bool:
    """Old Mac line ends: CR, and no LF outside quoted values."""
    outside = b"".join(buf.split(b'"')[0::2])
    return b"\n" not in outside and b"\r" in outside


class CrToLf:
    """A stream of a file with CR line ends, read as LF line ends (a CR inside a quoted
    value is kept)."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._quoted = False

    def read(self, size: int) -> bytes:
        return self.convert(self._stream.read(size))

    def convert(self, block: bytes) -> bytes:
        if b'"' not in block:
            return block if self._quoted else block.replace(b"\r", b"\n")
        parts = block.split(b'"')
        for i, part in enumerate(parts):
            if i:
                self._quoted = not self._quoted
            if not self._quoted:
                parts[i] = part.replace(b"\r", b"\n")
        return b'"'.join(parts)


class Uncommented:
    """A stream whose lines that start with the comment character read as blank lines
    (whole lines only: the last, unfinished line of a read waits for the next)."""

    def __init__(self, stream: Readable, comment: bytes) -> None:
        self._stream = stream
        self._pattern = re.compile(rb"^" + re.escape(comment) + rb"[^\r\n]*", re.MULTILINE)
        self._pending = b""

    def read(self, size: int) -> bytes:
        while True:
            block = self._stream.read(size)
            out = self.convert(block, final=not block)
            if out or not block:
                return out

    def convert(self, block: bytes, final: bool) -> bytes:
        data = self._pending + block
        cut = len(data) if final else data.rfind(b"\n") + 1
        self._pending = data[cut:]
        return self._pattern.sub(b"", data[:cut])


def _skip_lines(
    buf: bytes, stream: Readable, count: int, source: str, longest: int
) -> tuple[bytes, int]:
    """``buf`` without its first ``count`` lines (read on as needed), and how many
    blank lines follow them."""
    while count:
        pos = buf.find(b"\n")
        if pos >= 0:
            buf, count = buf[pos + 1 :], count - 1
            continue
        more = stream.read(SAMPLE)
        if not more:
            raise UnreadableFile(
                f"{source}: the file has no lines after those skipped", file=source
            )
        if len(buf) > longest:
            raise over(source, f"a line is longer than {longest:,} bytes", "line_bytes", longest)
        buf += more
    stripped = buf.lstrip(b"\r\n")
    return buf, buf[: len(buf) - len(stripped)].count(b"\n")


def _read_header(
    buf: bytes, stream: Readable, source: str, longest: int
) -> tuple[bytes, bytes, int]:
    """The header record (with its line break), the bytes read after it, and how many
    blank lines were before it (in ``buf``: counted in ``_skip_lines``)."""
    buf = buf.lstrip(b"\r\n")
    blanks = 0
    while True:
        end = _first_record_end(buf)
        if end:
            return buf[:end], buf[end:], blanks
        more = stream.read(max(SAMPLE, len(buf)))  # doubling: each byte looked at twice
        if not more:
            if not buf.strip():
                raise UnreadableFile(f"{source}: the file is empty", file=source)
            return buf.rstrip(b"\r\n"), b"", blanks
        if len(buf) > longest:
            what = f"the header is longer than {longest:,} bytes (an unclosed quote?)"
            raise over(source, what, "line_bytes", longest)
        joined = buf + more
        buf = joined.lstrip(b"\r\n")
        blanks += joined[: len(joined) - len(buf)].count(b"\n")


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
