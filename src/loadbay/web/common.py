"""What every page gets: templates, the signed-in caller, CSRF checks, HTML errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from loadbay.api import problems
from loadbay.api.deps import Services, services_of
from loadbay.errors import LoadbayError, Unauthorized, http_status_for
from loadbay.service import auth, web_support
from loadbay.service.auth import Principal
from loadbay.web import session as sessions
from loadbay.web.session import Session

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.globals["fix_max_rows"] = web_support.FIX_MAX_ROWS


class SignInNeeded(Exception):
    """No session, or its token was revoked: the page sends the browser to sign in."""


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def session_of(request: Request) -> Session:
    found = getattr(request.state, "web_session", None)
    if found is None:
        found = sessions.signer_of(request).load(request)
        request.state.web_session = found
    assert isinstance(found, Session)
    return found


def finish(request: Request, response: Response) -> Response:
    """Set the session cookie when the request had none (or it changed)."""
    session = session_of(request)
    if session.fresh:
        sessions.signer_of(request).store(response, session, request)
    return response


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    user = getattr(request.state, "web_user", None)
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": session_of(request).csrf, **context},
        status_code=status,
    )
    return finish(request, response)


def _error_page(request: Request, status: int, code: str, message: str) -> Response:
    if wants_json(request):
        return problems.response(
            problems.problem(status, code, code.replace("_", " "), message, request.url.path)
        )
    return render(
        request, "error.html", status=status, status_code=status, code=code, message=message
    )


class WebRoute(APIRoute):
    """A page: errors become an HTML page with the API's status; no session → sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInNeeded:
                if wants_json(request) or request.method != "GET":
                    return _error_page(request, 401, "unauthorized", "sign in first")
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
                return RedirectResponse(f"/signin?next={target}", status_code=303)
            except LoadbayError as exc:
                if wants_json(request):
                    return problems.from_error(exc, request.url.path)
                status = http_status_for(exc)
                return _error_page(request, status, exc.code, exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {"msg": "not valid", "loc": ()}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return _error_page(request, 422, "invalid_request", f"{where}: {first['msg']}")

        return handler


@dataclass(frozen=True)
class User:
    principal: Principal
    svc: Services

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    @property
    def can_write(self) -> bool:
        return self.principal.allows("write")

    @property
    def is_admin(self) -> bool:
        return self.principal.allows("admin")


class Signed:
    """The signed-in caller, checked as the API checks a token: still valid, within the
    rate, with the scope (403 page); POSTs also need the session's CSRF token."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    async def __call__(self, request: Request) -> User:
        svc = services_of(request)
        session = session_of(request)
        if session.token_id is None:
            raise SignInNeeded
        try:
            principal = await run_in_threadpool(
                web_support.principal_of_token_id, svc.ctx, session.token_id
            )
        except Unauthorized:
            raise SignInNeeded from None
        user = User(principal, svc)
        request.state.web_user = user
        svc.limiter.hit(principal.tenant)
        auth.require_scope(principal, self.scope)
        if request.method == "POST":
            sent = request.headers.get(sessions.CSRF_HEADER)
            if sent is None and "form" in request.headers.get("content-type", ""):
                sent = str((await request.form()).get(sessions.CSRF_FIELD) or "")
            sessions.check_csrf(session, sent)
        return user


Reader = Annotated[User, Depends(Signed("read"))]
Writer = Annotated[User, Depends(Signed("write"))]
Admin = Annotated[User, Depends(Signed("admin"))]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
