"""Unknown query parameters are refused (422), not silently ignored: one dependency of
every API route compares the request's parameters with those the route declares (its
own and its dependencies'). A route that takes any name (the records list, whose other
parameters filter columns) is marked with :func:`any_query` and checks them itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

F = TypeVar("F", bound=Callable[..., object])

_ANY = "__loadbay_any_query__"
#: the declared query parameters of each route, found once
_DECLARED: dict[int, frozenset[str]] = {}


def any_query(endpoint: F) -> F:
    """Mark a route that reads query parameters of any name itself."""
    setattr(endpoint, _ANY, True)
    return endpoint


def declared(route: APIRoute) -> frozenset[str]:
    found = _DECLARED.get(id(route))
    if found is None:
        names: set[str] = set()
        dependants = [route.dependant]
        while dependants:  # the route's own and its dependencies', all the way down
            dependant = dependants.pop()
            names.update(p.alias for p in dependant.query_params)
            dependants.extend(dependant.dependencies)
        found = _DECLARED[id(route)] = frozenset(names)
    return found


async def known_query(request: Request) -> None:
    """422 ``invalid_request`` naming every query parameter the route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or getattr(route.endpoint, _ANY, False):
        return
    allowed = declared(route)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in allowed]
    if not unknown:
        return
    known = ", ".join(sorted(allowed)) or "none"
    raise RequestValidationError(
        [
            {
                "type": "unknown_query_parameter",
                "loc": ("query", name),
                "msg": f"unknown query parameter {name!r} (this route takes: {known})",
                "input": request.query_params.get(name),
            }
            for name in unknown
        ]
    )
