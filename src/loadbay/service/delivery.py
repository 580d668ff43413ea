"""Delivering webhook events: signed as Standard Webhooks, retried with backoff.

An event is recorded in the outbox with the state change that causes it, with one pending
delivery per subscription (store/webhooks_sql.py). A worker's queue task sends the due
ones (``deliver_due``), never the request or the import's transaction; the reaper's sweep
queues that task whenever some are due, so the events a stopped process left are sent
after it. A delivery is taken with a compare-and-set and sent outside any transaction;
each attempt is recorded. A failed attempt plans the next after the settings' schedule
(5 s, 1 min, 5 min, 30 min, 2 h, 8 h) and then gives up; a subscription whose deliveries
have failed for ``webhook_disable_after`` (a day) is disabled, with the reason.

Headers: ``webhook-id`` (the event's id: the same on every attempt), ``webhook-timestamp``
and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``
keyed with the base64-decoded secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from loadbay import __version__
from loadbay.domain.imports import Import
from loadbay.domain.webhooks import DeliveryJob
from loadbay.service.context import Context
from loadbay.service.views import import_view, iso
from loadbay.service.webhook_http import Answer, post
from loadbay.store import webhooks_sql
from loadbay.store.imports_sql import now

log = logging.getLogger("loadbay.webhooks")

#: deliveries one run of the task sends at most (the next sweep queues the rest)
BATCH = 20


def body_of(job: DeliveryJob) -> bytes:
    """The payload of an event: the same bytes on every attempt."""
    payload = {
        "type": job.delivery.event_type,
        "timestamp": iso(job.event_at),
        "data": import_view(Import.from_row(job.event_data)),
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers_of(job: DeliveryJob, body: bytes, timestamp: int) -> dict[str, str]:
    message_id = job.delivery.event_id
    return {
        "content-type": "application/json",
        "user-agent": f"loadbay/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(job.secret, message_id, timestamp, body),
    }


def has_due(ctx: Context) -> bool:
    with ctx.engine.begin() as conn:
        return webhooks_sql.any_due(conn, now())


def deliver_due(ctx: Context, limit: int = BATCH) -> int:
    """Send the deliveries that are due (at most ``limit``); how many were attempted."""
    with ctx.engine.begin() as conn:
        ids = webhooks_sql.due_ids(conn, now(), limit)
    sent = 0
    for delivery_id in ids:
        if deliver(ctx, delivery_id):
            sent += 1
    return sent


def deliver(ctx: Context, delivery_id: str) -> bool:
    """Take one due delivery, send it and record the attempt; False if another took it."""
    settings = ctx.settings
    claimed_until = now() + timedelta(seconds=settings.webhook_timeout * 2 + 30)
    with ctx.engine.begin() as conn:
        if not webhooks_sql.claim(conn, delivery_id, now(), claimed_until):
            return False
        job = webhooks_sql.delivery_job(conn, delivery_id)
    if job is None:
        return False
    if job.disabled_at is not None:
        answer = Answer(None, "", 0, "the subscription is disabled")
    else:
        body = body_of(job)
        headers = headers_of(job, body, int(time.time()))
        answer = post(
            job.url,
            body,
            headers,
            settings.webhook_timeout,
            settings.webhook_allow_private,
        )
    _record(ctx, job, answer)
    return True


def _record(ctx: Context, job: DeliveryJob, answer: Answer) -> None:
    """The attempt's outcome; on failure the next attempt, or giving up, or disabling."""
    at, delivery = now(), job.delivery
    values: dict[str, object] = {
        "status": webhooks_sql.SUCCEEDED if answer.ok else webhooks_sql.FAILED,
        "attempted_at": at,
        "response_status": answer.status,
        "duration_ms": answer.duration_ms,
        "response_excerpt": answer.excerpt or None,
        "error": answer.error,
    }
    with ctx.engine.begin() as conn:
        if answer.ok:
            if job.failing_since is not None:
                webhooks_sql.set_failing(conn, delivery.webhook_id, None)
        elif job.disabled_at is None:
            values.update(_after_failure(ctx, conn, job, answer, at))
        webhooks_sql.finish_attempt(conn, delivery.id, values)
    if not answer.ok:
        log.warning(
            "webhook %s: delivery %s of %s failed: %s",
            delivery.webhook_id,
            delivery.id,
            delivery.event_id,
            answer.error or f"HTTP {answer.status}",
        )


def _after_failure(
    ctx: Context, conn: Connection, job: DeliveryJob, answer: Answer, at: datetime
) -> dict[str, object]:
    settings, delivery = ctx.settings, job.delivery
    since = job.failing_since or at
    if job.failing_since is None:
        webhooks_sql.set_failing(conn, delivery.webhook_id, since)
    why = answer.error or f"HTTP {answer.status}"
    if (at - since).total_seconds() >= settings.webhook_disable_after:
        reason = f"every delivery failed since {iso(since)}; the last: {why}"
        webhooks_sql.disable_webhook(conn, delivery.webhook_id, at, reason)
        return {"error": f"{why}; the subscription is now disabled"}
    attempt = delivery.attempt
    schedule = settings.webhook_retry_schedule
    if attempt > len(schedule):
        return {"error": f"{why}; given up after {attempt} attempts"}
    next_at = at + timedelta(seconds=schedule[attempt - 1])
    webhooks_sql.schedule(
        conn, delivery.tenant_id, delivery.webhook_id, delivery.event_id, attempt + 1, next_at
    )
    return {"next_attempt_at": next_at}
