"""Use cases of the service's health: is the database there, is the queue there."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from loadbay.errors import Unavailable
from loadbay.service.context import Context
from loadbay.store.dialect import dialect_of


def database_warnings(ctx: Context) -> list[str]:
    """What an operator should change in the database's setup, said once at start."""
    return dialect_of(ctx.engine).setup_warnings(ctx.engine)


def ready(ctx: Context, queue_ping: Callable[[], None]) -> dict[str, str]:
    """``{"database": "ok", "queue": "ok"}``, or Unavailable (503) naming what is down."""
    try:
        with ctx.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise Unavailable(f"the database does not answer: {type(exc).__name__}") from None
    try:
        queue_ping()
    except Exception as exc:
        raise Unavailable(f"the queue does not answer: {type(exc).__name__}") from None
    return {"database": "ok", "queue": "ok"}
