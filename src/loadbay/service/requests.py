"""What an import is asked to do: sources and options, kept as JSON on the import's row."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from loadbay.domain.json import JSONObject
from loadbay.domain.templates import TEMPLATE_FIELDS as TEMPLATE_FIELDS  # (named here too)
from loadbay.errors import InvalidOption
from loadbay.pipeline.frames import EmptyPolicy, ErrorHandling, Mode
from loadbay.pipeline.read import Limits, ReadOptions
from loadbay.pipeline.read.base import check_options
from loadbay.pipeline.validate.temporal import date_format_problem

E = TypeVar("E", Mode, ErrorHandling, EmptyPolicy)


#: codecs that decode text but not a file's text
_NOT_FILE_ENCODINGS = {"idna", "punycode", "undefined"}


def check_encoding(name: str) -> str:
    """``name`` when it is a text encoding Python knows (not hex, base64, rot13, idna…)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InvalidOption(f"encoding {name!r} (option encoding) is not known") from None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_FILE_ENCODINGS:
        raise InvalidOption(
            f"encoding {name!r} (option encoding) is not a text encoding: use e.g. utf-8, "
            "utf-16, cp1252 or latin-1"
        )
    return name


@dataclass(frozen=True)
class SourceSpec:
    """One file to import (an upload's stored file, or a local path)."""

    path: str
    name: str
    table: str | None = None  # None: a multi-table JSON file, or named by the file
    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    record_tag: str | None = None
    #: where the table is in the file (None: the default of ReadOptions, i.e. detected)
    header: bool | None = None  # False: no header row (columns column_1, column_2…)
    skip_lines: int | None = None
    header_row: int | None = None
    comment: str | None = None
    escape: str | None = None
    #: the format found when the file was uploaded (``Upload.format``): read as that
    #: unless ``format`` names one; None (a local file): detected when it is read
    detected: str | None = None

    def __post_init__(self) -> None:
        if self.encoding is not None:
            check_encoding(self.encoding)
        check_options(self.read_options())  # InvalidOption now, not when it runs

    def read_options(self, batch_size: int = 100_000, limits: Limits = Limits()) -> ReadOptions:
        return ReadOptions(
            format=self.format or self.detected,
            delimiter=self.delimiter,
            encoding=self.encoding,
            sheet=self.sheet,
            record_tag=self.record_tag,
            header=self.header is not False,
            skip_lines=self.skip_lines or 0,
            header_row=self.header_row,
            comment=self.comment,
            escape=self.escape,
            batch_size=batch_size,
            limits=limits,
        )


@dataclass(frozen=True)
class ImportRequest:
    sources: tuple[SourceSpec, ...]
    mode: Mode = Mode.UPSERT
    error_handling: ErrorHandling = ErrorHandling.STRICT
    key: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)  # file column → table column
    constants: dict[str, str] = field(default_factory=dict)  # table column → value
    strict_columns: bool = False
    require_all_columns: bool = False
    empty: EmptyPolicy = EmptyPolicy.KEEP
    date_formats: tuple[str, ...] = ()
    decimal_comma: bool = False
    max_errors: int | None = None
    #: seconds to wait for the tables' locks before failing ``locked`` (None: wait)
    lock_timeout: float | None = None
    dry_run: bool = False
    notes: str | None = None
    template_id: str | None = None  # the saved template (tpl_…) it was made from

    def __post_init__(self) -> None:
        if not self.sources:
            raise InvalidOption("an import needs at least one file or batch of records")
        if self.max_errors is not None and self.max_errors < 0:
            raise InvalidOption(f"max_errors must be 0 or more, not {self.max_errors}")
        if self.lock_timeout is not None and not 0 <= self.lock_timeout <= 86_400:
            raise InvalidOption(f"lock_timeout must be 0 to 86400 seconds, not {self.lock_timeout}")
        for fmt in self.date_formats:
            problem = date_format_problem(fmt)
            if problem is not None:
                raise InvalidOption(f"date format {fmt!r} (option date_formats): {problem}")

    def to_json(self) -> JSONObject:
        """As the import's row keeps it (``request``)."""
        data: JSONObject = asdict(self)
        data["sources"] = [asdict(s) for s in self.sources]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ImportRequest:
        """From what ``to_json`` gave (each field checked as a new request's)."""
        # the stored JSON's fields, given to the dataclass by name (which types them)
        values: dict[str, Any] = dict(data)
        values["sources"] = tuple(SourceSpec(**s) for s in values["sources"])
        values["mode"] = parse_choice(Mode, values.get("mode", "upsert"), "mode")
        values["error_handling"] = parse_choice(
            ErrorHandling, values.get("error_handling", "strict"), "error_handling"
        )
        values["empty"] = parse_choice(EmptyPolicy, values.get("empty", "keep"), "empty")
        values["key"] = tuple(values.get("key") or ())
        values["date_formats"] = tuple(values.get("date_formats") or ())
        return cls(**values)


#: what a saved template holds (``notes`` describe the template, not its imports)
#: the fields of a template whose values merge key by key with an import's
_MERGED_BY_KEY = frozenset({"mapping", "constants", "options"})


def merge_template(
    template: Mapping[str, object], given: Mapping[str, object]
) -> dict[str, object]:
    """The one merge of a template and an import's own fields (API, CLI, web): the
    template's fields are the defaults; ``given`` holds only the fields the import gave
    explicitly, and each replaces the template's (mapping, constants and options merge
    key by key, the import's keys winning). Fields are named as TEMPLATE_FIELDS."""
    merged: dict[str, object] = {f: template.get(f) for f in TEMPLATE_FIELDS}
    for name, value in given.items():
        if name not in merged:
            raise ValueError(f"{name!r} is not a field of a template")
        if name in _MERGED_BY_KEY:
            merged[name] = {**entries_of(merged[name]), **entries_of(value)}
        else:
            merged[name] = value
    return merged


def entries_of(value: object) -> dict[object, object]:
    """A mapping's entries (None: none)."""
    return dict(value) if isinstance(value, Mapping) else {}


def parse_choice(enum: type[E], value: object, what: str) -> E:
    try:
        return enum(str(value).lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidOption(f"{what} {value!r} is not valid (use one of: {allowed})") from None
