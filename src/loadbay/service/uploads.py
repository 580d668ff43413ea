"""Use cases of uploads: receive a stream of bytes, keep it with its hash and format.

An upload is immutable. Inline JSON records of an import are kept as an upload too (a
``.json`` file), so that a worker reads them like any other file.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import Connection

from loadbay.errors import InvalidBase64, PayloadTooLarge
from loadbay.pipeline.read import ReadOptions, detect_format
from loadbay.pipeline.read.limits import limits_of
from loadbay.service.context import Context
from loadbay.service.idempotency import fingerprint, once
from loadbay.service.views import upload_view
from loadbay.storage import Storage, StoredFile, UploadWriter
from loadbay.store import uploads_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now

ENDPOINT = "POST /v1/uploads"
_SUFFIX = re.compile(r"^(\.[a-z0-9]{1,8}){1,2}$")


def storage(ctx: Context) -> Storage:
    return Storage(ctx.settings.data_dir, ctx.settings.max_upload_bytes)


def clean_filename(name: str | None, default: str = "upload") -> str:
    """The last part of a client's file name, without control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:255]
    return base if base and base not in (".", "..") else default


def _suffix(filename: str) -> str:
    suffix = "".join(Path(filename.lower()).suffixes[-2:])
    return suffix if _SUFFIX.match(suffix) else ""


async def receive(
    ctx: Context,
    tenant: str,
    filename: str | None,
    chunks: AsyncIterable[bytes],
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Stream bytes to storage under the size limit; (the upload, replayed)."""
    writer = storage(ctx).writer()
    try:
        async for chunk in chunks:
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return await anyio.to_thread.run_sync(
        _keep, ctx, tenant, clean_filename(filename), writer, idempotency_key
    )


#: base64 text is decoded this many characters at a time (a multiple of 4)
BASE64_BLOCK = 1 << 20
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
_SPACE = re.compile(r"\s")


def base64_length(size: int) -> int:
    """The length of ``size`` bytes as base64 text (padded)."""
    return 4 * -(-size // 3)


def checked_base64(text: str, limit: int, what: str = "content_base64") -> str:
    """``text`` (standard base64; line breaks and other white space are ignored, the
    padding may be left out) ready to decode: InvalidBase64 (400) naming the first wrong
    character, or PayloadTooLarge (413) when it decodes to more than ``limit`` bytes
    (known from its length alone: nothing is decoded)."""
    if _SPACE.search(text):
        text = _SPACE.sub("", text)
    bad = _NOT_BASE64.search(text)
    if bad is not None:
        raise InvalidBase64(
            f"{what} is not valid base64: {bad.group()!r} at position {bad.start()} is not "
            "a base64 character (A-Z, a-z, 0-9, +, /, and = at the end)"
        )
    body = text.rstrip("=")
    if "=" in body or len(text) - len(body) > 2:
        raise InvalidBase64(f"{what} is not valid base64: '=' may only end it (at most two)")
    if len(body) % 4 == 1:
        raise InvalidBase64(
            f"{what} is not valid base64: {len(body):,} characters (without '=') is no "
            "length of base64 text, one is missing or extra"
        )
    size = len(body) * 3 // 4
    if size > limit:
        raise PayloadTooLarge(
            f"{what} decodes to {size:,} bytes, more than the {limit:,} allowed", limit=limit
        )
    return body + "=" * (-len(body) % 4)


async def base64_chunks(text: str) -> AsyncIterator[bytes]:
    """The bytes of ``checked_base64`` text, a block at a time (as a file's chunks)."""
    for start in range(0, len(text), BASE64_BLOCK):
        yield base64.b64decode(text[start : start + BASE64_BLOCK], validate=True)


def save_records(ctx: Context, tenant: str, records: object) -> dict[str, Any]:
    """Inline records of an import, kept as a JSON upload. Returns the upload's stored
    record, path included, for the import made of them at once (no second read)."""
    with saving_records(ctx, tenant, records) as (_, record):
        return record


@contextlib.contextmanager
def saving_records(
    ctx: Context, tenant: str, records: object
) -> Iterator[tuple[Connection, dict[str, Any]]]:
    """``save_records`` in a transaction the caller may add to (the import made of the
    records: one commit for both). Yields the connection and the upload's record; the
    file is removed when the transaction does not commit."""
    data = json.dumps(records, ensure_ascii=False).encode("utf-8")
    writer = storage(ctx).writer()
    try:
        writer.write(data)
    except BaseException:
        writer.abort()
        raise
    upload_id, stored = _stored(writer, "records.json")
    try:
        with ctx.engine.begin() as conn:
            record = _upload_record(tenant, upload_id, "records", stored, "json")
            uploads_sql.insert_upload(conn, record)
            yield conn, record
    except BaseException:
        storage(ctx).remove(stored.path)
        raise


def _stored(writer: UploadWriter, filename: str) -> tuple[str, StoredFile]:
    """The written bytes made an upload's file: (its id, the file)."""
    upload_id = "upl_" + secrets.token_hex(8)
    try:
        return upload_id, writer.commit(upload_id + _suffix(filename))
    except BaseException:
        writer.abort()
        raise


def _keep(
    ctx: Context,
    tenant: str,
    filename: str,
    writer: UploadWriter,
    key: str | None,
) -> tuple[dict[str, Any], bool]:
    upload_id, stored = _stored(writer, filename)
    try:
        (_, body), replayed = once(
            ctx,
            tenant,
            ENDPOINT,
            key,
            fingerprint(filename, stored.sha256),
            lambda: (201, upload_view(_register(ctx, tenant, upload_id, filename, stored))),
        )
    except BaseException:
        storage(ctx).remove(stored.path)
        raise
    if replayed:
        storage(ctx).remove(stored.path)
    return body, replayed


def _register(
    ctx: Context,
    tenant: str,
    upload_id: str,
    filename: str,
    stored: StoredFile,
    fmt: str | None = None,
) -> dict[str, Any]:
    """Record the upload; returns its record (with the stored path, which the API never
    shows: ``upload_view``)."""
    if fmt is None and stored.size:
        fmt = detect_format(stored.path, ReadOptions(limits=limits_of(ctx.settings)))
    record = _upload_record(tenant, upload_id, filename, stored, fmt)
    with ctx.engine.begin() as conn:
        uploads_sql.insert_upload(conn, record)
    return record


def _upload_record(
    tenant: str, upload_id: str, filename: str, stored: StoredFile, fmt: str | None
) -> dict[str, Any]:
    return {
        "id": upload_id,
        "tenant_id": tenant,
        "filename": filename,
        "size": stored.size,
        "sha256": stored.sha256,
        "format": fmt,
        "path": str(stored.path.resolve()),
        "created_at": now(),
    }


def get_upload(ctx: Context, tenant: str, upload_id: str) -> dict[str, Any]:
    """An upload of ``tenant`` (NotFound for another tenant's), with its stored path."""
    with ctx.engine.connect() as conn, reading(conn).begin():
        return uploads_sql.get_upload(conn, tenant, upload_id)
