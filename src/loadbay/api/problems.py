"""Every error as an RFC 9457 problem document (``application/problem+json``).

``{"type", "title", "status", "detail", "code", "instance", "errors": [{"row", "column",
"code", "message", "value"}]}`` (every error in the one shape: errors.error_object) plus
the error's own details (``conflicts`` of a revert, ``limit`` of a size). The status
comes from ``errors.HTTP_STATUS``, the title from the class.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from loadbay.errors import (
    LoadbayError,
    RateLimited,
    StoreError,
    Unauthorized,
    error_object,
    http_status_for,
    speak,
)
from loadbay.service.failures import database_error

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("loadbay.api")

_HTTP_CODES = {
    400: ("bad_request", "The request is not valid."),
    401: ("unauthorized", "A valid bearer token is needed."),
    403: ("forbidden", "The token does not have the scope this needs."),
    404: ("not_found", "The requested resource does not exist."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "None of the accepted media types can be sent."),
    413: ("payload_too_large", "The request is larger than allowed."),
    415: ("unsupported_media_type", "The request's media type is not supported."),
    422: ("invalid_request", "The request is not valid."),
    429: ("rate_limited", "Too many requests: retry later."),
}


def title_of(cls: type[LoadbayError]) -> str:
    return (cls.__doc__ or cls.code).strip().splitlines()[0]


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:loadbay:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        "errors": [error_object(e) for e in errors or []],
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return body


def response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE, headers=headers)


def from_error(exc: LoadbayError, instance: str | None = None) -> JSONResponse:
    status = http_status_for(exc)
    details = json.loads(json.dumps(exc.details, default=str))
    errors = details.pop("errors", None)
    detail = speak(exc.message, api=True)
    body = problem(status, exc.code, title_of(type(exc)), detail, instance, errors, details)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(float(details.get("retry_after", 1)))))
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="loadbay"'
    return response(body, headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    found = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        found.append(
            {
                "row": None,
                "column": ".".join(loc) or None,
                "code": str(err.get("type", "invalid")),
                "message": str(err.get("msg", "not valid")),
            }
        )
    return found


async def _loadbay(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LoadbayError)
    return from_error(exc, request.url.path)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    first = errors[0] if errors else {"column": None, "message": "not valid"}
    where = f"{first['column']}: " if first["column"] else ""
    detail = f"{where}{first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return response(
        problem(
            422, "invalid_request", "The request is not valid.", detail, request.url.path, errors
        )
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, ("error", "The request failed."))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return response(
        problem(exc.status_code, code, title, detail, request.url.path), dict(exc.headers or {})
    )


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return response(
        problem(
            500,
            "internal_error",
            "Something went wrong in loadbay.",
            "an internal error occurred; it was logged",
            request.url.path,
        )
    )


async def _database(request: Request, exc: Exception) -> JSONResponse:
    """A driver error, as the store translates it (``store.driver``): a problem document
    with its code, never a bare 500; one of no known kind is logged with its traceback."""
    assert isinstance(exc, DBAPIError)
    found = database_error(exc)
    known = type(found) is not StoreError
    log.warning(
        "database error on %s %s: %s",
        request.method,
        request.url.path,
        exc.orig,
        exc_info=None if known else exc,
    )
    return from_error(found, request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoadbayError, _loadbay)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _internal)
