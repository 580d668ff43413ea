"""The choices of an import (mode, empty cells, error handling): plain enums, importable
without the engine (the command line's options are made of them at start-up)."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"
    REPLACE = "replace"
    APPEND = "append"
    DELETE = "delete"


class EmptyPolicy(StrEnum):
    """What an empty cell means when a row updates a stored one."""

    KEEP = "keep"  # leave the stored value alone
    CLEAR = "clear"  # set it to null


class ErrorHandling(StrEnum):
    STRICT = "strict"
    LENIENT = "lenient"


#: the read options of a source, as the API and the CLI name them
SOURCE_OPTIONS = (
    "format",
    "delimiter",
    "encoding",
    "sheet",
    "header",
    "skip_lines",
    "header_row",
    "comment",
    "escape",
)
IMPORT_OPTIONS = (
    "strict_columns",
    "require_all_columns",
    "empty",
    "date_formats",
    "decimal_comma",
    "max_errors",
    "lock_timeout",
)
