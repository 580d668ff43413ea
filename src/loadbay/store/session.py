"""Session operations: what holds a connection across the transactions its caller runs.

Table locks (``store/locks.py``) and the SQLite files attached for an import's run
(``store/scratch.py``) belong to a connection's session, not to one of its transactions:
they are taken and let go between transactions, by context managers and functions a
service enters or calls by name. Those run only outside a transaction and never end the
caller's: one called in a transaction raises :class:`TransactionOpen` (a bug of the
caller) instead of committing or rolling back what the caller has not finished.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection


class TransactionOpen(RuntimeError):
    """A session operation was called while its connection was in a transaction."""


def outside_transaction(conn: Connection, what: str) -> Any:
    """The driver's connection of ``conn``, for ``what`` (a session operation) to send
    statements that need no transaction; raises when ``conn`` is in one."""
    if conn.in_transaction():
        raise TransactionOpen(
            f"{what} runs outside a transaction: the caller ends its own (commit or "
            "rollback) before it"
        )
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return raw
