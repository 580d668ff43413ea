"""A cap on the bytes of any request body, counted while they arrive (ASGI middleware).

Uploads have their own, exact limit (``storage.UploadWriter``); this one stops any body
(a multipart form, a JSON import) from growing past the upload limit plus some room.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loadbay.api import problems
from loadbay.errors import PayloadTooLarge


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the request body is larger than the {self.limit:,} bytes allowed",
            limit=self.limit,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            reply = problems.from_error(self._error(), scope.get("path"))
            await reply(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise self._error()
            return message

        await self.app(scope, counted, send)
