"""The sync steps of an upload (issue 15: the service knows no async): a writer that checks
the size limit as each chunk is written, and the upload kept, with its idempotency, when
it is finished. A refused upload leaves no file; a replayed one keeps only the first's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadbay.config import Settings
from loadbay.errors import PayloadTooLarge
from loadbay.service import uploads
from loadbay.service.context import Context, open_context
from loadbay.service.idempotency import Scoped


@pytest.fixture
def import_path() -> str | None:
    return None  # nothing is imported: one run per database


@pytest.fixture
def small(settings: Settings) -> Iterator[Context]:
    context = open_context(dataclasses.replace(settings, max_upload_bytes=10))
    yield context
    context.close()


def _files(ctx: Context) -> list[Path]:
    return [p for p in uploads.storage(ctx).folder.rglob("*") if p.is_file()]


def test_a_chunk_past_the_limit_is_refused_as_it_is_written(small: Context) -> None:
    writer = uploads.open_upload(small)
    writer.write(b"name\n")
    with pytest.raises(PayloadTooLarge):
        writer.write(b"Acme Corp\n")
    assert _files(small) == []  # removed at once, before the rest could arrive
    with pytest.raises(PayloadTooLarge):
        uploads.receive(small, small.tenant, "a.csv", [b"name\n", b"Acme Corp\n"])
    assert _files(small) == []


def test_finish_upload_keeps_the_file_once_per_key(ctx: Context) -> None:
    key = Scoped("k1", "the adapter's scope", 201)
    writer = uploads.open_upload(ctx)
    writer.write(b"name\nAcme\n")
    first, replayed = uploads.finish_upload(ctx, ctx.tenant, "dir/a.csv", writer, key)
    assert not replayed and first.filename == "a.csv" and first.format == "csv"
    again, replayed = uploads.receive(ctx, ctx.tenant, "dir/a.csv", [b"name\nAcme\n"], key)
    assert replayed and again.id == first.id
    assert _files(ctx) == [Path(first.path)]  # the replay's bytes are not kept
