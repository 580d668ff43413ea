"""The request and response bodies of the API, as pydantic models (and so OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loadbay.domain.imports import State

Mode = Literal["create", "update", "upsert", "replace", "append", "delete"]
ErrorHandling = Literal["strict", "lenient"]
Outcome = Literal["created", "updated", "unchanged", "deleted", "failed", "skipped"]
Scope = Literal["read", "write", "admin"]
Scalar = str | int | float | bool | None


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- errors --------------------------------------------------------------------------
class ErrorObject(BaseModel):
    """One error, in the same shape wherever the API gives one (a problem's ``errors``, a
    row result's, a bulk result's)."""

    row: int | None = Field(
        default=None, description="The row of the file, or the record (1-based), when known."
    )
    column: str | None = Field(default=None, description="The column, or the request field.")
    code: str = Field(description="Stable code, e.g. required, invalid_decimal.")
    message: str
    value: str | None = Field(default=None, description="The value as given, when there is one.")


ProblemError = ErrorObject


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable error code, e.g. not_found, invalid_option.")
    instance: str | None = None
    errors: list[ProblemError] = []


# ---- health --------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    queue: Literal["ok"]


# ---- uploads -------------------------------------------------------------------------
_CSV_BASE64 = "RXh0ZXJuYWwgSUQsbmFtZQpQLTEwMCxIYXJkd2FyZSBkZXBsb3ltZW50Cg=="


class UploadCreate(_Closed):
    """A file in a JSON body: its bytes as base64 text."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"filename": "projects.csv", "content_base64": _CSV_BASE64}]
        },
    )
    filename: str | None = Field(
        default=None,
        max_length=255,
        description="The file's name (its suffix helps tell its format).",
    )
    content_base64: str = Field(
        description="The file's bytes as base64 (standard alphabet; line breaks are ignored, "
        "the padding may be left out). The size limit applies to the decoded bytes.",
        examples=[_CSV_BASE64],
    )


class Upload(BaseModel):
    id: str
    filename: str
    size: int
    sha256: str
    format: str | None = Field(
        description="csv, tsv, jsonl, json, xml or xlsx, detected when the file came (null "
        "for an empty file); an import reads the upload as that unless it names a format."
    )
    created_at: datetime


# ---- imports -------------------------------------------------------------------------
_LOCK_TIMEOUT = (
    "Seconds to wait for the tables while another import or revert writes them; then the "
    "import fails 409 locked, naming that import. Default: wait."
)


class ImportOptions(_Closed):
    """Everything ``loadbay import`` takes besides mode, key, mapping and constants."""

    strict_columns: bool | None = Field(default=None, description="Refuse unknown columns.")
    require_all_columns: bool | None = Field(
        default=None, description="Refuse files lacking a column."
    )
    empty: Literal["keep", "clear"] | None = Field(
        default=None, description="keep: an empty cell leaves the stored value; clear: sets null."
    )
    date_formats: list[str] | None = Field(
        default=None, description="Extra formats, e.g. %d/%m/%Y."
    )
    decimal_comma: bool | None = Field(default=None, description="Read 1.234,56 as 1234.56.")
    max_errors: int | None = Field(default=None, ge=0, description="Abort when more rows fail.")
    lock_timeout: float | None = Field(default=None, ge=0, le=86_400, description=_LOCK_TIMEOUT)
    format: Literal["csv", "tsv", "jsonl", "json", "xml", "xlsx"] | None = None
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    encoding: str | None = Field(
        default=None,
        max_length=40,
        description="The text encoding (e.g. cp1252, cp1251). Default: detected; a guess "
        "is said in the import's warnings.",
        examples=["cp1252"],
    )
    sheet: str | None = Field(
        default=None,
        max_length=200,
        description="The sheet of a workbook to read. Default: the first.",
        examples=["Data"],
    )
    header: bool | None = Field(
        default=None,
        description="false: the file has no header row; its columns are column_1, column_2… "
        "(map them by these names). CSV/TSV and Excel.",
        examples=[False],
    )
    skip_lines: int | None = Field(
        default=None,
        ge=0,
        description="Lines (sheet rows) to skip before the header (a title, notes).",
        examples=[2],
    )
    header_row: int | None = Field(
        default=None,
        ge=1,
        description="The line (sheet row) of the header, 1 = the first; the ones above are "
        "skipped. Default: the first line that is not blank; in a sheet, the first row about "
        "as wide as the table (a warning names it).",
        examples=[3],
    )
    comment: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="Lines starting with this character are skipped. CSV/TSV.",
        examples=["#"],
    )
    escape: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="The character that escapes a quote or the delimiter in a value "
        '(\\" or \\,). Default: detected. CSV/TSV.',
        examples=["\\"],
    )


class ImportCreate(_Closed):
    """An import of uploaded files, or of inline records."""

    table: str | None = Field(default=None, description="The target table of every file.")
    tables: list[str] | None = Field(
        default=None, description="One table per upload (or one for all)."
    )
    upload_id: str | None = None
    upload_ids: list[str] | None = Field(default=None, description="Several uploads in one import.")
    content_base64: str | None = Field(
        default=None,
        description="The file itself, as base64 (instead of an upload): kept as an upload "
        "first, under the same size limit (of the decoded bytes).",
        examples=[_CSV_BASE64],
    )
    filename: str | None = Field(
        default=None,
        max_length=255,
        description="The name of the file of content_base64.",
        examples=["projects.csv"],
    )
    records: list[dict[str, Any]] | dict[str, Any] | None = Field(
        default=None,
        description="Inline records: a list of objects, an object of objects keyed by "
        "client references, or an object of arrays keyed by table.",
    )
    mode: Mode = "upsert"
    error_handling: ErrorHandling = "strict"
    key: list[str] | str | None = Field(default=None, description="Match on these unique columns.")
    mapping: dict[str, str] = Field(
        default_factory=dict, description='file column → column ("": leave the file column out)'
    )
    constants: dict[str, Scalar] = Field(default_factory=dict, description="column → value")
    options: ImportOptions = Field(default_factory=lambda: ImportOptions())
    dry_run: bool = Field(default=False, description="Validate and plan only; ends in validated.")
    notes: str | None = Field(default=None, max_length=10_000)
    template_id: str | None = Field(
        default=None,
        max_length=200,
        description="A saved template (id or name): its fields are the defaults, the "
        "fields given here override them (mapping, constants, options key by key).",
    )


class Counts(BaseModel):
    created: int
    updated: int
    unchanged: int
    deleted: int
    failed: int
    skipped: int


class ImportFailure(BaseModel):
    code: str
    message: str


class Actor(BaseModel):
    """Who did something to an import: an API token, or a local command (``cli``)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token_id": "tok_5d41402abc4b2a76", "name": "crm-sync"}]}
    )
    token_id: str | None = Field(description="The token's id; null for a local command.")
    name: str | None = Field(description="The token's name then; ``cli`` for a local command.")


_ACTOR = {"token_id": "tok_5d41402abc4b2a76", "name": "crm-sync"}
_IMPORT_EXAMPLE: dict[str, Any] = {
    "id": "imp_9f86d081884c7d65",
    "state": "succeeded",
    "kind": "file",
    "tables": ["projects"],
    "mode": "upsert",
    "error_handling": "strict",
    "dry_run": False,
    "notes": "weekly sync",
    "template_id": None,
    "created_by": _ACTOR,
    "started_by": _ACTOR,
    "cancelled_by": None,
    "reverted_by": None,
    "counts": {
        "created": 2,
        "updated": 1,
        "unchanged": 0,
        "deleted": 0,
        "failed": 0,
        "skipped": 0,
    },
    "rows_total": 3,
    "rows_processed": 3,
    "warnings": [],
    "created_at": "2026-12-06T09:30:00Z",
    "started_at": "2026-12-06T09:30:01Z",
    "finished_at": "2026-12-06T09:30:02Z",
    "reverted_at": None,
    "error": None,
}


_PHASE_EXAMPLE: dict[str, Any] = {
    "seq": 3,
    "phase": "reading and validating",
    "rows_read": 1_000_000,
    "rows_validated": 999_996,
    "rows_written": 0,
    "rows_to_write": None,
    "bytes_read": 52_428_800,
    "bytes_total": 52_428_800,
    "errors": 4,
    "percent": 100.0,
    "rows_per_second": 412_000.0,
    "eta_seconds": 0.0,
    "elapsed_seconds": 2.43,
    "seconds": 2.43,
}
_PROGRESS_EXAMPLE: dict[str, Any] = {
    **{k: v for k, v in _PHASE_EXAMPLE.items() if k != "seconds"},
    "seq": 9,
    "phase": "writing",
    "rows_written": 350_000,
    "rows_to_write": 999_996,
    "percent": 35.0,
    "rows_per_second": 175_000.0,
    "eta_seconds": 3.7,
    "elapsed_seconds": 4.9,
    "phases": [_PHASE_EXAMPLE],
}


class ImportProgress(BaseModel):
    """Where a run of the import is: published while it runs (a few times a second at
    most, and when a phase starts; none in a run's first half second) and kept once it
    ends."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PROGRESS_EXAMPLE]})
    seq: int = Field(description="Counts the progress writes of the import (event ids).")
    phase: Literal["reading and validating", "staging", "planning", "writing", "reporting"] | None
    rows_read: int = Field(description="Rows read from the files so far.")
    rows_validated: int = Field(description="Rows read that passed validation.")
    rows_written: int = Field(
        description="Rows through the write phase so far, whatever their outcome "
        "(created, updated, unchanged or failed: the counts say which)."
    )
    rows_to_write: int | None = Field(description="Rows to write, once every file is read.")
    bytes_read: int = Field(description="Bytes of the files read so far (as stored).")
    bytes_total: int = Field(description="The size of the files.")
    errors: int = Field(description="Rows that failed so far.")
    percent: float | None = Field(
        description="Of the current phase: bytes while reading, rows while writing; null in "
        "a phase with no measure (staging, planning)."
    )
    rows_per_second: float = Field(description="Rows of the current phase a second.")
    eta_seconds: float | None = Field(description="Seconds left in the current phase.")
    elapsed_seconds: float = Field(description="Since the run started.")
    phases: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The last numbers of each finished phase (and its seconds), in order.",
    )


class Import(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_IMPORT_EXAMPLE]})
    id: str
    state: State
    tables: list[str]
    mode: str
    error_handling: str
    dry_run: bool
    notes: str | None
    counts: Counts
    rows_total: int
    rows_processed: int
    progress: ImportProgress | None = Field(
        default=None, description="Where its run is (null before it starts)."
    )
    warnings: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    reverted_at: datetime | None
    error: ImportFailure | None
    template_id: str | None = Field(default=None, description="The template it was made from.")
    kind: Literal["file", "bulk"] = Field(
        default="file",
        description="file: an import of files or records (POST /v1/imports); bulk: a "
        "synchronous bulk request (POST /v1/tables/{table}/records/bulk).",
    )
    created_by: Actor | None = Field(default=None, description="Who created it.")
    started_by: Actor | None = Field(
        default=None, description="Who started it: its creator, or who started a dry run."
    )
    cancelled_by: Actor | None = Field(default=None, description="Who cancelled it.")
    reverted_by: Actor | None = Field(default=None, description="Who reverted it.")


class ImportUpdate(_Closed):
    """A JSON merge patch of a queued or validated import: mapping and options merge key
    by key (null removes a key), notes is replaced."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "mapping": {"Project code": "external_id", "Old column": None},
                    "options": {"delimiter": ";", "date_formats": ["%d/%m/%Y"]},
                    "notes": "fixed the mapping",
                }
            ]
        },
    )
    mapping: dict[str, str | None] | None = Field(
        default=None, description="file column → column; null removes a file column's entry."
    )
    options: ImportOptions | None = Field(
        default=None, description="The options to change; null sets one back to its default."
    )
    notes: str | None = Field(default=None, max_length=10_000)


def _total_count() -> Any:
    return Field(
        default=None,
        description="With ?count=true: how many the filters keep, on all pages together.",
        examples=[137],
    )


class ImportPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [_IMPORT_EXAMPLE],
                    "next_cursor": "WyIyMDI2LTEyLTA2VDA5OjMwOjAwIl0",
                    "total_count": 137,
                }
            ]
        }
    )
    data: list[Import]
    next_cursor: str | None
    total_count: int | None = _total_count()


CellError = ErrorObject


class RowResult(BaseModel):
    table: str
    file: int = Field(
        description="The row's file: its position in the import's uploads, from 0 (rows are "
        "numbered within their file)."
    )
    row: int
    ref: str | None
    key: str | None
    outcome: Outcome
    id: int | None
    errors: list[CellError]
    changes: dict[str, Any] | None = Field(
        default=None, description="A dry run's field-level diff."
    )


class ResultPage(BaseModel):
    data: list[RowResult]
    next_cursor: str | None


class StartRequest(_Closed):
    force: bool = Field(
        default=False,
        description="Start a dry run that ended validation_failed (its rows failed) anyway.",
    )


class RevertRequest(_Closed):
    force: bool = Field(default=False, description="Overwrite rows changed since the import.")


class Reverted(BaseModel):
    deleted: int
    restored: int
    reinserted: int


class RevertResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    import_: Import = Field(alias="import")
    reverted: Reverted
    conflicts: list[dict[str, Any]]


# ---- templates -----------------------------------------------------------------------
_TEMPLATE_EXAMPLE: dict[str, Any] = {
    "id": "tpl_3a9f0c2e7b1d4e6f",
    "name": "crm-contacts",
    "tables": ["contacts"],
    "mode": "upsert",
    "error_handling": "lenient",
    "key": ["email"],
    "mapping": {"E-mail": "email", "Full name": "name"},
    "constants": {"source": "crm"},
    "options": {"date_formats": ["%d/%m/%Y"], "delimiter": ";"},
    "notes": "The weekly CRM export",
    "created_at": "2026-12-06T09:30:00Z",
    "updated_at": "2026-12-06T09:30:00Z",
}


class _TemplateFields(_Closed):
    table: str | None = Field(default=None, description="The target table of every file.")
    tables: list[str] | None = Field(default=None, description="One table per file (or one).")
    mode: Mode | None = None
    error_handling: ErrorHandling | None = None
    key: list[str] | None = Field(default=None, description="Match on these unique columns.")
    mapping: dict[str, str] | None = Field(
        default=None, description='file column → column ("": leave the file column out)'
    )
    constants: dict[str, Scalar] | None = Field(default=None, description="column → value")
    options: ImportOptions | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class TemplateCreate(_TemplateFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "crm-contacts",
                    "table": "contacts",
                    "key": ["email"],
                    "mapping": {"E-mail": "email"},
                    "options": {"delimiter": ";"},
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=200, description="Unique within the tenant.")


class TemplateUpdate(_TemplateFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"mapping": {"E-mail": "email", "Phone": "phone"}}]},
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)


class Template(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TEMPLATE_EXAMPLE]})
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
    created_at: datetime
    updated_at: datetime


class TemplatePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": [_TEMPLATE_EXAMPLE], "next_cursor": None}]}
    )
    data: list[Template]
    next_cursor: str | None


class ImportAsTemplate(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "crm-contacts", "notes": "from imp_…"}]},
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Required: the new template's name (checked after the import is found).",
    )
    notes: str | None = Field(default=None, max_length=10_000)


_PROJECT: dict[str, Any] = {
    "loadbay_id": 1,
    "external_id": "P-100",
    "name": "Hardware deployment",
    "customer": "Acme Corporation",
    "contact": "ada@acme.example",
    "status": "active",
    "budget": "500000.00",
}
_COMPANY: dict[str, Any] = {
    "loadbay_id": 1,
    "name": "Acme Corporation",
    "external_id": "C-001",
    "due_days": 30,
}


# ---- bulk records --------------------------------------------------------------------
class BulkRequest(_Closed):
    mode: Mode = "upsert"
    error_handling: ErrorHandling = Field(
        default="lenient",
        description="lenient: each record succeeds or fails alone (200, or 207 when some "
        "fail); strict: all or nothing (any failed record writes none: 422 row_errors "
        "with every error and result).",
    )
    lock_timeout: float | None = Field(
        default=None, ge=0, le=86_400, description=_LOCK_TIMEOUT, examples=[5]
    )
    records: list[dict[str, Any]] | dict[str, dict[str, Any]] = Field(
        description="A list of records, or an object of records keyed by client references."
    )


class BulkResult(BaseModel):
    ref: str | None
    row: int = Field(description="The record's position in the request (1-based).")
    outcome: Outcome
    id: int | None
    errors: list[ErrorObject]
    record: dict[str, Any] | None = Field(
        default=None,
        description="With ?return=records: the record as stored (with &expand=column, the "
        "referenced records inline).",
        examples=[{**_PROJECT, "customer": _COMPANY}],
    )


_BULK_EXAMPLE: dict[str, Any] = {
    "import_id": "imp_2c26b46b68ffc68f",
    "results": [
        {"ref": "1", "row": 1, "outcome": "created", "id": 41, "errors": []},
        {
            "ref": "2",
            "row": 2,
            "outcome": "failed",
            "id": None,
            "errors": [
                {
                    "row": 2,
                    "column": "budget",
                    "code": "invalid_decimal",
                    "message": "is not a number",
                    "value": "lots",
                }
            ],
        },
    ],
    "warnings": ["records: column 'colour' is not a column of projects; ignored"],
}


class BulkResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_BULK_EXAMPLE]})
    import_id: str
    results: list[BulkResult]
    warnings: list[str] = Field(
        default_factory=list, description="E.g. record fields that are no column (ignored)."
    )


# ---- tables and records --------------------------------------------------------------
class TableColumn(BaseModel):
    name: str
    type: str
    required: bool
    unique: bool
    default: str | None
    enum: list[str] | None
    min: str | None
    max: str | None
    max_length: int | None
    precision: int | None
    scale: int | None
    references: str | None
    format: str | None = Field(
        default=None, description="A date or datetime column's own format, e.g. %d/%m/%Y."
    )
    description: str | None = None


class TableInfo(BaseModel):
    name: str
    key: list[str]
    description: str | None
    columns: list[TableColumn]
    checks: list[str]


class TableList(BaseModel):
    data: list[TableInfo]


ColumnType = Literal[
    "text", "integer", "decimal", "boolean", "date", "datetime", "enum", "email", "currency"
]


class ColumnDefinition(_Closed):
    """A column, as in a schema file's ``columns``."""

    name: str = Field(max_length=63, description="lowercase letters, digits and _")
    type: ColumnType = "text"
    required: bool = False
    unique: bool = False
    default: str | None = None
    values: list[str] | None = Field(default=None, description="An enum's values.")
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = Field(default=None, ge=1)
    precision: int | None = Field(default=None, ge=1, le=38, description="A decimal's digits.")
    scale: int | None = Field(default=None, ge=0, le=38, description="Digits after the point.")
    references: str | None = Field(default=None, description="table.column of a key")
    description: str | None = Field(default=None, max_length=1000)
    format: str | None = Field(
        default=None, description="A date or datetime's format, e.g. %d/%m/%Y."
    )


class CheckDefinition(_Closed):
    left: str
    op: Literal[">="] = ">="
    right: str
    message: str | None = None


_TABLE_EXAMPLE: dict[str, Any] = {
    "name": "customers",
    "key": ["customer_id"],
    "columns": [
        {"name": "customer_id", "type": "integer", "required": True},
        {"name": "email", "type": "email"},
        {"name": "signed_up", "type": "date", "required": True, "format": "%d/%m/%Y"},
        {"name": "balance", "type": "decimal", "precision": 18, "scale": 2},
        {"name": "active", "type": "boolean"},
    ],
}


class TableDefinition(_Closed):
    """A table, as in a schema file's ``tables`` (``loadbay tables infer`` prints one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_TABLE_EXAMPLE]})

    name: str = Field(max_length=63, description="lowercase letters, digits and _")
    key: list[str] = Field(default_factory=list, description="No key: rows are appended.")
    columns: list[ColumnDefinition] = Field(min_length=1)
    checks: list[CheckDefinition] = Field(default_factory=list)
    description: str | None = Field(default=None, max_length=1000)


class TableInferRequest(_Closed):
    """Which upload to infer a table from, and how to read it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"upload_id": "upl_3f2a9c01d4e5b6a7", "key": "email"}]},
    )

    upload_id: str
    table: str | None = Field(
        default=None, description="The table's name (default: the file's name)."
    )
    key: str | None = Field(
        default=None,
        description="The key column (default: the first whose values are unique and set).",
    )
    options: ImportOptions | None = Field(
        default=None, description="How to read the file: format, delimiter, encoding, sheet."
    )


class TableSuggestion(BaseModel):
    """A table inferred from a file: POST it to /v1/tables (changed as you like) to
    create it; ``mapping`` imports the file's headers into its columns."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "table": _TABLE_EXAMPLE,
                    "mapping": {"Customer ID": "customer_id", "E-Mail": "email"},
                    "rows": 1200,
                    "notes": [],
                }
            ]
        }
    )

    table: TableDefinition
    mapping: dict[str, str] = Field(description="file header → column, where they differ")
    rows: int
    notes: list[str]


class TableAlter(_Closed):
    """Columns to add to a table you defined (the ones it has, given the same: kept)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"columns": [{"name": "phone", "type": "text"}]}]},
    )

    columns: list[ColumnDefinition] = Field(min_length=1)


class RecordPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"data": [_PROJECT], "next_cursor": "WzFd", "total_count": 3},
                {"data": [{**_PROJECT, "customer": _COMPANY}], "next_cursor": None},
            ]
        }
    )
    data: list[dict[str, Any]] = Field(
        description="Records: each column's value, a reference by its natural key, or with "
        "?expand=column the referenced record itself."
    )
    next_cursor: str | None
    total_count: int | None = _total_count()


# ---- tokens --------------------------------------------------------------------------
class TokenCreate(_Closed):
    scope: Scope
    name: str | None = Field(default=None, max_length=200)


class Token(BaseModel):
    id: str
    tenant: str
    name: str | None
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(Token):
    token: str = Field(description="The secret: shown this once, stored only as a hash.")


class TokenList(BaseModel):
    data: list[Token]


# ---- webhooks ------------------------------------------------------------------------
EventType = Literal[
    "import.validated",
    "import.validation_failed",
    "import.succeeded",
    "import.partially_succeeded",
    "import.failed",
    "import.cancelled",
    "import.reverted",
]
_WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": "wh_4f1c2a9e8b7d6c5a",
    "url": "https://hooks.example.com/loadbay",
    "events": ["import.succeeded", "import.failed"],
    "description": "CRM sync",
    "created_at": "2026-12-06T09:30:00Z",
    "enabled": True,
    "disabled_at": None,
    "disabled_reason": None,
}


class WebhookCreate(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://hooks.example.com/loadbay", "events": ["import.succeeded"]}
            ]
        },
    )
    url: str = Field(max_length=2000, description="An http(s) URL that receives the events.")
    events: list[EventType] | None = Field(
        default=None, min_length=1, description="The events to send (default: all)."
    )
    description: str | None = Field(default=None, max_length=1000)


class Webhook(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_WEBHOOK_EXAMPLE]})
    id: str
    url: str
    events: list[EventType]
    description: str | None
    created_at: datetime
    enabled: bool = Field(description="False once disabled after a day of failed deliveries.")
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookCreated(Webhook):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_WEBHOOK_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )
    secret: str = Field(
        description="The signing secret (whsec_…): shown this once; loadbay keeps it to sign."
    )


class WebhookList(BaseModel):
    data: list[Webhook]


class Delivery(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "dlv_9a8b7c6d5e4f3a2b1c0d",
                    "webhook_id": "wh_4f1c2a9e8b7d6c5a",
                    "event_id": "msg_2c4e6a8b0d1f3e5a7c9b1d3f",
                    "event": "import.succeeded",
                    "attempt": 2,
                    "status": "failed",
                    "scheduled_at": "2026-12-06T09:30:05Z",
                    "attempted_at": "2026-12-06T09:30:05Z",
                    "response_status": 503,
                    "duration_ms": 41,
                    "response_excerpt": "Service Unavailable",
                    "error": None,
                    "next_attempt_at": "2026-12-06T09:31:05Z",
                }
            ]
        }
    )
    id: str
    webhook_id: str
    event_id: str = Field(description="The webhook-id header: the same on every attempt.")
    event: EventType
    attempt: int
    status: Literal["pending", "sending", "succeeded", "failed"]
    scheduled_at: datetime
    attempted_at: datetime | None
    response_status: int | None
    duration_ms: int | None
    response_excerpt: str | None = Field(description="The answer's first 1 KiB.")
    error: str | None
    next_attempt_at: datetime | None = Field(description="When a failed attempt is retried.")


class DeliveryPage(BaseModel):
    data: list[Delivery]
    next_cursor: str | None
