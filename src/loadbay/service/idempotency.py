"""Idempotency keys: the same key with the same request gives the first response again.

A key is scoped to a tenant and an endpoint and kept 24 hours. The same key with a
different request is refused (IdempotencyKeyReused, 422). Two requests racing with one
key both run; the first to finish is the response kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from loadbay.errors import IdempotencyKeyReused, InvalidOption
from loadbay.service.context import Context
from loadbay.store import idempotency_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now

KEEP = timedelta(hours=24)
MAX_KEY_LENGTH = 255

Response = tuple[int, dict[str, Any]]


def fingerprint(*parts: bytes | str | None) -> str:
    """A hash of the parts of a request that make it the same request."""
    digest = hashlib.sha256()
    for part in parts:
        data = b"" if part is None else part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidOption(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def recall(ctx: Context, tenant: str, endpoint: str, key: str, print_: str) -> Response | None:
    """The first response to this key, or None; IdempotencyKeyReused for another request."""
    check_key(key)
    with ctx.engine.connect() as conn, reading(conn).begin():
        found = idempotency_sql.find_key(conn, tenant, endpoint, key, now() - KEEP)
    if found is None:
        return None
    if found["fingerprint"] != print_:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used with a different request in the last 24 hours"
        )
    return int(found["status"]), dict(found["body"])


def remember(
    ctx: Context, tenant: str, endpoint: str, key: str, print_: str, response: Response
) -> Response:
    """Keep the first response to a key; returns the response kept."""
    status, body = response
    with ctx.engine.begin() as conn:
        idempotency_sql.delete_expired(conn, now() - KEEP)
        saved = idempotency_sql.save_key(
            conn,
            {
                "tenant_id": tenant,
                "endpoint": endpoint,
                "key": key,
                "fingerprint": print_,
                "status": status,
                "body": body,
                "created_at": now(),
            },
        )
    if saved:
        return response
    return recall(ctx, tenant, endpoint, key, print_) or response


def once(
    ctx: Context,
    tenant: str,
    endpoint: str,
    key: str | None,
    print_: str,
    action: Callable[[], Response],
) -> tuple[Response, bool]:
    """Run ``action`` unless ``key`` already has a response; (response, replayed)."""
    if key is None:
        return action(), False
    first = recall(ctx, tenant, endpoint, key, print_)
    if first is not None:
        return first, True
    return remember(ctx, tenant, endpoint, key, print_, action()), False
