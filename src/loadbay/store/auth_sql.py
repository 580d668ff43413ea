"""Named queries on tenants and API tokens. Tokens are found by the hash of their secret."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.domain.tokens import Token
from loadbay.store import system
from loadbay.store.keyed import insert_if_absent

#: the columns of a token that may be shown (never the hash)
_SHOWN = ("id", "tenant_id", "name", "scope", "created_at", "revoked_at")
_T = system.tokens
#: every API request looks its token up: built once
_ACTIVE_BY_HASH = sa.select(*[_T.c[n] for n in _SHOWN]).where(
    _T.c.secret_hash == sa.bindparam("w_hash"), _T.c.revoked_at.is_(None)
)


def ensure_tenant(conn: Connection, tenant: str, now: datetime) -> bool:
    """Create the tenant if it is new; True when it was created."""
    return insert_if_absent(conn, system.tenants, {"id": tenant, "created_at": now})


def insert_token(conn: Connection, token: Token, secret_hash: str) -> None:
    values = {**dataclasses.asdict(token), "secret_hash": secret_hash}
    conn.execute(sa.insert(system.tokens).values(**values))


def token_of(row: sa.RowMapping) -> Token:
    """The token a row of ``loadbay_tokens`` holds (the columns of ``_SHOWN``)."""
    return system.record_of(Token, row)


def active_token_by_hash(conn: Connection, secret_hash: str) -> Token | None:
    row = conn.execute(_ACTIVE_BY_HASH, {"w_hash": secret_hash}).mappings().one_or_none()
    return None if row is None else token_of(row)


def list_tokens(conn: Connection, tenant: str | None = None) -> list[Token]:
    t = system.tokens
    query = sa.select(*[t.c[n] for n in _SHOWN])
    if tenant is not None:
        query = query.where(t.c.tenant_id == tenant)
    rows = conn.execute(query.order_by(t.c.tenant_id, t.c.created_at, t.c.id)).mappings()
    return [token_of(r) for r in rows]


def get_token(conn: Connection, token_id: str, tenant: str | None = None) -> Token | None:
    t = system.tokens
    query = sa.select(*[t.c[n] for n in _SHOWN]).where(t.c.id == token_id)
    if tenant is not None:
        query = query.where(t.c.tenant_id == tenant)
    row = conn.execute(query).mappings().one_or_none()
    return None if row is None else token_of(row)


def revoke_token(conn: Connection, token_id: str, now: datetime, tenant: str | None = None) -> None:
    t = system.tokens
    query = sa.update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None))
    if tenant is not None:
        query = query.where(t.c.tenant_id == tenant)
    conn.execute(query.values(revoked_at=now))


def count_active_tokens(conn: Connection, scope: str | None = None) -> int:
    t = system.tokens
    query = sa.select(sa.func.count()).select_from(t).where(t.c.revoked_at.is_(None))
    if scope is not None:
        query = query.where(t.c.scope == scope)
    return int(conn.execute(query).scalar_one())
