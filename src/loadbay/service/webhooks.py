"""Use cases of webhook subscriptions: subscribe, look, unsubscribe, deliveries, redeliver.

A subscription's secret is ``whsec_`` and the base64 of 24 random bytes (the Standard
Webhooks form). It is shown once, when the subscription is made, and stored as it is:
it has to sign every delivery, so a hash would not do.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from loadbay.errors import InvalidOption, InvalidState
from loadbay.service.context import Context
from loadbay.service.pages import check_limit, decode_time_cursor, encode_cursor
from loadbay.service.views import iso
from loadbay.service.webhook_http import check_url
from loadbay.store import webhooks_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now

EVENT_TYPES = webhooks_sql.EVENT_TYPES
SECRET_BYTES = 24


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "url": record["url"],
        "events": list(record["events"] or []),
        "description": record.get("description"),
        "created_at": iso(record["created_at"]),
        "enabled": record.get("disabled_at") is None,
        "disabled_at": iso(record.get("disabled_at")),
        "disabled_reason": record.get("disabled_reason"),
    }


def delivery_view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "webhook_id": record["webhook_id"],
        "event_id": record["event_id"],
        "event": record["event_type"],
        "attempt": int(record["attempt"]),
        "status": record["status"],
        "scheduled_at": iso(record["scheduled_at"]),
        "attempted_at": iso(record.get("attempted_at")),
        "response_status": record.get("response_status"),
        "duration_ms": record.get("duration_ms"),
        "response_excerpt": record.get("response_excerpt"),
        "error": record.get("error"),
        "next_attempt_at": iso(record.get("next_attempt_at")),
    }


def _check_events(events: Sequence[str] | None) -> list[str]:
    if events is None:
        return list(EVENT_TYPES)
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidOption(
            f"event {unknown[0]!r} is not known (use any of: {', '.join(EVENT_TYPES)})",
            field="events",
        )
    if not events:
        raise InvalidOption("subscribe to at least one event", field="events")
    return list(dict.fromkeys(events))


def create_webhook(
    ctx: Context,
    tenant: str,
    url: str,
    events: Sequence[str] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Subscribe ``url`` to events of the tenant; the answer has the secret (only this once)."""
    check_url(url, ctx.settings.webhook_allow_private)
    secret = new_secret()
    record = {
        "id": "wh_" + secrets.token_hex(8),
        "tenant_id": tenant,
        "url": url,
        "events": _check_events(events),
        "description": description,
        "secret": secret,
        "created_at": now(),
    }
    with ctx.engine.begin() as conn:
        webhooks_sql.insert_webhook(conn, record)
    return {**webhook_view(record), "secret": secret}


def list_webhooks(ctx: Context, tenant: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn, reading(conn).begin():
        return [webhook_view(w) for w in webhooks_sql.list_webhooks(conn, tenant)]


def get_webhook(ctx: Context, tenant: str, webhook_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn, reading(conn).begin():
        return webhook_view(webhooks_sql.get_webhook(conn, tenant, webhook_id))


def delete_webhook(ctx: Context, tenant: str, webhook_id: str) -> dict[str, Any]:
    """Unsubscribe: no more deliveries (pending ones go too); the subscription as it was."""
    with ctx.engine.begin() as conn:
        found = webhooks_sql.get_webhook(conn, tenant, webhook_id)
        webhooks_sql.delete_webhook(conn, tenant, webhook_id)
    return webhook_view(found)


def page_deliveries(
    ctx: Context, tenant: str, webhook_id: str, limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """The attempts of a subscription's deliveries, newest first (pending ones too)."""
    check_limit(limit)
    after = decode_time_cursor(cursor)
    with ctx.engine.connect() as conn, reading(conn).begin():
        webhooks_sql.get_webhook(conn, tenant, webhook_id)
        rows = webhooks_sql.page_deliveries(conn, tenant, webhook_id, limit, after)
    more = len(rows) > limit
    rows = rows[:limit]
    last_row = rows[-1] if rows else None
    return {
        "data": [delivery_view(r) for r in rows],
        "next_cursor": (
            encode_cursor([last_row["scheduled_at"].isoformat(), last_row["id"]])
            if more and last_row
            else None
        ),
    }


def redeliver(
    ctx: Context,
    tenant: str,
    webhook_id: str,
    delivery_id: str,
    queue: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Send a delivery's event again, now (same ``webhook-id``): a new pending attempt,
    handed to the workers by ``queue`` (else the next sweep)."""
    with ctx.engine.begin() as conn:
        hook = webhooks_sql.get_webhook(conn, tenant, webhook_id)
        if hook["disabled_at"] is not None:
            raise InvalidState(
                f"webhook {webhook_id} is disabled ({hook['disabled_reason']}); subscribe "
                "again to receive deliveries"
            )
        found = webhooks_sql.get_delivery(conn, tenant, webhook_id, delivery_id)
        attempt = webhooks_sql.last_attempt(conn, webhook_id, found["event_id"]) + 1
        new_id = webhooks_sql.schedule(conn, tenant, webhook_id, found["event_id"], attempt, now())
        planned = delivery_view(webhooks_sql.get_delivery(conn, tenant, webhook_id, new_id))
    if queue is not None:
        queue()
    return planned
