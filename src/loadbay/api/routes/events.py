"""``GET /v1/imports/{id}/events``: an import's progress as server-sent events.

Each ``event: progress`` carries the import's state, counts and ``progress`` object (as
``GET /v1/imports/{id}`` has them). The import's row is read every ``INTERVAL`` seconds
(the runner stores its progress a few times a second at most, and when a phase starts,
none in a run's first half second); the stream ends after the event of a settled state
(``validated``, ``succeeded``, …). The web importer streams the same events.

Event ids only grow, so ``Last-Event-ID`` resumes: a client that reconnects gets what it
has not seen. A late client first gets the end of each phase it missed (the last numbers
of that phase, kept in ``progress.phases``: no phase is skipped, however short, each with
the state of the import during it), then the import as it is now. An id is
``10 * seq + k``: ``seq`` numbers the progress writes; ``k`` is 0 for the end of a phase,
else 1 + the rank of the state (queued, validating, running, settled), so a state change
without a progress write (a cancel) still gets a new id.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from loadbay.api.deps import Reader, Svc
from loadbay.api.openapi import errors
from loadbay.service import imports as import_service
from loadbay.service import states
from loadbay.service.context import Context
from loadbay.service.views import import_view

router = APIRouter(prefix="/v1/imports", tags=["imports"])

INTERVAL = 0.5
_FIELDS = (
    "id",
    "state",
    "dry_run",
    "counts",
    "rows_total",
    "rows_processed",
    "error",
    "progress",
)
_RANK: dict[str, int] = {states.QUEUED: 0, states.VALIDATING: 1, states.RUNNING: 2}
#: the state of an import while its run is in a phase (the runner moves it to running
#: once its files are staged)
_STATE_OF = {
    "reading and validating": states.VALIDATING,
    "staging": states.VALIDATING,
    "planning": states.RUNNING,
    "writing": states.RUNNING,
    "reporting": states.RUNNING,
}
_EXAMPLE = (
    "id: 52\nevent: progress\ndata: "
    '{"id": "imp_9f86d081884c7d65", "state": "running", "dry_run": false, "counts": {…}, '
    '"rows_total": 1000000, "rows_processed": 0, "error": null, "progress": {"seq": 5, '
    '"phase": "writing", "percent": 35.0, "rows_written": 350000, "eta_seconds": 3.7, …}}\n\n'
)
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: `event: progress` with the import's state, counts "
        "and `progress` (phase, rows, bytes, percent, rows per second, ETA, errors), on "
        "every change; first the end of each phase already over, then the import now. Ids "
        "only grow: send `Last-Event-ID` to resume. The stream ends after a settled state.",
        "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}},
    }
}


def progress_of(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view.get(k) for k in _FIELDS}


def _rank(state: str) -> int:
    return _RANK.get(state, 3)


def frames(view: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The events the import ``view`` stands for, by id: the end of each phase over, then
    the import now."""
    now = progress_of(view)
    progress = now["progress"] or {}
    seq = int(progress.get("seq") or 0)
    for phase in progress.get("phases") or []:
        if int(phase["seq"]) < seq:  # as it was then: its state, no error yet
            then = {"state": _STATE_OF.get(phase["phase"], now["state"]), "error": None}
            yield 10 * int(phase["seq"]), {**now, **then, "progress": {**phase, "phases": []}}
    yield 10 * seq + 1 + _rank(now["state"]), now


def resume_after(header: str | None, first: dict[str, Any]) -> int:
    """The id a client saw last (``Last-Event-ID``); -1 for none or one not ours: not a
    plain number, or above the newest id of the import as it is now (``first``), as no
    such event was sent (else the stream would end without its final state)."""
    if header is None or not (header.isascii() and header.isdigit()):
        return -1
    seen = int(header)
    return seen if seen <= max(number for number, _ in frames(first)) else -1


async def progress_events(
    ctx: Context,
    tenant: str,
    first: dict[str, Any],
    disconnected: Callable[[], Awaitable[bool]],
    after: int = -1,
) -> AsyncIterator[str]:
    """``event: progress`` frames from ``first`` (the import as just read) until it
    settles, each with an id above ``after`` (and the one before it)."""
    view = first
    while True:
        for number, data in frames(view):
            if number > after:
                yield f"id: {number}\nevent: progress\ndata: {json.dumps(data)}\n\n"
                after = number
        if view["state"] in states.SETTLED or await disconnected():
            return
        await anyio.sleep(INTERVAL)
        view = await run_in_threadpool(current_view, ctx, tenant, str(view["id"]))


def current_view(ctx: Context, tenant: str, import_id: str) -> dict[str, Any]:
    """The import as the API shows it now."""
    return import_view(import_service.get_import(ctx, import_id, tenant))


def event_stream(
    ctx: Context, tenant: str, first: dict[str, Any], request: Request
) -> StreamingResponse:
    after = resume_after(request.headers.get("last-event-id"), first)
    return StreamingResponse(
        progress_events(ctx, tenant, first, request.is_disconnected, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/{import_id}/events",
    response_class=StreamingResponse,
    responses={**_STREAM, **errors(401, 403, 404, 429)},
)
async def import_events(
    import_id: str,
    request: Request,
    principal: Reader,
    svc: Svc,
    last_event_id: Annotated[
        str | None, Header(description="The id of the last event seen: resume after it.")
    ] = None,
) -> StreamingResponse:
    """The import's progress, pushed: ``event: progress`` with state, counts and progress
    on each change, until it settles; ``Last-Event-ID`` resumes after the event it names."""
    del last_event_id  # (in the OpenAPI) event_stream reads it, for the web's stream too
    first = await run_in_threadpool(current_view, svc.ctx, principal.tenant, import_id)
    return event_stream(svc.ctx, principal.tenant, first, request)
