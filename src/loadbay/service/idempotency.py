"""Idempotency keys: the same key with the same request gives the first response again.

A key is scoped to a tenant and an endpoint and kept 24 hours. The same key with a
different request is refused (IdempotencyKeyReused, 422). The key is claimed (a row
"in flight") before the work is done, atomically: of requests racing with one key only
the one that claimed it runs; the others wait a moment for its answer, then get
IdempotencyInFlight (409). A request that fails releases its key. A claim left in flight
by a process that died is given up after ``ABANDONED``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from loadbay.errors import IdempotencyInFlight, IdempotencyKeyReused, InvalidOption
from loadbay.service.context import Context
from loadbay.store import idempotency_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now

KEEP = timedelta(hours=24)
ABANDONED = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
#: how long a request waits for the answer of another one holding its key, and how often
#: it looks
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05

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


def _claim(ctx: Context, tenant: str, endpoint: str, key: str, print_: str) -> bool:
    """Claim the key for this request; False when another request holds it."""
    at = now()
    with ctx.engine.begin() as conn:
        idempotency_sql.delete_expired(conn, at - KEEP, at - ABANDONED)
        return idempotency_sql.claim_key(
            conn,
            {
                "tenant_id": tenant,
                "endpoint": endpoint,
                "key": key,
                "fingerprint": print_,
                "body": {},
                "created_at": at,
            },
        )


def _held(ctx: Context, tenant: str, endpoint: str, key: str, print_: str) -> Response | None:
    """The response kept for the key; None when it is free or still in flight.
    IdempotencyKeyReused when the key holds another request."""
    with ctx.engine.connect() as conn, reading(conn).begin():
        found = idempotency_sql.find_key(conn, tenant, endpoint, key, now() - KEEP)
    if found is None:
        return None
    if found["fingerprint"] != print_:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used with a different request in the last 24 hours"
        )
    if found["status"] == idempotency_sql.IN_FLIGHT:
        return None
    return int(found["status"]), dict(found["body"])


def _wait_or_claim(
    ctx: Context, tenant: str, endpoint: str, key: str, print_: str
) -> Response | None:
    """None once this request holds the key, or the response kept for it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not _claim(ctx, tenant, endpoint, key, print_):
        kept = _held(ctx, tenant, endpoint, key, print_)
        if kept is not None:
            return kept
        if time.monotonic() >= deadline:
            raise IdempotencyInFlight(
                f"a request with Idempotency-Key {key!r} is still being processed: "
                "retry shortly for its answer"
            )
        time.sleep(POLL_SECONDS)
    return None


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
    check_key(key)
    kept = _wait_or_claim(ctx, tenant, endpoint, key, print_)
    if kept is not None:
        return kept, True
    try:
        response = action()
        with ctx.engine.begin() as conn:
            idempotency_sql.finish_key(conn, tenant, endpoint, key, *response)
    except BaseException:
        with ctx.engine.begin() as conn:
            idempotency_sql.release_key(conn, tenant, endpoint, key)
        raise
    return response, False


@dataclass(frozen=True)
class Scoped:
    """An Idempotency-Key as an adapter received it: the key, the scope it is unique in
    (the API names its route: ``POST /v1/uploads``) and the status of the first answer,
    kept with its body. The service chooses neither."""

    key: str
    scope: str
    status: int
