"""Named queries of webhooks: subscriptions, the outbox of events, delivery attempts.

The outbox hook, :func:`record_event`, runs inside the transaction of an import's change
of state (``imports_sql.set_state_if``), so an event exists if and only if its change was
committed. It costs one indexed read of the tenant's subscriptions; an event is recorded
only for a tenant subscribed to it, with one pending delivery per subscription.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.domain.webhooks import Delivery, DeliveryJob, Webhook
from loadbay.errors import NotFound
from loadbay.store import system

#: the event of each state an import may move to; other states have none
EVENT_OF_STATE = {
    "validated": "import.validated",
    "validation_failed": "import.validation_failed",
    "succeeded": "import.succeeded",
    "partially_succeeded": "import.partially_succeeded",
    "failed": "import.failed",
    "cancelled": "import.cancelled",
    "reverted": "import.reverted",
}
EVENT_TYPES = tuple(EVENT_OF_STATE.values())

PENDING, SENDING, SUCCEEDED, FAILED = "pending", "sending", "succeeded", "failed"

#: what an event keeps of the import: what its resource shows, not its request or plan
_SNAPSHOT_SKIPS = frozenset({"request", "checkpoint", "timings", "write_stamp", "tenant_id"})

_W, _E, _D = system.webhooks, system.webhook_events, system.webhook_deliveries
_SUBSCRIBED = sa.select(_W.c.id, _W.c.events).where(
    _W.c.tenant_id == sa.bindparam("w_tenant"), _W.c.disabled_at.is_(None)
)
_IMPORT = sa.select(system.imports).where(system.imports.c.id == sa.bindparam("w_id"))
_INSERT_EVENT = sa.insert(_E)
_INSERT_DELIVERY = sa.insert(_D)


def event_type(current: Sequence[str], state: str) -> str | None:
    """The event of a move from one of ``current`` to ``state``, or None: a refused revert
    going back to the state it left (``reverting`` → ``succeeded``) is no new event."""
    event = EVENT_OF_STATE.get(state)
    if event is None or (state != "reverted" and set(current) == {"reverting"}):
        return None
    return event


def record_event(
    conn: Connection, tenant: str, import_id: str, event: str, at: datetime
) -> str | None:
    """The outbox: record ``event`` of an import, and a pending delivery for each
    subscription of the tenant to it, in the caller's transaction. The event's id, or None
    when nobody is subscribed (then one read was the whole cost)."""
    subscribed = [
        str(row.id)
        for row in conn.execute(_SUBSCRIBED, {"w_tenant": tenant})
        if event in (row.events or [])
    ]
    if not subscribed:
        return None
    record = conn.execute(_IMPORT, {"w_id": import_id}).mappings().one()
    event_id = "msg_" + secrets.token_hex(12)
    data = {k: _plain(v) for k, v in record.items() if k not in _SNAPSHOT_SKIPS}
    conn.execute(
        _INSERT_EVENT,
        {
            "id": event_id,
            "tenant_id": tenant,
            "type": event,
            "import_id": import_id,
            "data": data,
            "created_at": at,
        },
    )
    conn.execute(
        _INSERT_DELIVERY,
        [_pending(tenant, webhook_id, event_id, 1, at) for webhook_id in subscribed],
    )
    return event_id


def _plain(value: Any) -> Any:
    """A value of the import's row as JSON keeps it (times as ISO 8601 text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _pending(
    tenant: str, webhook_id: str, event_id: str, attempt: int, at: datetime
) -> dict[str, Any]:
    return {
        "id": "dlv_" + secrets.token_hex(10),
        "tenant_id": tenant,
        "webhook_id": webhook_id,
        "event_id": event_id,
        "attempt": attempt,
        "status": PENDING,
        "scheduled_at": at,
    }


# ---- the records of rows ---------------------------------------------------------------
def webhook_of(row: Mapping[Any, Any]) -> Webhook:
    """The subscription a row of ``loadbay_webhooks`` holds."""
    return system.record_of(Webhook, row, events=tuple(row["events"] or ()))


def delivery_of(row: Mapping[Any, Any]) -> Delivery:
    """The attempt a row of ``loadbay_webhook_deliveries`` holds, with its event's type."""
    return system.record_of(Delivery, row)


# ---- subscriptions -------------------------------------------------------------------
def insert_webhook(conn: Connection, webhook: Webhook) -> None:
    values = {**dataclasses.asdict(webhook), "events": list(webhook.events)}
    conn.execute(sa.insert(_W), system.known_values(_W, values))


def list_webhooks(conn: Connection, tenant: str) -> list[Webhook]:
    query = sa.select(_W).where(_W.c.tenant_id == tenant).order_by(_W.c.created_at, _W.c.id)
    return [webhook_of(r) for r in conn.execute(query).mappings()]


def get_webhook(conn: Connection, tenant: str, webhook_id: str) -> Webhook:
    return webhook_of(system.tenant_row(conn, _W, tenant, webhook_id, "webhook"))


def delete_webhook(conn: Connection, tenant: str, webhook_id: str) -> None:
    """The subscription and its deliveries (its events stay: others may share them)."""
    conn.execute(sa.delete(_D).where(_D.c.webhook_id == webhook_id, _D.c.tenant_id == tenant))
    conn.execute(sa.delete(_W).where(_W.c.id == webhook_id, _W.c.tenant_id == tenant))


def set_failing(conn: Connection, webhook_id: str, since: datetime | None) -> None:
    """Note when a subscription began failing (None: it answered again)."""
    conn.execute(sa.update(_W).where(_W.c.id == webhook_id).values(failing_since=since))


def disable_webhook(conn: Connection, webhook_id: str, at: datetime, reason: str) -> None:
    conn.execute(
        sa.update(_W)
        .where(_W.c.id == webhook_id, _W.c.disabled_at.is_(None))
        .values(disabled_at=at, disabled_reason=reason)
    )


# ---- deliveries ----------------------------------------------------------------------
def _due(at: datetime) -> sa.ColumnElement[bool]:
    """Pending and due, or claimed by a process that has not finished it in time."""
    return sa.or_(
        sa.and_(_D.c.status == PENDING, _D.c.scheduled_at <= at),
        sa.and_(_D.c.status == SENDING, _D.c.claimed_until < at),
    )


def any_due(conn: Connection, at: datetime) -> bool:
    return conn.execute(sa.select(_D.c.id).where(_due(at)).limit(1)).first() is not None


def due_ids(conn: Connection, at: datetime, limit: int) -> list[str]:
    query = sa.select(_D.c.id).where(_due(at)).order_by(_D.c.scheduled_at).limit(limit)
    return [str(x) for x in conn.execute(query).scalars()]


def claim(conn: Connection, delivery_id: str, at: datetime, until: datetime) -> bool:
    """Take a due delivery to send it (compare-and-set: one process sends it)."""
    done = conn.execute(
        sa.update(_D)
        .where(_D.c.id == delivery_id, _due(at))
        .values(status=SENDING, claimed_until=until)
    )
    return bool(done.rowcount)


def delivery_job(conn: Connection, delivery_id: str) -> DeliveryJob | None:
    """A claimed delivery with its subscription (url, secret, disabled) and its event."""
    query = (
        sa.select(
            _D,
            _W.c.url,
            _W.c.secret,
            _W.c.disabled_at,
            _W.c.failing_since,
            _E.c.type.label("event_type"),
            _E.c.data.label("event_data"),
            _E.c.created_at.label("event_at"),
        )
        .join(_W, _W.c.id == _D.c.webhook_id)
        .join(_E, _E.c.id == _D.c.event_id)
        .where(_D.c.id == delivery_id)
    )
    row = conn.execute(query).mappings().one_or_none()
    if row is None:
        return None
    event_data = dict(row["event_data"])
    return system.record_of(DeliveryJob, row, delivery=delivery_of(row), event_data=event_data)


def finish_attempt(conn: Connection, delivery_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(_D)
        .where(_D.c.id == delivery_id)
        .values(**system.known_values(_D, {**values, "claimed_until": None}))
    )


def schedule(
    conn: Connection, tenant: str, webhook_id: str, event_id: str, attempt: int, at: datetime
) -> str:
    """Plan an attempt of an event's delivery at ``at``; its id."""
    row = _pending(tenant, webhook_id, event_id, attempt, at)
    conn.execute(_INSERT_DELIVERY, row)
    return str(row["id"])


def page_deliveries(
    conn: Connection,
    tenant: str,
    webhook_id: str,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[Delivery]:
    """Newest first on (scheduled_at, id), with the event's type; ``limit`` + 1 rows."""
    query = (
        sa.select(_D, _E.c.type.label("event_type"))
        .join(_E, _E.c.id == _D.c.event_id)
        .where(_D.c.webhook_id == webhook_id, _D.c.tenant_id == tenant)
    )
    query = system.newest_first(query, _D.c.scheduled_at, _D.c.id, after, limit)
    return [delivery_of(r) for r in conn.execute(query).mappings()]


def get_delivery(conn: Connection, tenant: str, webhook_id: str, delivery_id: str) -> Delivery:
    query = (
        sa.select(_D, _E.c.type.label("event_type"))
        .join(_E, _E.c.id == _D.c.event_id)
        .where(_D.c.id == delivery_id, _D.c.webhook_id == webhook_id, _D.c.tenant_id == tenant)
    )
    row = conn.execute(query).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no delivery {delivery_id!r} of webhook {webhook_id!r}")
    return delivery_of(row)


def last_attempt(conn: Connection, webhook_id: str, event_id: str) -> int:
    query = sa.select(sa.func.max(_D.c.attempt)).where(
        _D.c.webhook_id == webhook_id, _D.c.event_id == event_id
    )
    return int(conn.execute(query).scalar_one() or 0)
