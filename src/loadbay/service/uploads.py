"""Use cases of uploads: receive a stream of bytes, keep it with its hash and format.

An upload is immutable. Inline JSON records of an import are kept as an upload too (a
``.json`` file), so that a worker reads them like any other file.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy.engine import Connection

from loadbay.domain.uploads import Upload
from loadbay.errors import InvalidBase64, PayloadTooLarge, UnreadableFile
from loadbay.pipeline.read import ReadOptions, detect_format
from loadbay.pipeline.read.limits import limits_of
from loadbay.service.context import Context
from loadbay.service.idempotency import Scoped, fingerprint, once
from loadbay.service.requests import SourceSpec
from loadbay.storage import Storage, StoredFile, UploadWriter
from loadbay.store import uploads_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now

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


def open_upload(ctx: Context) -> UploadWriter:
    """A file being received: ``write`` each chunk as it arrives (past the size limit the
    file is removed and PayloadTooLarge raised), then ``finish_upload``, or ``abort``."""
    return storage(ctx).writer()


def finish_upload(
    ctx: Context,
    tenant: str,
    filename: str | None,
    writer: UploadWriter,
    idempotency: Scoped | None = None,
) -> tuple[Upload, bool]:
    """The bytes written to ``writer`` kept as an upload, its format detected; (the
    upload, replayed): with an idempotency key the first request with it made, the upload
    is that request's. Nothing is kept when it fails; a file of no bytes is refused
    (UnreadableFile), as an import of it would fail."""
    name = clean_filename(filename)
    if writer.size == 0:
        writer.abort()
        raise UnreadableFile(f"{name}: the file is empty (0 bytes): send its contents", file=name)
    return _keep(ctx, tenant, name, writer, idempotency)


def receive(
    ctx: Context,
    tenant: str,
    filename: str | None,
    chunks: Iterable[bytes],
    idempotency: Scoped | None = None,
) -> tuple[Upload, bool]:
    """``chunks`` written under the size limit, then ``finish_upload``."""
    writer = open_upload(ctx)
    try:
        for chunk in chunks:
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return finish_upload(ctx, tenant, filename, writer, idempotency)


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


def base64_chunks(text: str) -> Iterator[bytes]:
    """The bytes of ``checked_base64`` text, a block at a time (as a file's chunks)."""
    for start in range(0, len(text), BASE64_BLOCK):
        yield base64.b64decode(text[start : start + BASE64_BLOCK], validate=True)


def save_records(ctx: Context, tenant: str, records: object) -> Upload:
    """Inline records of an import, kept as a JSON upload, for the import made of them
    at once (no second read)."""
    with saving_records(ctx, tenant, records) as (_, record):
        return record


@contextlib.contextmanager
def saving_records(
    ctx: Context, tenant: str, records: object
) -> Iterator[tuple[Connection, Upload]]:
    """``save_records`` in a transaction the caller may add to (the import made of the
    records: one commit for both). Yields the connection and the upload; the
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
            upload = _upload(tenant, upload_id, "records", stored, "json")
            uploads_sql.insert_upload(conn, upload)
            yield conn, upload
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
    idempotency: Scoped | None,
) -> tuple[Upload, bool]:
    upload_id, stored = _stored(writer, filename)
    if idempotency is None:
        try:
            return _register(ctx, tenant, upload_id, filename, stored), False
        except BaseException:
            storage(ctx).remove(stored.path)
            raise
    made: list[Upload] = []

    def register() -> tuple[int, dict[str, object]]:
        made.append(_register(ctx, tenant, upload_id, filename, stored))
        return idempotency.status, {"id": upload_id}  # the upload is found by its id

    try:
        (_, body), replayed = once(
            ctx,
            tenant,
            idempotency.scope,
            idempotency.key,
            fingerprint(filename, stored.sha256),
            register,
        )
    except BaseException:
        storage(ctx).remove(stored.path)
        raise
    if not replayed:
        return made[0], False
    storage(ctx).remove(stored.path)
    return get_upload(ctx, tenant, str(body["id"])), True


def _register(
    ctx: Context,
    tenant: str,
    upload_id: str,
    filename: str,
    stored: StoredFile,
    fmt: str | None = None,
) -> Upload:
    """Record the upload, with its format detected here, once: an import of it reads it
    as that (``source_of``)."""
    if fmt is None and stored.size:
        fmt = detect_format(stored.path, ReadOptions(limits=limits_of(ctx.settings)))
    upload = _upload(tenant, upload_id, filename, stored, fmt)
    with ctx.engine.begin() as conn:
        uploads_sql.insert_upload(conn, upload)
    return upload


def _upload(
    tenant: str, upload_id: str, filename: str, stored: StoredFile, fmt: str | None
) -> Upload:
    return Upload(
        id=upload_id,
        tenant_id=tenant,
        filename=filename,
        size=stored.size,
        sha256=stored.sha256,
        format=fmt,
        path=str(stored.path.resolve()),
        created_at=now(),
    )


def source_of(upload: Upload, table: str | None, read: SourceSpec | None = None) -> SourceSpec:
    """The upload as a file to import into ``table`` with the read options of ``read``
    (its path and name aside): read as the format it was found to be when it came,
    unless the options name one. Every import, preview and inference of an upload
    takes it so."""
    return dataclasses.replace(
        read or SourceSpec(path="", name=""),
        path=upload.path,
        name=upload.filename,
        table=table,
        detected=upload.format,
    )


def get_upload(ctx: Context, tenant: str, upload_id: str) -> Upload:
    """An upload of ``tenant`` (NotFound for another tenant's), with its stored path."""
    with ctx.engine.connect() as conn, reading(conn).begin():
        return uploads_sql.get_upload(conn, tenant, upload_id)
