"""What every route gets: the services of the app, and the caller (token, tenant, scope)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from loadbay.api.ratelimit import RateLimiter
from loadbay.config import Settings
from loadbay.jobs import Jobs
from loadbay.service import auth
from loadbay.service.auth import Principal
from loadbay.service.context import Context
from loadbay.service.leases import Leases


@dataclass
class Services:
    settings: Settings
    ctx: Context
    jobs: Jobs
    leases: Leases
    limiter: RateLimiter


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def services(request: Request) -> Services:
    """The app's services, as a dependency: async, so FastAPI does not hand this lookup
    to a worker thread and back (a sync dependency costs a thread-pool round trip)."""
    return services_of(request)


_bearer = HTTPBearer(
    auto_error=False,
    description="An API token: `loadbay tokens create --tenant NAME --scope read|write|admin`.",
)


class Scoped:
    """The caller, checked: a valid token (401), within the rate (429), with the scope (403)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        svc = services_of(request)
        principal = auth.authenticate(svc.ctx, credentials.credentials if credentials else None)
        svc.limiter.hit(principal.tenant)
        auth.require_scope(principal, self.scope)
        return principal


Svc = Annotated[Services, Depends(services)]
Reader = Annotated[Principal, Depends(Scoped("read"))]
Writer = Annotated[Principal, Depends(Scoped("write"))]
Admin = Annotated[Principal, Depends(Scoped("admin"))]
