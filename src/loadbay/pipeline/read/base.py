"""What every reader shares: the options, the batch, and the rules for field names."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

import polars as pl

from loadbay.errors import InvalidOption, UnreadableFile
from loadbay.pipeline.frames import REF, ROW, empty_errors
from loadbay.pipeline.read.headers import dedupe
from loadbay.pipeline.read.limits import Limits
from loadbay.pipeline.read.source import ByteCount

#: the formats a reader exists for
FORMATS = ("csv", "tsv", "jsonl", "json", "xml", "xlsx")
_FORMAT_ALIASES = {"ndjson": "jsonl", "txt": "csv", "xls": "xlsx", "excel": "xlsx"}
#: how much of a raw record an error carries as its value
VALUE_LIMIT = 200


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file. ``None`` means: detect it."""

    format: str | None = None  # "csv" "tsv" "jsonl" "json" "xml" "xlsx"
    delimiter: str | None = None  # CSV only; None = detect among , ; tab |
    encoding: str | None = None  # None = detect (BOM, UTF-8, UTF-16, cp1252...)
    sheet: str | None = None  # xlsx: sheet name; None = the first sheet
    record_tag: str | None = None  # xml: the repeated record element; None = detect
    #: CSV/TSV and Excel: False = the file has no header row (columns column_1, column_2…)
    header: bool = True
    #: CSV/TSV: lines skipped before the header (or the first record without a header)
    skip_lines: int = 0
    #: CSV/TSV and Excel: the 1-based line (sheet row) of the header; the ones above it
    #: are skipped. None = the first line that is not blank (Excel: detected)
    header_row: int | None = None
    comment: str | None = None  # CSV/TSV: lines starting with it are skipped
    escape: str | None = None  # CSV/TSV: escapes a quote or delimiter (\"); None = detect
    batch_size: int = 100_000
    limits: Limits = field(default_factory=Limits)  # LOADBAY_MAX_*: limits_of(settings)
    #: counts the bytes of the file read so far (an import's progress), if given
    count: ByteCount | None = field(default=None, compare=False)


@dataclass
class Batch:
    """A slice of a file: string columns plus the row number (and the client reference).

    ``frame`` has ``ROW`` (Int64) first, then ``REF`` (String) when the records carry
    client references, then one String column per field. ``errors`` holds the rows of
    this slice that could not be read at all (they are not in ``frame``).
    """

    frame: pl.DataFrame
    errors: pl.DataFrame = field(default_factory=empty_errors)
    table: str | None = None
    #: what the reader did that the user should know of (the encoding it guessed, names
    #: it changed, rows it padded…), each said once, in the batch where it is known
    warnings: list[str] = field(default_factory=list)

    @property
    def fields(self) -> list[str]:
        """The field columns of the frame, without ``ROW`` and ``REF``."""
        return [c for c in self.frame.columns if c not in (ROW, REF)]


def normalise_format(name: str) -> str:
    fmt = name.strip().lower().lstrip(".")
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise InvalidOption(
            f"unknown format {name!r}: expected one of {', '.join(FORMATS)}", option="format"
        )
    return fmt


def check_options(options: ReadOptions) -> None:
    """Raise InvalidOption for options that cannot work, before any byte is read."""
    if options.format is not None:
        normalise_format(options.format)
    options.limits.check()
    if options.batch_size < 1:
        raise InvalidOption("batch_size must be at least 1", option="batch_size")
    if options.delimiter is not None:
        d = options.delimiter
        if len(d) != 1 or len(d.encode("utf-8")) != 1 or d in '"\r\n':
            raise InvalidOption(
                f"delimiter must be one single-byte character other than a quote or a "
                f"line break, not {d!r}",
                option="delimiter",
            )
    _check_layout(options)
    if options.encoding is not None:
        try:
            codecs.lookup(options.encoding)
        except LookupError:
            raise InvalidOption(
                f"unknown encoding {options.encoding!r}", option="encoding"
            ) from None


def _check_layout(options: ReadOptions) -> None:
    """The options that say where the table is in the file."""
    if options.skip_lines < 0:
        raise InvalidOption("skip_lines must be 0 or more", option="skip_lines")
    if options.header_row is not None:
        if options.header_row < 1:
            raise InvalidOption(
                "header_row must be 1 or more (1 is the first line)", option="header_row"
            )
        if not options.header:
            raise InvalidOption(
                "header_row names the header's line: it cannot go with no_header "
                "(use skip_lines to skip lines above the first record)",
                option="header_row",
            )
        if options.skip_lines:
            raise InvalidOption(
                "give skip_lines or header_row, not both (header_row N skips N-1 lines)",
                option="header_row",
            )
    for name, value in (("comment", options.comment), ("escape", options.escape)):
        if value is None:
            continue
        if len(value) != 1 or len(value.encode("utf-8")) != 1 or value in '"\r\n':
            raise InvalidOption(
                f"{name} must be one single-byte character other than a quote or a line "
                f"break, not {value!r}",
                option=name,
            )
        if value == options.delimiter:
            raise InvalidOption(f"{name} cannot be the delimiter {value!r}", option=name)


def clip(text: str) -> str:
    """A raw record as an error value: at most VALUE_LIMIT characters."""
    text = text.rstrip("\r\n")
    return text if len(text) <= VALUE_LIMIT else text[:VALUE_LIMIT] + "…"


def header_names(raw: list[str], source: str) -> list[str]:
    """The field names of a header row (``named_header`` without its warnings)."""
    return named_header(raw, source)[0]


def named_header(raw: list[str], source: str) -> tuple[list[str], list[str]]:
    """The field names of a header row, and the warnings about them.

    Blank names become ``column_N`` (N = 1-based position); repeated names are kept
    apart (``amount``, ``amount_2``: ``headers.dedupe``) with a warning; the reserved
    names ``__row__``/``__ref__`` make the file unreadable.
    """
    names = [n if n.strip() else f"column_{i}" for i, n in enumerate(raw, start=1)]
    reserved = sorted({n for n in names if n in (ROW, REF)})
    if reserved:
        raise UnreadableFile(
            f"{source}: the header uses the reserved column name(s) {', '.join(reserved)}",
            file=source,
        )
    names, warnings = dedupe(names)
    return names, [f"{source}: {w}" for w in warnings]


def numbered_names(width: int) -> list[str]:
    """The field names of a file without a header: ``column_1`` … ``column_N``."""
    return [f"column_{i}" for i in range(1, width + 1)]


def empty_frame(names: list[str], refs: bool = False) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {ROW: pl.Int64()}
    if refs:
        schema[REF] = pl.String()
    schema.update({n: pl.String() for n in names})
    return pl.DataFrame(schema=schema)
