"""``/v1/webhooks`` (admin): subscriptions to the tenant's import events, their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from loadbay.api.deps import Admin, Svc
from loadbay.api.openapi import errors
from loadbay.api.schemas import (
    Delivery,
    DeliveryPage,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
)
from loadbay.service import webhooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post(
    "", status_code=201, response_model=WebhookCreated, responses=errors(401, 403, 422, 429)
)
async def create_webhook(body: WebhookCreate, principal: Admin, svc: Svc) -> dict[str, object]:
    """Subscribe a URL to import events; the signing secret is in this answer only."""
    made = await run_in_threadpool(
        webhooks.create_webhook,
        svc.ctx,
        principal.tenant,
        body.url,
        body.events,
        body.description,
    )
    return webhooks.created_view(made)


@router.get("", response_model=WebhookList, responses=errors(401, 403, 429))
def list_webhooks(principal: Admin, svc: Svc) -> dict[str, object]:
    """The tenant's subscriptions (never their secrets)."""
    found = webhooks.list_webhooks(svc.ctx, principal.tenant)
    return {"data": [webhooks.webhook_view(w) for w in found]}


@router.get("/{webhook_id}", response_model=Webhook, responses=errors(401, 403, 404, 429))
def get_webhook(webhook_id: str, principal: Admin, svc: Svc) -> dict[str, object]:
    """One subscription: enabled, or disabled with the reason."""
    return webhooks.webhook_view(webhooks.get_webhook(svc.ctx, principal.tenant, webhook_id))


@router.delete("/{webhook_id}", response_model=Webhook, responses=errors(401, 403, 404, 429))
def delete_webhook(webhook_id: str, principal: Admin, svc: Svc) -> dict[str, object]:
    """Unsubscribe: nothing more is sent to it, pending deliveries included."""
    gone = webhooks.delete_webhook(svc.ctx, principal.tenant, webhook_id)
    return webhooks.webhook_view(gone)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=errors(401, 403, 404, 422, 429),
)
def list_deliveries(
    webhook_id: str,
    principal: Admin,
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, object]:
    """Every attempt, newest first: event, status, response code, duration, next attempt."""
    page = webhooks.page_deliveries(svc.ctx, principal.tenant, webhook_id, limit, cursor)
    return webhooks.page_view(page)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=Delivery,
    responses=errors(401, 403, 404, 409, 429),
)
def redeliver(webhook_id: str, delivery_id: str, principal: Admin, svc: Svc) -> dict[str, object]:
    """Send the delivery's event again, with the same webhook-id: a new attempt, due now."""
    planned = webhooks.redeliver(
        svc.ctx, principal.tenant, webhook_id, delivery_id, queue=svc.jobs.sweep_webhooks
    )
    return webhooks.delivery_view(planned)
