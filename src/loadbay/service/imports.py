"""Use cases of imports: create, run, look at, list, results, error report."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from loadbay.domain.imports import Counts, Import
from loadbay.domain.json import JSONObject
from loadbay.errors import InvalidState
from loadbay.service import states
from loadbay.service.auth import CLI, Actor
from loadbay.service.context import Context
from loadbay.store import imports_sql
from loadbay.store.engine import reading

if TYPE_CHECKING:  # the engine (polars) is imported by what runs an import, when it does
    from loadbay.service.ingest import Progress
    from loadbay.service.progress import Listener
    from loadbay.service.requests import ImportRequest


def new_import_id() -> str:
    return "imp_" + secrets.token_hex(8)


def create_import(
    ctx: Context, request: ImportRequest, tenant: str | None = None, actor: Actor = CLI
) -> str:
    """Record a queued import; nothing is read yet. Returns its id."""
    return record_import(ctx, request, tenant, actor=actor).id


def record_import(
    ctx: Context,
    request: ImportRequest,
    tenant: str | None = None,
    conn: Connection | None = None,
    *,
    actor: Actor = CLI,
    kind: str = "file",
) -> Import:
    """Record a queued import; returns its row as recorded (for a caller that runs it at
    once: no read back). ``conn``: in the caller's transaction, else in one of its own.
    ``actor`` created it (and started it, unless it is a dry run); ``kind``: ``file`` or
    ``bulk`` (a synchronous bulk request)."""
    record: dict[str, object] = {
        "kind": kind,
        **actor.columns("created"),
        **({} if request.dry_run else actor.columns("started")),
        "id": new_import_id(),
        "tenant_id": tenant or ctx.tenant,
        "state": states.QUEUED,
        "tables": sorted({s.table for s in request.sources if s.table}),
        "mode": request.mode.value,
        "error_handling": request.error_handling.value,
        "dry_run": request.dry_run,
        "request": request.to_json(),
        "notes": request.notes,
        "template_id": request.template_id,
        "counts": Counts().as_dict(),
        "created_at": imports_sql.now(),
    }
    if conn is not None:
        imports_sql.insert_import(conn, record)
    else:
        with ctx.engine.begin() as own:
            imports_sql.insert_import(own, record)
    return Import.from_row(record)


def run_import(
    ctx: Context,
    import_id: str,
    tenant: str | None = None,
    progress: Progress | None = None,
    record: Import | None = None,
    listener: Listener | None = None,
) -> Import:
    """Run a queued (or interrupted) import to its end; return it. ``record``: the import
    as the caller has just read it; ``listener``: gets each snapshot of its progress."""
    from loadbay.pipeline.read import limits_of
    from loadbay.service.runner import ImportRunner

    tenant = tenant or ctx.tenant
    runner = ImportRunner(
        ctx.engine,
        ctx.catalog_for(tenant),
        tenant,
        import_id,
        batch_size=ctx.settings.batch_size,
        chunk_size=ctx.settings.chunk_size,
        progress=progress,
        small_bytes=ctx.settings.small_import_bytes,
        limits=limits_of(ctx.settings),
        listener=listener,
    )
    return runner.run(record)


def requeue_dry_run(
    ctx: Context,
    import_id: str,
    tenant: str | None = None,
    actor: Actor = CLI,
    force: bool = False,
) -> None:
    """Queue a validated dry run to run for real (started by ``actor``), planned again
    against the data then; its results and errors go. One that ended
    ``validation_failed`` only with ``force``."""
    tenant = tenant or ctx.tenant
    record = get_import(ctx, import_id, tenant)
    states.check_move(import_id, record.state, states.QUEUED)
    if record.state == states.VALIDATION_FAILED and not force:
        failed = record.outcome_counts.failed
        raise InvalidState(
            f"import {import_id} is 'validation_failed': {failed} row"
            f"{'s' * (failed != 1)} failed its dry run, so a strict run would write "
            "nothing; start it with force to run it anyway (against the data of then)",
            state=record.state.value,
        )
    request: JSONObject = {**record.request, "dry_run": False}
    with ctx.engine.begin() as conn:
        moved = requeue(conn, tenant, import_id, request, dry_run=False, **actor.columns("started"))
    if not moved:
        raise InvalidState(f"import {import_id} was started or cancelled meanwhile")


def requeue(
    conn: Connection, tenant: str, import_id: str, request: JSONObject, **values: object
) -> bool:
    """Move an ended dry run (validated or validation_failed) back to queued with
    ``request`` (and ``values``), if it is still one (compare-and-set): it is planned
    again, its results and errors go."""
    moved = imports_sql.set_state_if(
        conn,
        tenant,
        import_id,
        list(states.DRY_RUN_ENDS),
        states.QUEUED,
        request=request,
        started_at=None,
        finished_at=None,
        error=None,
        error_code=None,
        checkpoint=None,
        **values,
    )
    if moved:  # of a plan that is made again: a queued import has no results
        imports_sql.clear_results(conn, import_id)
    return moved


def start_import(
    ctx: Context,
    import_id: str,
    tenant: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> Import:
    """Run a validated dry run for real, here and now."""
    requeue_dry_run(ctx, import_id, tenant, force=force)
    return run_import(ctx, import_id, tenant, progress)


def get_import(ctx: Context, import_id: str, tenant: str | None = None) -> Import:
    with ctx.engine.connect() as conn, reading(conn).begin():
        record = imports_sql.get_import(conn, tenant or ctx.tenant, import_id)
    return record


def list_imports(
    ctx: Context,
    tenant: str | None = None,
    limit: int = 50,
    state: str | None = None,
    table: str | None = None,
) -> list[Import]:
    with ctx.engine.connect() as conn, reading(conn).begin():
        return imports_sql.list_imports(conn, tenant or ctx.tenant, limit, state, table)


def first_errors(
    ctx: Context, import_id: str, tenant: str | None = None, limit: int = 100
) -> list[dict[str, object]]:
    with ctx.engine.connect() as conn, reading(conn).begin():
        imports_sql.get_state(conn, tenant or ctx.tenant, import_id)  # the tenant's, or 404
        return imports_sql.first_errors(conn, import_id, limit)


def error_summary(
    ctx: Context, import_id: str, tenant: str | None = None, limit: int = 50
) -> list[dict[str, object]]:
    """The import's errors grouped by table, column and code: count and an example value."""
    with ctx.engine.connect() as conn, reading(conn).begin():
        imports_sql.get_state(conn, tenant or ctx.tenant, import_id)  # the tenant's, or 404
        return imports_sql.error_summary(conn, import_id, limit)


def iter_results(
    ctx: Context,
    import_id: str,
    tenant: str | None = None,
    outcomes: Sequence[str] | None = None,
    stream: bool = True,
) -> Iterator[dict[str, object]]:
    """Every row outcome, in file order; ``stream=False`` for the few of a small import."""
    with ctx.engine.connect() as conn, reading(conn).begin():
        imports_sql.get_state(conn, tenant or ctx.tenant, import_id)  # the tenant's, or 404
        yield from imports_sql.iter_results(conn, import_id, outcomes, stream=stream)


def write_error_report(ctx: Context, import_id: str, out: Path, tenant: str | None = None) -> int:
    """The failed rows as they were in the file, plus an ``error`` column; returns the count."""
    from loadbay.pipeline import report
    from loadbay.service.requests import ImportRequest

    record = get_import(ctx, import_id, tenant)
    request = ImportRequest.from_json(record.request)
    failed = iter_results(ctx, import_id, tenant, outcomes=["failed"])
    sources = [(Path(s.path), s.read_options()) for s in request.sources]
    return report.write_error_report(sources, failed, out)
