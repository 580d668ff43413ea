"""What an import is asked to do: sources and options, kept as JSON on the import's row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from loadbay.errors import InvalidOption
from loadbay.pipeline.frames import EmptyPolicy, ErrorHandling, Mode
from loadbay.pipeline.read import ReadOptions

E = TypeVar("E", Mode, ErrorHandling, EmptyPolicy)


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

    def read_options(self, batch_size: int = 100_000) -> ReadOptions:
        return ReadOptions(
            format=self.format,
            delimiter=self.delimiter,
            encoding=self.encoding,
            sheet=self.sheet,
            record_tag=self.record_tag,
            batch_size=batch_size,
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
    dry_run: bool = False
    notes: str | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            raise InvalidOption("an import needs at least one file or batch of records")
        if self.max_errors is not None and self.max_errors < 0:
            raise InvalidOption(f"max_errors must be 0 or more, not {self.max_errors}")
        for fmt in self.date_formats:
            if "%" not in fmt:
                raise InvalidOption(f"date format {fmt!r} is not a strftime format (e.g. %d/%m/%Y)")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = [asdict(s) for s in self.sources]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportRequest:
        values = dict(data)
        values["sources"] = tuple(SourceSpec(**s) for s in values["sources"])
        values["mode"] = parse_choice(Mode, values.get("mode", "upsert"), "mode")
        values["error_handling"] = parse_choice(
            ErrorHandling, values.get("error_handling", "strict"), "error_handling"
        )
        values["empty"] = parse_choice(EmptyPolicy, values.get("empty", "keep"), "empty")
        values["key"] = tuple(values.get("key") or ())
        values["date_formats"] = tuple(values.get("date_formats") or ())
        return cls(**values)


def parse_choice(enum: type[E], value: object, what: str) -> E:
    try:
        return enum(str(value).lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidOption(f"{what} {value!r} is not valid (use one of: {allowed})") from None
