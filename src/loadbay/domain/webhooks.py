"""Webhook subscriptions and the attempts to deliver their events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Webhook:
    """A tenant's subscription (``wh_…``) of ``url`` to some events. ``secret``
    (``whsec_…``) signs every delivery; it is shown once, when the subscription is made.
    A subscription whose deliveries failed for too long is disabled (``disabled_at``,
    ``disabled_reason``); ``failing_since`` is when its failures began (None: it answers)."""

    id: str
    tenant_id: str
    url: str
    events: tuple[str, ...]
    description: str | None
    secret: str
    created_at: datetime
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class Delivery:
    """One attempt (``dlv_…``), made or planned (``pending``), to deliver an event
    (``event_id``, of type ``event_type``) to a subscription."""

    id: str
    tenant_id: str
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int
    status: str
    scheduled_at: datetime
    attempted_at: datetime | None = None
    response_status: int | None = None
    duration_ms: int | None = None
    response_excerpt: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryJob:
    """A delivery taken to be sent, with what sending it needs: its subscription's
    ``url``, ``secret`` and state, and its event's data (the import as it was then) and
    time."""

    delivery: Delivery
    url: str
    secret: str
    disabled_at: datetime | None
    failing_since: datetime | None
    event_data: Mapping[str, object]
    event_at: datetime
