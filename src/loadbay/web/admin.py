"""Sign in and out; tables (columns, records, exports); tokens (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from loadbay.api.deps import services_of
from loadbay.errors import InvalidOption, Unauthorized
from loadbay.service import auth, pages
from loadbay.service import tables as table_service
from loadbay.service.views import token_view
from loadbay.web import session as sessions
from loadbay.web.common import Admin, Reader, WebRoute, finish, render, see_other, session_of

router = APIRouter(route_class=WebRoute, include_in_schema=False)
_MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/signin")
def signin_page(request: Request, next: str | None = None) -> Response:
    return render(request, "signin.html", next=_safe_next(next))


@router.post("/signin")
async def signin(request: Request) -> Response:
    session = session_of(request)
    form = await request.form()
    sessions.check_csrf(session, str(form.get(sessions.CSRF_FIELD) or ""))
    target = _safe_next(str(form.get("next") or "/"))
    token = str(form.get("token") or "").strip()
    try:
        principal = await run_in_threadpool(auth.authenticate, services_of(request).ctx, token)
    except Unauthorized as exc:
        return render(request, "signin.html", status=401, next=target, failure=exc.message)
    session.token_id = principal.token_id
    session.csrf = sessions.new_csrf()  # a new session: a new CSRF token
    session.fresh = True
    return finish(request, see_other(target))


@router.post("/signout")
async def signout(request: Request) -> Response:
    session = session_of(request)
    form = await request.form()
    sessions.check_csrf(session, str(form.get(sessions.CSRF_FIELD) or ""))
    session.token_id = None
    session.csrf = sessions.new_csrf()
    session.fresh = True
    return finish(request, see_other("/signin"))


@router.get("/tables")
def tables_page(request: Request, user: Reader) -> Response:
    found = table_service.list_tables(user.svc.ctx, user.tenant)
    return render(request, "tables.html", tables=found)


@router.get("/tables/{table}")
def table_page(
    request: Request,
    table: str,
    user: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    info = pages.table_info(user.svc.ctx, table, user.tenant)
    page = pages.records_page(user.svc.ctx, user.tenant, table, limit, cursor)
    columns = [pages.RECORD_ID, *(c.name for c in info.columns)]
    return render(
        request, "table.html", table=info, page=page, columns=columns, cursor=cursor, limit=limit
    )


@router.get("/tables/{table}/export.{fmt}")
def table_export(table: str, fmt: str, user: Reader) -> Response:
    if fmt not in _MEDIA:
        raise InvalidOption(f"format {fmt!r}: use csv or jsonl")
    path = pages.export_file(user.svc.ctx, user.tenant, table, fmt)
    return FileResponse(
        path,
        media_type=_MEDIA[fmt],
        filename=f"{table}.{fmt}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _tokens(user: Admin) -> list[dict[str, object]]:
    return [token_view(t) for t in auth.list_tokens(user.svc.ctx, user.tenant)]


@router.get("/tokens")
def tokens_page(request: Request, user: Admin) -> Response:
    return render(request, "tokens.html", tokens=_tokens(user), scopes=auth.SCOPES)


@router.post("/tokens")
async def token_create(request: Request, user: Admin) -> Response:
    form = await request.form()
    name = str(form.get("name") or "").strip() or None
    scope = str(form.get("scope") or "read")
    record, secret = await run_in_threadpool(
        auth.create_token, user.svc.ctx, user.tenant, scope, name
    )
    return render(
        request,
        "tokens.html",
        status=201,
        tokens=await run_in_threadpool(_tokens, user),
        scopes=auth.SCOPES,
        created={**token_view(record), "token": secret},
    )


@router.post("/tokens/{token_id}/revoke")
def token_revoke(token_id: str, user: Admin) -> Response:
    auth.revoke_token(user.svc.ctx, token_id, user.tenant)
    return see_other("/tokens")
