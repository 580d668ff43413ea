"""Refuse a URL holding a NUL character (``%00``) before any route sees it (ASGI middleware).

No database stores NUL in text (PostgreSQL refuses it), and no id, table name, filter or
cursor of loadbay holds one: such a request is answered 400 ``invalid_character`` at once.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from loadbay.api import problems
from loadbay.errors import InvalidCharacter


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"")
        ):
            error = InvalidCharacter("the URL holds a NUL character (%00), which is never valid")
            await problems.from_error(error, scope.get("path", "").replace("\x00", ""))(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)
