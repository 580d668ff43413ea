"""A request's bytes received as an upload: the adapters (API routes, web pages) await
them here, write each chunk as it arrives (the size limit checked as it does: past it the
file is removed at once), and keep the file in a thread through the service's sync steps
(``service/uploads.open_upload``, ``finish_upload``). A refused or aborted upload leaves
no file."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable

from starlette.concurrency import run_in_threadpool

from loadbay.domain.uploads import Upload
from loadbay.service import uploads
from loadbay.service.context import Context
from loadbay.service.idempotency import Scoped


async def receive(
    ctx: Context,
    tenant: str,
    filename: str | None,
    chunks: AsyncIterable[bytes],
    idempotency: Scoped | None = None,
) -> tuple[Upload, bool]:
    """``chunks`` kept as an upload of ``tenant``; (the upload, replayed)."""
    writer = uploads.open_upload(ctx)
    try:
        async for chunk in chunks:
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return await run_in_threadpool(
        uploads.finish_upload, ctx, tenant, filename, writer, idempotency
    )


async def blocks(source: Iterable[bytes]) -> AsyncIterator[bytes]:
    """Bytes made in memory (decoded base64) as a request's chunks."""
    for block in source:
        yield block
