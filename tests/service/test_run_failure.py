"""A run that a database error stops ends with the error's translated code and words
(``store/driver.translate``, the one place driver errors are worded), as the API and the
command line give them, not a second wording of its own."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from loadbay.service.runner import _failure


def _driver_error(orig: Exception) -> sa.exc.DBAPIError:
    return sa.exc.OperationalError("INSERT INTO x VALUES (1)", {}, orig)


def test_a_busy_database_is_database_busy() -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = 5  # SQLITE_BUSY
    code, message = _failure(_driver_error(busy))
    assert code == "database_busy"
    assert "database is locked" in message and "retry" in message


def test_a_full_disk_is_database_full() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # SQLITE_FULL
    assert _failure(_driver_error(full))[0] == "database_full"
