"""Small helpers to run imports in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadbay.service import imports as import_service
from loadbay.service import tables as table_service
from loadbay.service.context import Context
from loadbay.service.ingest import Progress
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.service.runner import ImportRunner


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def run(ctx: Context, *files: Path, table: str | None = None, **options: Any) -> dict[str, Any]:
    sources = tuple(
        SourceSpec(
            path=str(f),
            name=f.name,
            table=table,
            **{k: options.pop(k) for k in ("format", "delimiter", "encoding") if k in options},
        )
        for f in files
    )
    request = ImportRequest(sources=sources, **options)
    import_id = import_service.create_import(ctx, request)
    return import_service.run_import(ctx, import_id)


def runner(
    ctx: Context, import_id: str, progress: Progress | None = None, **sizes: int
) -> ImportRunner:
    """A runner of ``import_id`` with the sizes of the context's settings (or ``sizes``)."""
    options = {
        "batch_size": ctx.settings.batch_size,
        "chunk_size": ctx.settings.chunk_size,
        "small_bytes": ctx.settings.small_import_bytes,
        **sizes,
    }
    return ImportRunner(
        ctx.engine, ctx.catalog, ctx.tenant, import_id, progress=progress, **options
    )


def rows(ctx: Context, table: str) -> list[dict[str, Any]]:
    return list(table_service.records(ctx, table))


def by_key(ctx: Context, table: str, key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows(ctx, table)}


def errors(ctx: Context, import_id: str) -> list[tuple[int, str | None, str]]:
    return [
        (e["row"], e["column"], e["code"])
        for e in import_service.first_errors(ctx, import_id, limit=1000)
    ]


def results(ctx: Context, import_id: str) -> list[dict[str, Any]]:
    return list(import_service.iter_results(ctx, import_id))
