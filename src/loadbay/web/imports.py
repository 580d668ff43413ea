"""The imports: the list (home), one import (check, fix, run, result), its live progress,
its error file, and the actions start, cancel and revert."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from loadbay.api.routes.events import current_view, event_stream
from loadbay.errors import RevertConflict
from loadbay.service import imports as import_service
from loadbay.service import pages, states, web_support
from loadbay.service.imports import get_import
from loadbay.service.views import import_view
from loadbay.web.common import Reader, User, WebRoute, Writer, render, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = 25
ROWS = 20


@router.get("/")
def imports_page(
    request: Request,
    user: Reader,
    state: str | None = None,
    table: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE,
) -> Response:
    filters = {"state": state or None, "table": table or None}
    page = pages.imports_page(user.svc.ctx, user.tenant, limit, cursor or None, filters)
    return render(
        request,
        "imports.html",
        page=page,
        state=state or "",
        table=table or "",
        states=states.ALL,
        tables=[t.name for t in user.svc.ctx.catalog_for(user.tenant)],
        cursor=cursor,
        limit=limit,
    )


def _sections(user: User, view: dict[str, Any], args: dict[str, str | None]) -> dict[str, Any]:
    """What the import's page shows for its state: the check of a dry run, the rows of a
    finished import."""
    ctx, tenant, import_id = user.svc.ctx, user.tenant, view["id"]
    found: dict[str, Any] = {}
    if view["state"] not in states.SETTLED:
        return found
    if view["counts"]["failed"]:
        found["groups"] = web_support.error_groups(ctx, tenant, import_id)
        found["failed"] = web_support.failed_rows(ctx, tenant, import_id, ROWS, args["fcursor"])
    if view["dry_run"] and view["counts"]["updated"]:
        found["updated"] = pages.results_page(
            ctx, tenant, import_id, ROWS, args["ucursor"], "updated"
        )
    if not view["dry_run"]:
        found["rows"] = pages.results_page(
            ctx, tenant, import_id, ROWS, args["rcursor"], args["outcome"]
        )
    return found


@router.get("/imports/{import_id}")
def import_page(
    request: Request,
    import_id: str,
    user: Reader,
    outcome: str | None = None,
    fcursor: str | None = None,
    ucursor: str | None = None,
    rcursor: str | None = None,
) -> Response:
    record = get_import(user.svc.ctx, import_id, user.tenant)
    view = import_view(record)
    args = {"outcome": outcome or None, "fcursor": fcursor, "ucursor": ucursor, "rcursor": rcursor}
    return render(
        request,
        "import.html",
        imp=view,
        request_spec=record.request,
        settled=view["state"] in states.SETTLED,
        outcome=outcome or "",
        outcomes=pages.OUTCOMES,
        **_sections(user, view, args),
    )


@router.get("/imports/{import_id}/events")
async def import_events(request: Request, import_id: str, user: Reader) -> Response:
    first = await run_in_threadpool(current_view, user.svc.ctx, user.tenant, import_id)
    return event_stream(user.svc.ctx, user.tenant, first, request)


@router.get("/imports/{import_id}/errors.csv")
def import_errors(import_id: str, user: Reader) -> Response:
    path = pages.error_report(user.svc.ctx, user.tenant, import_id)
    return FileResponse(
        path,
        media_type="text/csv",
        filename=f"{import_id}-errors.csv",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.post("/imports/{import_id}/start")
def import_start(import_id: str, user: Writer) -> Response:
    import_service.start(
        user.svc.ctx, user.tenant, import_id, user.svc.jobs, actor=user.principal.actor
    )
    return see_other(f"/imports/{import_id}")


@router.post("/imports/{import_id}/cancel")
def import_cancel(import_id: str, user: Writer) -> Response:
    import_service.cancel(
        user.svc.ctx, user.tenant, import_id, user.svc.leases, actor=user.principal.actor
    )
    return see_other(f"/imports/{import_id}")


@router.post("/imports/{import_id}/revert")
async def import_revert(request: Request, import_id: str, user: Writer) -> Response:
    force = (await request.form()).get("force") == "1"
    ctx = user.svc.ctx
    try:
        done = await run_in_threadpool(
            import_service.revert, ctx, user.tenant, import_id, force, actor=user.principal.actor
        )
    except RevertConflict as exc:
        view = await run_in_threadpool(current_view, ctx, user.tenant, import_id)
        return render(
            request,
            "revert.html",
            status=409,
            imp=view,
            message=exc.message,
            conflicts=exc.details.get("conflicts", []),
        )
    shown = import_view(done["import"])
    return render(request, "revert.html", imp=shown, reverted=done["reverted"])
