"""Use cases of webhook subscriptions: subscribe, look, unsubscribe, deliveries, redeliver.

A subscription's secret is ``whsec_`` and the base64 of 24 random bytes (the Standard
Webhooks form). It is shown once, when the subscription is made, and stored as it is:
it has to sign every delivery, so a hash would not do.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loadbay.domain.webhooks import Delivery, Webhook
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


@dataclass(frozen=True)
class DeliveryPage:
    """A page of a subscription's deliveries, newest first, and the cursor of the next."""

    deliveries: list[Delivery]
    next_cursor: str | None


def webhook_view(webhook: Webhook) -> dict[str, object]:
    """A subscription as the API shows it (its secret only when it is made: ``created_view``)."""
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events),
        "description": webhook.description,
        "created_at": iso(webhook.created_at),
        "enabled": webhook.enabled,
        "disabled_at": iso(webhook.disabled_at),
        "disabled_reason": webhook.disabled_reason,
    }


def created_view(webhook: Webhook) -> dict[str, object]:
    """A subscription just made: with its secret, shown this once."""
    return {**webhook_view(webhook), "secret": webhook.secret}


def delivery_view(delivery: Delivery) -> dict[str, object]:
    return {
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "event": delivery.event_type,
        "attempt": delivery.attempt,
        "status": delivery.status,
        "scheduled_at": iso(delivery.scheduled_at),
        "attempted_at": iso(delivery.attempted_at),
        "response_status": delivery.response_status,
        "duration_ms": delivery.duration_ms,
        "response_excerpt": delivery.response_excerpt,
        "error": delivery.error,
        "next_attempt_at": iso(delivery.next_attempt_at),
    }


def page_view(page: DeliveryPage) -> dict[str, object]:
    return {"data": [delivery_view(d) for d in page.deliveries], "next_cursor": page.next_cursor}


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
) -> Webhook:
    """Subscribe ``url`` to events of the tenant; the subscription, with its new secret."""
    check_url(url, ctx.settings.webhook_allow_private)
    webhook = Webhook(
        id="wh_" + secrets.token_hex(8),
        tenant_id=tenant,
        url=url,
        events=tuple(_check_events(events)),
        description=description,
        secret=new_secret(),
        created_at=now(),
    )
    with ctx.engine.begin() as conn:
        webhooks_sql.insert_webhook(conn, webhook)
    return webhook


def list_webhooks(ctx: Context, tenant: str) -> list[Webhook]:
    with ctx.engine.connect() as conn, reading(conn).begin():
        return webhooks_sql.list_webhooks(conn, tenant)


def get_webhook(ctx: Context, tenant: str, webhook_id: str) -> Webhook:
    with ctx.engine.connect() as conn, reading(conn).begin():
        return webhooks_sql.get_webhook(conn, tenant, webhook_id)


def delete_webhook(ctx: Context, tenant: str, webhook_id: str) -> Webhook:
    """Unsubscribe: no more deliveries (pending ones go too); the subscription as it was."""
    with ctx.engine.begin() as conn:
        found = webhooks_sql.get_webhook(conn, tenant, webhook_id)
        webhooks_sql.delete_webhook(conn, tenant, webhook_id)
    return found


def page_deliveries(
    ctx: Context, tenant: str, webhook_id: str, limit: int = 50, cursor: str | None = None
) -> DeliveryPage:
    """The attempts of a subscription's deliveries, newest first (pending ones too)."""
    check_limit(limit)
    after = decode_time_cursor(cursor)
    with ctx.engine.connect() as conn, reading(conn).begin():
        webhooks_sql.get_webhook(conn, tenant, webhook_id)
        rows = webhooks_sql.page_deliveries(conn, tenant, webhook_id, limit, after)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = None
    if more and last is not None:
        next_cursor = encode_cursor([last.scheduled_at.isoformat(), last.id])
    return DeliveryPage(rows, next_cursor)


def redeliver(
    ctx: Context,
    tenant: str,
    webhook_id: str,
    delivery_id: str,
    queue: Callable[[], object] | None = None,
) -> Delivery:
    """Send a delivery's event again, now (same ``webhook-id``): a new pending attempt,
    handed to the workers by ``queue`` (else the next sweep)."""
    with ctx.engine.begin() as conn:
        hook = webhooks_sql.get_webhook(conn, tenant, webhook_id)
        if hook.disabled_at is not None:
            raise InvalidState(
                f"webhook {webhook_id} is disabled ({hook.disabled_reason}); subscribe "
                "again to receive deliveries"
            )
        found = webhooks_sql.get_delivery(conn, tenant, webhook_id, delivery_id)
        attempt = webhooks_sql.last_attempt(conn, webhook_id, found.event_id) + 1
        new_id = webhooks_sql.schedule(conn, tenant, webhook_id, found.event_id, attempt, now())
        planned = webhooks_sql.get_delivery(conn, tenant, webhook_id, new_id)
    if queue is not None:
        queue()
    return planned
