"""The typed answers of the Python client, and its one exception type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from loadbay.domain.imports import SETTLED
from loadbay.domain.imports import Counts as Counts  # the client's too
from loadbay.errors import LoadbayError

T = TypeVar("T")
#: the fields of an import that its event stream carries
_LIVE = ("state", "counts", "rows_total", "rows_processed", "error", "progress")
#: the states an import ends in (the server's own list)
FINISHED = SETTLED


class ApiError(LoadbayError):
    """The loadbay API answered with an error."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        extra = {k: v for k, v in problem.items() if k not in ("detail", "title", "code")}
        super().__init__(str(problem.get("detail") or problem.get("title") or status), **extra)
        self.code = str(problem.get("code") or f"http_{status}")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.problem.get("errors") or [])


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def build(cls: type[T], data: Mapping[str, Any]) -> T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Upload:
    id: str
    filename: str
    size: int
    sha256: str
    format: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Upload:
        return build(cls, {**data, "created_at": _time(data.get("created_at"))})


@dataclass(frozen=True)
class Import:
    id: str
    state: str
    tables: list[str]
    mode: str
    error_handling: str
    dry_run: bool
    notes: str | None
    counts: Counts
    rows_total: int
    rows_processed: int
    created_at: datetime | None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reverted_at: datetime | None = None
    error: dict[str, str] | None = None
    warnings: list[str] = field(default_factory=list)
    template_id: str | None = None  # the saved template it was made from
    kind: str = "file"  # or "bulk": a synchronous bulk request
    #: who did it: ``{"token_id", "name"}`` (a local command: no token, the name ``cli``)
    created_by: dict[str, str | None] | None = None
    started_by: dict[str, str | None] | None = None
    cancelled_by: dict[str, str | None] | None = None
    reverted_by: dict[str, str | None] | None = None
    #: where its run is: phase, rows, bytes, percent, rows a second, ETA, errors so far
    progress: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def with_live(self, event: Mapping[str, Any]) -> Import:
        """This import with what an event of its stream says (state, counts, progress…)."""
        live = {k: event[k] for k in _LIVE if k in event}
        if "counts" in live:
            live["counts"] = build(Counts, live["counts"] or {})
        return replace(self, **live)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Import:
        times = {k: _time(data.get(k)) for k in ("created_at", "started_at", "finished_at")}
        return build(
            cls,
            {
                **data,
                **times,
                "reverted_at": _time(data.get("reverted_at")),
                "counts": build(Counts, data.get("counts") or {}),
            },
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    next_cursor: str | None
    total_count: int | None = None  # asked with count=True: of every page together


@dataclass(frozen=True)
class RowResult:
    table: str
    row: int
    ref: str | None
    key: str | None
    outcome: str
    id: int | None
    errors: list[dict[str, Any]]
    changes: dict[str, Any] | None = None
    file: int = 0  # the row's file: its position in the import's uploads

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> RowResult:
        return build(cls, data)

    @property
    def row_errors(self) -> list[RowError]:
        """This row's errors, each with its table, file and row."""
        return [
            RowError(
                table=self.table,
                file=self.file,
                row=int(e.get("row") or self.row),
                column=e.get("column"),
                code=str(e["code"]),
                message=str(e["message"]),
                value=e.get("value"),
            )
            for e in self.errors
        ]


@dataclass(frozen=True)
class RowError:
    """One error of a failed row (``RowResult.row_errors``)."""

    table: str
    file: int  # the row's file: its position in the import's uploads
    row: int
    column: str | None  # None: the row as a whole
    code: str
    message: str
    value: str | None


@dataclass(frozen=True)
class ErrorGroup:
    """An import's errors of one table, column and code (``Client.error_summary``)."""

    table: str
    column: str | None
    code: str
    count: int
    example: str | None  # one value that failed (the smallest)
    message: str | None = None  # one message of the group (the smallest)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ErrorGroup:
        return build(cls, {**data, "count": int(data["count"])})


@dataclass(frozen=True)
class BulkResult:
    ref: str | None
    row: int  # the record's position in the request (1-based)
    outcome: str
    id: int | None
    errors: list[dict[str, Any]]  # each: row, column, code, message, value
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class BulkResponse:
    status_code: int
    import_id: str
    results: list[BulkResult]
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status_code == 200


@dataclass(frozen=True)
class RevertResult:
    import_: Import
    reverted: dict[str, int]
    conflicts: list[dict[str, Any]]


@dataclass(frozen=True)
class TableInfo:
    name: str
    key: list[str]
    description: str | None
    columns: list[dict[str, Any]]
    checks: list[str]


@dataclass(frozen=True)
class Template:
    """Saved import settings: an import naming it takes its fields as defaults."""

    id: str
    name: str
    tables: list[str]
    mode: str | None
    error_handling: str | None
    key: list[str]
    mapping: dict[str, str]
    constants: dict[str, Any]
    options: dict[str, Any]
    notes: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Template:
        times = {k: _time(data.get(k)) for k in ("created_at", "updated_at")}
        return build(cls, {**data, **times})


@dataclass(frozen=True)
class Token:
    id: str
    tenant: str
    name: str | None
    scope: str
    created_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Token:
        return build(
            cls,
            {
                **data,
                "created_at": _time(data.get("created_at")),
                "revoked_at": _time(data.get("revoked_at")),
            },
        )
