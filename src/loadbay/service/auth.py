"""Use cases of tenants and API tokens.

A token is ``lb_`` and 43 random URL-safe characters, shown once when it is made; only
its sha256 is stored. It belongs to one tenant and has one scope; scopes are cumulative
(``admin`` ⊃ ``write`` ⊃ ``read``).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass

from loadbay.domain.imports import Actor as Actor  # who did what to an import
from loadbay.domain.tokens import Token
from loadbay.errors import Forbidden, InvalidOption, NotFound, Unauthorized
from loadbay.service.context import Context
from loadbay.store import auth_sql
from loadbay.store.engine import reading, statements_alone
from loadbay.store.imports_sql import now

SCOPES = ("read", "write", "admin")
_RANK = {scope: rank for rank, scope in enumerate(SCOPES)}
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ADMIN_TOKEN_FILE = "admin-token"


#: the actor of a command run on this machine with the database itself (no token)
CLI = Actor(token_id=None, name="cli")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant, with a token of some scope."""

    tenant: str
    scope: str
    token_id: str
    token_name: str | None = None

    def allows(self, needed: str) -> bool:
        return _RANK[self.scope] >= _RANK[needed]

    @property
    def actor(self) -> Actor:
        return Actor(self.token_id, self.token_name)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_tenant(tenant: str) -> str:
    if not _TENANT.match(tenant):
        raise InvalidOption(
            f"tenant {tenant!r} is not valid: letters, digits, '_', '.', '-', at most 100"
        )
    return tenant


def check_scope(scope: str) -> str:
    if scope not in _RANK:
        raise InvalidOption(f"scope {scope!r} is not valid (use one of: {', '.join(SCOPES)})")
    return scope


def check_name(name: str | None) -> str | None:
    """A token's name: printable text (no NUL or other control character)."""
    if name is not None and not name.isprintable():
        raise InvalidOption(f"token name {name!r} is not valid: control characters (NUL) found")
    return name


def create_token(
    ctx: Context, tenant: str, scope: str, name: str | None = None
) -> tuple[Token, str]:
    """Make a token (and the tenant, if new); returns the token and its secret."""
    check_tenant(tenant)
    check_scope(scope)
    check_name(name)
    secret = "lb_" + secrets.token_urlsafe(32)
    token = Token(
        id="tok_" + secrets.token_hex(8),
        tenant_id=tenant,
        name=name,
        scope=scope,
        created_at=now(),
    )
    with ctx.engine.begin() as conn:
        auth_sql.ensure_tenant(conn, tenant, now())
        auth_sql.insert_token(conn, token, hash_token(secret))
    return token, secret


def list_tokens(ctx: Context, tenant: str | None = None) -> list[Token]:
    with ctx.engine.connect() as conn, reading(conn).begin():
        return auth_sql.list_tokens(conn, tenant)


def revoke_token(ctx: Context, token_id: str, tenant: str | None = None) -> Token:
    """Revoke a token (of ``tenant`` only, when given); revoking twice changes nothing."""
    with ctx.engine.begin() as conn:
        if auth_sql.get_token(conn, token_id, tenant) is None:
            raise NotFound(f"no token {token_id!r}")
        auth_sql.revoke_token(conn, token_id, now(), tenant)
        found = auth_sql.get_token(conn, token_id, tenant)
    assert found is not None
    return found


def authenticate(ctx: Context, token: str | None) -> Principal:
    """The caller of a bearer token; Unauthorized when it is missing, unknown or revoked."""
    if not token:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    with ctx.engine.connect() as conn, statements_alone(reading(conn)).begin():
        found = auth_sql.active_token_by_hash(conn, hash_token(token))
    if found is None:
        raise Unauthorized("the API token is not valid, or was revoked")
    return principal_of(found)


def principal_of(token: Token) -> Principal:
    """The caller a token stands for."""
    return Principal(
        tenant=token.tenant_id, scope=token.scope, token_id=token.id, token_name=token.name
    )


def require_scope(principal: Principal, needed: str) -> None:
    if not principal.allows(needed):
        raise Forbidden(
            f"this needs a token with the {needed!r} scope; this token has {principal.scope!r}",
            needed=needed,
        )


def bootstrap(ctx: Context) -> str | None:
    """On a fresh install: the tenant and an admin token, saved in ``<data dir>/admin-token``.

    Returns the new token (to be shown once), or None when an admin token exists already.
    """
    with ctx.engine.begin() as conn:
        auth_sql.ensure_tenant(conn, ctx.tenant, now())
        if auth_sql.count_active_tokens(conn, scope="admin"):
            return None
    _, secret = create_token(ctx, ctx.tenant, "admin", name="bootstrap admin")
    path = ctx.settings.data_dir / ADMIN_TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret
