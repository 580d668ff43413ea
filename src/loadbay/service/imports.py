"""Use cases of imports, for the API, the command line and the web pages alike: submit
(record and queue; with its files, ``check_files`` then ``submit_uploads``), create and
run here (the CLI), start, change, cancel, revert, look at, list, results, error report.

An import's request is built from what the client asks by ``service/import_requests.py``
(``ImportSpec``, ``ImportChanges``). The adapters that queue (API, web importer) hand
over a :class:`Dispatcher`, which puts an import id on the queue; ``jobs.Jobs`` is the
real one. The import's row is the source of truth for its state: the queue only carries
ids. The engine (polars) is imported by what runs or builds an import, when it does: the
CLI's listing loads none of it."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Connection

from loadbay.domain.imports import Counts, Import
from loadbay.domain.json import JSONObject
from loadbay.errors import InvalidOption, InvalidState
from loadbay.service import states
from loadbay.service.auth import CLI, Actor
from loadbay.service.context import Context
from loadbay.service.idempotency import Scoped, fingerprint, once
from loadbay.service.views import import_view
from loadbay.store import imports_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now

if TYPE_CHECKING:  # the engine (polars) is imported by what runs an import, when it does
    from loadbay.domain.uploads import Upload
    from loadbay.service.import_requests import ImportChanges, ImportSpec
    from loadbay.service.ingest import Progress
    from loadbay.service.leases import Leases
    from loadbay.service.progress import Listener
    from loadbay.service.requests import ImportRequest
    from loadbay.service.revert import Reverted


class Dispatcher(Protocol):
    def enqueue_import(self, tenant: str, import_id: str) -> None: ...


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


def submit(
    ctx: Context,
    tenant: str,
    spec: ImportSpec,
    dispatcher: Dispatcher,
    idempotency: Scoped | None = None,
    print_: str = "",
    *,
    actor: Actor,
) -> tuple[JSONObject, bool]:
    """Record an import (created by ``actor``) and queue it; (the import, replayed).
    ``idempotency``: the client's key, its scope and the status kept with the answer;
    ``print_``: what makes the request the same one (``idempotency.fingerprint``)."""

    from loadbay.service.import_requests import build_request

    def action() -> tuple[int, JSONObject]:
        import_id = create_import(ctx, build_request(ctx, tenant, spec), tenant, actor)
        # the import as accepted (queued): read before a worker can move it on, so the
        # answer (and its idempotent replay) does not depend on how fast the worker is
        accepted = import_view(get_import(ctx, import_id, tenant))
        dispatcher.enqueue_import(tenant, import_id)
        return (0 if idempotency is None else idempotency.status), accepted

    if idempotency is None:
        return action()[1], False
    (_, body), replayed = once(ctx, tenant, idempotency.scope, idempotency.key, print_, action)
    return body, replayed


def start(
    ctx: Context,
    tenant: str,
    import_id: str,
    dispatcher: Dispatcher,
    *,
    actor: Actor,
    force: bool = False,
) -> Import:
    """Run a validated dry run for real: planned again against the data of that moment
    (one that ended ``validation_failed`` only with ``force``); the import queued again."""
    requeue_dry_run(ctx, import_id, tenant, actor, force=force)
    accepted = get_import(ctx, import_id, tenant)  # queued again, as submit answers
    dispatcher.enqueue_import(tenant, import_id)
    return accepted


def change(
    ctx: Context,
    tenant: str,
    import_id: str,
    changes: ImportChanges,
    dispatcher: Dispatcher,
) -> Import:
    """Change the mapping, options or notes of an import that has not run: a queued one
    runs with them; an ended dry run (validated or validation_failed) is queued to be
    checked again with a new mapping or options (its notes alone change nothing to
    check). InvalidState (409) for an import in any other state."""
    from loadbay.service.import_requests import changed
    from loadbay.service.requests import ImportRequest

    if not changes.given & {"mapping", "options", "notes"}:
        raise InvalidOption("give mapping, options or notes to change")
    record = get_import(ctx, import_id, tenant)
    state = record.state
    if state not in states.CHANGEABLE:
        raise InvalidState(
            f"import {import_id} is {state.value}: only a queued import or an ended dry run "
            "(validated, validation_failed) can be changed (a running one: cancel it; a "
            "finished one: import again)",
            state=state.value,
        )
    request = changed(ImportRequest.from_json(record.request), changes)
    asked, notes = request.to_json(), request.notes
    recheck = state in states.DRY_RUN_ENDS and bool(changes.given & {"mapping", "options"})
    with ctx.engine.begin() as conn:
        if recheck:
            moved = requeue(conn, tenant, import_id, asked, notes=notes)
        else:
            moved = imports_sql.set_state_if(
                conn, tenant, import_id, [state], state, request=asked, notes=notes
            )
        current = state if moved else imports_sql.get_state(conn, tenant, import_id)
    if not moved:
        raise InvalidState(
            f"import {import_id} became {current.value} meanwhile: only a queued import or an "
            "ended dry run can be changed",
            state=current.value,
        )
    accepted = get_import(ctx, import_id, tenant)
    if recheck:
        dispatcher.enqueue_import(tenant, import_id)
    return accepted


def cancel(ctx: Context, tenant: str, import_id: str, leases: Leases, *, actor: Actor) -> Import:
    """Cancel an import that has not finished: its row says ``cancelled`` at once (a
    compare-and-set: a finished import is not cancelled, 409 with its state), and a worker
    running it stops at its next batch or chunk (within a second). What its committed
    chunks wrote stays, and can be reverted."""
    state = get_import(ctx, import_id, tenant).state
    while True:
        states.check_move(import_id, state, states.CANCELLED)
        if state in states.ACTIVE:
            leases.request_cancel(import_id)  # its worker's heartbeat reads it every second
        with ctx.engine.begin() as conn:
            moved = imports_sql.set_state_if(
                conn,
                tenant,
                import_id,
                [state],
                states.CANCELLED,
                finished_at=now(),
                **actor.columns("cancelled"),
            )
            current = state if moved else imports_sql.get_state(conn, tenant, import_id)
        if not moved and current == states.CANCELLED and state in states.ACTIVE:
            with ctx.engine.begin() as conn:  # its worker stopped at our request
                imports_sql.update_import(conn, tenant, import_id, **actor.columns("cancelled"))
            moved = True
        if moved:
            return get_import(ctx, import_id, tenant)
        state = current  # it moved on meanwhile: answer for where it is now


def revert(
    ctx: Context, tenant: str, import_id: str, force: bool = False, *, actor: Actor
) -> Reverted:
    """Undo a finished import; RevertConflict (409, with the conflicts) unless ``force``."""
    from loadbay.service.revert import revert_import

    return revert_import(ctx, import_id, force=force, tenant=tenant, actor=actor)


def check_files(spec: ImportSpec, files: int) -> None:
    """Before the ``files`` of an import made in one call are received: the import names
    no uploads or records besides them, and has one (InvalidOption)."""
    if spec.upload_ids or spec.records is not None:
        raise InvalidOption(
            "give a file (a multipart part, or content_base64) or upload_id / records, not both"
        )
    if not files:
        raise InvalidOption("a multipart import needs a file part")


def submit_uploads(
    ctx: Context,
    tenant: str,
    spec: ImportSpec,
    uploaded: Sequence[Upload],
    dispatcher: Dispatcher,
    idempotency: Scoped | None = None,
    print_: str = "",
    *,
    actor: Actor,
) -> tuple[JSONObject, bool]:
    """An import and its files in one call, the files just received as ``uploaded``:
    ``submit`` of them, the same request when its fields (``print_``) and its files'
    names and contents are."""
    check_files(spec, len(uploaded))
    spec = dataclasses.replace(spec, upload_ids=tuple(u.id for u in uploaded))
    print_ = fingerprint(print_, *[f"{u.filename}\0{u.sha256}" for u in uploaded])
    return submit(ctx, tenant, spec, dispatcher, idempotency, print_, actor=actor)
