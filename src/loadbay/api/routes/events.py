"""``GET /v1/imports/{id}/events``: an import's progress as server-sent events.

The import's row is read every ``INTERVAL`` seconds; an ``event: progress`` is sent when
its state, counts or rows processed changed, and the stream ends after the event of a
settled state (``validated``, ``succeeded``, …). The web importer streams the same events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from loadbay.api.deps import Reader, Svc
from loadbay.api.openapi import errors
from loadbay.service import queued, states
from loadbay.service.context import Context

router = APIRouter(prefix="/v1/imports", tags=["imports"])

INTERVAL = 0.5
_FIELDS = ("id", "state", "dry_run", "counts", "rows_total", "rows_processed", "error")
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: `event: progress` with the import's state and "
        "counts, on every change; the stream ends after a settled state.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def progress_of(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in _FIELDS}


async def progress_events(
    ctx: Context,
    tenant: str,
    first: dict[str, Any],
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """``event: progress`` frames from ``first`` (the import as just read) until it settles."""
    last: dict[str, Any] | None = None
    view, number = first, 0
    while True:
        now = progress_of(view)
        if now != last:
            number += 1
            yield f"id: {number}\nevent: progress\ndata: {json.dumps(now)}\n\n"
            last = now
        if view["state"] in states.SETTLED or await disconnected():
            return
        await anyio.sleep(INTERVAL)
        view = await run_in_threadpool(queued.show, ctx, tenant, view["id"])


def event_stream(
    ctx: Context, tenant: str, first: dict[str, Any], request: Request
) -> StreamingResponse:
    return StreamingResponse(
        progress_events(ctx, tenant, first, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/{import_id}/events",
    response_class=StreamingResponse,
    responses={**_STREAM, **errors(401, 403, 404, 429)},
)
async def import_events(
    import_id: str, request: Request, principal: Reader, svc: Svc
) -> StreamingResponse:
    """The import's progress, pushed: ``event: progress`` with state and counts on each
    change, until it settles (``Last-Event-ID`` is ignored: the first event is the state
    now)."""
    first = await run_in_threadpool(queued.show, svc.ctx, principal.tenant, import_id)
    return event_stream(svc.ctx, principal.tenant, first, request)
