"""The web importer: server-rendered pages on the API's process and port.

Pages call the same use cases as the API (``loadbay.service``); a session is a signed,
HttpOnly cookie holding the id of the token that signed in, checked on every request as
the API checks a bearer token (tenant, scope, revocation). ``install(app, settings)``
adds the pages, the static files and the local API docs (``/docs``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from loadbay.config import Settings
from loadbay.web import admin, create, docs, fix, imports, new, session

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    """The web importer's pages and static files, and ``/docs`` from local assets."""
    app.state.web_signer = session.Signer(session.secret(settings.data_dir))
    app.mount("/static", StaticFiles(directory=STATIC), name="web-static")
    docs.install(app)
    for module in (admin, create, fix, imports, new):
        app.include_router(module.router)
