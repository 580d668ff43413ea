"""The one catalogue of error codes and the one exception tree.

Two kinds of failure, never mixed:

* **Row errors** are data: a bad cell, a missing reference, a duplicate key.
  They are values of :class:`RowError` carrying a stable :class:`Code`, and
  every stage returns them and goes on.
* **Exceptions** are for what stops an import or a command as a whole: an
  unreadable file, an unknown table, a bad option, a state conflict. Each
  exception class has a stable ``code``; its docstring is its default message.

The exit codes of the command line and (later) the HTTP statuses are mapped
from the exception class in one table each (``EXIT_CODES`` below).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    """Stable codes of row errors, shared by the report, the CLI and the API."""

    REQUIRED = "required"
    INVALID_INTEGER = "invalid_integer"
    INVALID_DECIMAL = "invalid_decimal"
    INVALID_BOOLEAN = "invalid_boolean"
    INVALID_DATE = "invalid_date"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_ENUM = "invalid_enum"
    INVALID_EMAIL = "invalid_email"
    INVALID_CURRENCY = "invalid_currency"
    TOO_LONG = "too_long"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    INVALID_RANGE = "invalid_range"
    WRONG_FIELD_COUNT = "wrong_field_count"
    INVALID_RECORD = "invalid_record"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    DUPLICATE_KEY = "duplicate_key"
    DUPLICATE_VALUE = "duplicate_value"
    REFERENCE_NOT_FOUND = "reference_not_found"
    MISSING_KEY = "missing_key"
    INVALID_CHARACTER = "invalid_character"
    CELL_ERROR = "cell_error"  # a spreadsheet cell holding an error (#DIV/0!, #N/A…)
    READ_ONLY = "read_only"


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one cell (or one whole row when ``column`` is None)."""

    row: int
    column: str | None
    code: str
    message: str
    value: str | None = None
    table: str | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "value": self.value,
            "table": self.table,
            "file": self.source,
        }


#: how a message names an option, in the words of each interface (command line, API):
#: a message is written once with ``option(name)``, and shown by ``speak`` as its reader
#: knows it (an import's error is stored so, and shown either way)
OPTION_WORDS: dict[str, tuple[str, str]] = {
    "map": ("--map 'File Column=column'", 'mapping ({"File Column": "column"})'),
    "mapping": ("--map", "mapping"),
    "table": ("--table", "table"),
    "key": ("--key", "key"),
    "max_errors": ("--max-errors", "options.max_errors"),
    "lock_timeout": ("--lock-timeout", "lock_timeout"),
    "strict_columns": ("--strict-columns", "options.strict_columns"),
    "require_all_columns": ("--require-all-columns", "options.require_all_columns"),
}
_OPTION = re.compile(r"⟨(" + "|".join(OPTION_WORDS) + r")⟩")


def option(name: str) -> str:
    """An option as a message names it, whoever reads it (see ``speak``)."""
    if name not in OPTION_WORDS:
        raise ValueError(f"no words for option {name!r}")
    return f"⟨{name}⟩"


def speak(message: str, api: bool) -> str:
    """``message`` with its options in the words of the API (``api``) or the command line."""
    return _OPTION.sub(lambda m: OPTION_WORDS[m.group(1)][1 if api else 0], message)


#: the fields of every error object of the API (a row's, a problem's, a bulk result's)
ERROR_FIELDS = ("row", "column", "code", "message", "value")


def error_object(error: Mapping[str, object], row: object = None) -> dict[str, object]:
    """One error in the one shape of the API: ``row``, ``column``, ``code``, ``message``,
    ``value`` (a missing one is null; ``row`` given when ``error`` has none)."""
    found = {name: error.get(name) for name in ERROR_FIELDS}
    if found["row"] is None:
        found["row"] = row
    return found


class Abandoned(BaseException):
    """The run of an import stops here and leaves the import as it is, to whoever takes it
    over (a worker that lost its lease; in tests, a process that dies at this point)."""


class LoadbayError(Exception):
    """Something went wrong in loadbay."""

    code = "error"

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or (self.__doc__ or self.code).strip().splitlines()[0]
        self.details = details
        super().__init__(self.message)


class InvalidInput(LoadbayError):
    """The input cannot be imported."""

    code = "invalid_input"


class UnreadableFile(InvalidInput):
    """The file cannot be read."""

    code = "unreadable_file"


class UnsupportedFormat(InvalidInput):
    """The file format is not supported."""

    code = "unsupported_format"


class EncodingError(InvalidInput):
    """The file is not in the expected text encoding."""

    code = "invalid_encoding"


class MissingColumn(InvalidInput):
    """A column the import needs is not in the file."""

    code = "missing_column"


class UnknownColumn(InvalidInput):
    """The file has columns that the table does not have."""

    code = "unknown_column"


class InvalidOption(InvalidInput):
    """An option of the import is not valid."""

    code = "invalid_option"


class InvalidSchema(InvalidInput):
    """The table schema is not valid."""

    code = "invalid_schema"


class TooManyErrors(InvalidInput):
    """More rows failed than the import allows."""

    code = "too_many_errors"


class LimitExceeded(InvalidInput):
    """The file goes over a limit of what loadbay reads (details: limit, value)."""

    code = "limit_exceeded"


class RowsFailed(InvalidInput):
    """Rows of the import failed: nothing was written (strict)."""

    code = "row_errors"


class NotFound(LoadbayError):
    """The requested resource does not exist."""

    code = "not_found"


class UnknownTable(NotFound):
    """There is no such table."""

    code = "unknown_table"


class Conflict(LoadbayError):
    """The request conflicts with the current state."""

    code = "conflict"


class InvalidState(Conflict):
    """The import is not in a state that allows this."""

    code = "invalid_state"


class RevertConflict(Conflict):
    """Rows were changed after the import; revert with force to overwrite them."""

    code = "revert_conflict"


class Locked(Conflict):
    """Another import is writing to the same table."""

    code = "locked"


class Cancelled(Conflict):
    """The import was cancelled."""

    code = "cancelled"


class Interrupted(LoadbayError):
    """The import was interrupted before it finished."""

    code = "interrupted"


class WorkerCrashed(LoadbayError):
    """The import stopped its worker too many times and was given up."""

    code = "worker_crashed"


class InternalError(LoadbayError):
    """loadbay failed unexpectedly (a bug)."""

    code = "internal_error"


class OutOfMemory(LoadbayError):
    """loadbay ran out of memory."""

    code = "out_of_memory"


class SystemFailure(LoadbayError):
    """The operating system refused a file operation (a missing folder, no space left…)."""

    code = "os_error"


class StoreError(LoadbayError):
    """The database failed."""

    code = "database_error"


class StageLost(StoreError):
    """The rows an interrupted import had staged were lost, and cannot be staged again."""

    code = "stage_lost"


class PayloadTooLarge(InvalidInput):
    """The request is larger than allowed."""

    code = "payload_too_large"


class IdempotencyKeyReused(InvalidInput):
    """This Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"


class IdempotencyInFlight(Conflict):
    """A request with this Idempotency-Key is still being processed: retry shortly."""

    code = "idempotency_in_flight"


class InvalidCharacter(InvalidInput):
    """The request holds a character loadbay cannot store (NUL)."""

    code = "invalid_character"


class BadRequest(InvalidInput):
    """The request is malformed."""

    code = "bad_request"


class InvalidBase64(BadRequest):
    """The content is not valid base64."""

    code = "invalid_base64"


class UnknownExpand(BadRequest):
    """A name to expand is not a reference of the table."""

    code = "unknown_expand"


class InvalidData(InvalidInput):
    """The database refused a value of the request."""

    code = "invalid_data"


class Unauthorized(LoadbayError):
    """A valid bearer token is needed."""

    code = "unauthorized"


class Forbidden(LoadbayError):
    """The token does not have the scope this needs."""

    code = "forbidden"


class RateLimited(LoadbayError):
    """Too many requests: retry later."""

    code = "rate_limited"


class Unavailable(StoreError):
    """A service loadbay needs (the database or the queue) does not answer."""

    code = "unavailable"


class InvalidWebhookUrl(InvalidInput):
    """The webhook URL is not allowed."""

    code = "invalid_webhook_url"


class DatabaseUnavailable(Unavailable):
    """The database does not answer (the connection was lost): retry shortly."""

    code = "database_unavailable"


class DatabaseBusy(Unavailable):
    """The database is busy (a lock held too long, a deadlock): retry shortly."""

    code = "database_busy"


class DatabaseFull(StoreError):
    """The database has no room left (its disk is full)."""

    code = "database_full"


class DatabaseCorrupt(StoreError):
    """The database is damaged (its file is not a database, or a page is corrupt)."""

    code = "database_corrupt"


class ConstraintViolated(Conflict):
    """The database refused a change that breaks one of its constraints."""

    code = "constraint_violated"


#: exit code of the command line for each exception class (most specific first)
EXIT_CODES: tuple[tuple[type[LoadbayError], int], ...] = (
    (RowsFailed, 3),  # EXIT_ROW_ERRORS
    (InvalidInput, 1),
    (NotFound, 1),
    (Conflict, 1),
    (StoreError, 1),
    (LoadbayError, 1),
)

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_ROW_ERRORS = 3
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


def error_from(code: object, message: object, **details: object) -> LoadbayError:
    """The error of class ``code`` (as an import's record keeps it: error_code, error),
    so that it answers with its class's HTTP status; LoadbayError for an unknown code."""
    found: type[LoadbayError] = LoadbayError
    classes: list[type[LoadbayError]] = [LoadbayError]
    while classes:
        cls = classes.pop()
        if cls.code == code:
            found = cls
            break
        classes += cls.__subclasses__()
    error = found(str(message or "the request failed"), **details)
    error.code = str(code or found.code)
    return error


def exit_code_for(exc: LoadbayError) -> int:
    """By the class of ``exc``, or by its code (an error as an import's record keeps it)."""
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls) or exc.code == cls.code:
            return code
    return EXIT_FATAL


#: HTTP status of the API for each exception class (most specific first)
HTTP_STATUS: tuple[tuple[type[LoadbayError], int], ...] = (
    (PayloadTooLarge, 413),
    (InvalidCharacter, 400),
    (BadRequest, 400),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
    (StoreError, 503),
    (LoadbayError, 500),
)


def http_status_for(exc: LoadbayError) -> int:
    for cls, status in HTTP_STATUS:
        if isinstance(exc, cls):
            return status
    return 500
