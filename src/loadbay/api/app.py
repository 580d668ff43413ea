"""The FastAPI application: ``create_app(settings)``; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from loadbay import __version__
from loadbay.api import openapi, problems
from loadbay.api.bodylimit import BodyLimit
from loadbay.api.deps import Services
from loadbay.api.guards import RefuseNul
from loadbay.api.query import known_query
from loadbay.api.ratelimit import RateLimiter
from loadbay.api.routes import (
    events,
    health,
    import_errors,
    imports,
    tables,
    templates,
    tokens,
    uploads,
    webhooks,
)
from loadbay.config import Settings
from loadbay.jobs import Jobs
from loadbay.service.uploads import base64_length
from loadbay.web import install as install_web

#: room for multipart envelopes and form fields above the upload limit
BODY_SLACK = 1 << 20

DESCRIPTION = """\
Bulk imports into SQLite or PostgreSQL: upload a file (CSV, TSV, JSON Lines, JSON, XML,
Excel) or send JSON records; every cell is validated, every row reported, and a whole
import can be reverted.

Every `/v1` call needs `Authorization: Bearer <token>`. Errors are RFC 9457 problem
documents (`application/problem+json`). Lists are cursor pages: `{"data", "next_cursor"}`.
"""


def create_app(settings: Settings, jobs: Jobs | None = None) -> FastAPI:
    """The API over ``settings``; ``jobs`` shares a queue (and its context) with workers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = jobs or Jobs(settings)
        app.state.services = Services(
            settings=settings,
            ctx=own.context(),
            jobs=own,
            leases=own.leases(),
            limiter=RateLimiter(settings.rate_limit),
        )
        try:
            yield
        finally:
            if jobs is None:
                own.close()
                own.context().close()

    app = FastAPI(
        title="loadbay",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs from local assets: web.install
    )
    problems.install(app)
    app.add_middleware(RefuseNul)  # inside BodyLimit: its early answer closes too
    # a file may come as base64 in JSON (4/3 of its size): its upload limit is the decoded size's
    app.add_middleware(BodyLimit, limit=base64_length(settings.max_upload_bytes) + BODY_SLACK)
    for module in (
        health,
        uploads,
        imports,
        events,
        import_errors,
        tables,
        templates,
        tokens,
        webhooks,
    ):
        app.include_router(module.router, dependencies=[Depends(known_query)])
    install_web(app, settings)

    def schema() -> dict[str, Any]:
        return openapi.build(app)

    app.openapi = schema  # type: ignore[method-assign]
    return app
