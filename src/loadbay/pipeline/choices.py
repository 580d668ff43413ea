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
