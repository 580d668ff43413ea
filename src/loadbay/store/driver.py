"""Database driver errors as loadbay errors: the one place that knows the drivers' ways of
failing (psycopg's SQLSTATE, sqlite3's result codes) and names each kind so that the API
answers a problem document and the command line one line, never a 500 or a traceback.

Store functions let SQLAlchemy's errors rise (some catch the ones they expect, such as an
``IntegrityError`` of a race); whatever reaches an adapter goes through ``translate``.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from loadbay.errors import (
    ConstraintViolated,
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseUnavailable,
    InvalidData,
    LoadbayError,
    StoreError,
)

# sqlite3's primary result codes (the low byte of ``sqlite_errorcode``)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
_SQLITE_CORRUPT, _SQLITE_NOTADB, _SQLITE_IOERR, _SQLITE_CANTOPEN = 11, 26, 10, 14

#: PostgreSQL SQLSTATEs (and classes, two characters) of each kind
_PG_LOST = ("08", "57P01", "57P02", "57P03")  # connection exception, shut down, starting
_PG_BUSY = ("55P03", "40P01", "57014")  # lock not available, deadlock, statement timeout
_PG_FULL = ("53",)  # insufficient resources: disk full, out of memory, too many connections
_PG_CORRUPT = ("XX001", "XX002")  # data corrupted, index corrupted


def translate(exc: DBAPIError) -> LoadbayError:
    """The loadbay error of a driver error: what went wrong, in one line, with its code."""
    why = _first_line(exc)
    if exc.connection_invalidated:
        return DatabaseUnavailable("the database does not answer (its connection was lost)")
    state = str(getattr(exc.orig, "sqlstate", "") or "")
    sqlite_code = int(getattr(exc.orig, "sqlite_errorcode", -1)) & 0xFF
    if state.startswith(_PG_LOST):
        return DatabaseUnavailable(f"the database does not answer ({why})")
    if state.startswith(_PG_BUSY) or sqlite_code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return DatabaseBusy(f"the database is busy: {why}; retry shortly")
    if state.startswith(_PG_FULL) or sqlite_code == _SQLITE_FULL:
        return DatabaseFull(f"the database has no room left: {why}")
    if state.startswith(_PG_CORRUPT) or sqlite_code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return DatabaseCorrupt(f"the database is damaged: {why}")
    if sqlite_code in (_SQLITE_IOERR, _SQLITE_CANTOPEN):
        return StoreError(f"the database file cannot be read or written: {why}")
    if isinstance(exc, IntegrityError):
        return ConstraintViolated(f"the database refused the change: {why}")
    if isinstance(exc, DataError) or state.startswith("22"):
        return InvalidData(f"the database refused a value of the request: {why}")
    if isinstance(exc.orig, sqlite3.OperationalError) and "locked" in why:
        return DatabaseBusy(f"the database is busy: {why}; retry shortly")
    return StoreError(f"the database failed: {type(exc.orig).__name__}: {why}")


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
