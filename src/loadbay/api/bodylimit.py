"""A cap on the bytes of any request body, counted while they arrive (ASGI middleware),
and an early answer that does not read the rest of a body.

Uploads have their own, exact limit (``storage.UploadWriter``); this one stops any body
(a multipart form, a JSON import) from growing past the upload limit plus some room.

An answer sent before the body was read to its end (413, 401, 403, any refusal) drains
a bounded amount of what is left (``DRAIN_BYTES`` or ``DRAIN_SECONDS``: a client that
sent a small body has it read, and sees the answer, not a reset), then, if more is
still coming, says ``Connection: close``: the server closes the connection after the
answer instead of reading the rest of a body of any size.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loadbay.api import problems
from loadbay.errors import PayloadTooLarge

DRAIN_BYTES = 64 << 10
DRAIN_SECONDS = 1.0


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length", b"")
    return (length.isdigit() and int(length) > 0) or b"transfer-encoding" in headers


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
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        received = 0
        ended = False
        #: a client waiting for "100 Continue" has sent no body yet: an early answer
        #: closes without inviting it (uvicorn sends 100 Continue at the first receive)
        unasked = headers.get(b"expect", b"").lower() == b"100-continue"

        async def counted() -> Message:
            nonlocal received, ended, unasked
            unasked = False
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                ended = not message.get("more_body", False)
                if received > self.limit:
                    raise self._error()
            else:
                ended = True
            return message

        async def answer(message: Message) -> None:
            early = message["type"] == "http.response.start" and not ended
            if early and (unasked or not await _drained(receive)):
                message = {**message, "headers": [*message.get("headers", []), *_CLOSE]}
            await send(message)

        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            reply = problems.from_error(self._error(), scope.get("path"))
            await reply(scope, counted, answer)
            return
        await self.app(scope, counted, answer)


_CLOSE = [(b"connection", b"close")]


async def _drained(receive: Receive) -> bool:
    """Read what is left of the body, up to DRAIN_BYTES and DRAIN_SECONDS; whether it
    ended (False: the connection must close rather than read the rest)."""
    drained = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while drained <= DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return True
            drained += len(message.get("body", b""))
    return False
