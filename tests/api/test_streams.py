"""api/streams: an adapter awaits a request's chunks into the service's upload writer and
finishes the upload in a thread. An aborted request (its stream fails midway) leaves no
file."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from loadbay.api import streams
from loadbay.service import uploads
from loadbay.service.context import Context


class Gone(Exception):
    """The client went away."""


def test_a_stream_kept_as_an_upload_and_an_aborted_one_leaves_nothing(ctx: Context) -> None:
    async def whole() -> AsyncIterator[bytes]:
        yield b"name\n"
        yield b"Acme\n"

    async def aborted() -> AsyncIterator[bytes]:
        yield b"name\n"
        raise Gone

    upload, replayed = anyio.run(streams.receive, ctx, ctx.tenant, "a.csv", whole())
    assert not replayed and upload.size == 10 and upload.format == "csv"
    with pytest.raises(Gone):
        anyio.run(streams.receive, ctx, ctx.tenant, "b.csv", aborted())
    kept = [p for p in uploads.storage(ctx).folder.rglob("*") if p.is_file()]
    assert [p.name for p in kept] == [upload.path.rsplit("/", 1)[-1]]
