"""Use cases of imports that run on the queue: submit, start, cancel, revert.

The adapters (API, web importer) hand over a :class:`Dispatcher`, which puts an import
id on the queue; ``jobs.Jobs`` is the real one. The import's row is the source of truth
for its state: the queue only carries ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, cast

from loadbay.domain.json import JSONObject
from loadbay.domain.uploads import Upload
from loadbay.errors import InvalidOption, InvalidState
from loadbay.pipeline.choices import IMPORT_OPTIONS, SOURCE_OPTIONS
from loadbay.pipeline.frames import EmptyPolicy, ErrorHandling, Mode
from loadbay.service import states
from loadbay.service.auth import Actor
from loadbay.service.context import Context
from loadbay.service.early import check_request
from loadbay.service.idempotency import Scoped, fingerprint, once
from loadbay.service.imports import create_import, get_import, requeue, requeue_dry_run
from loadbay.service.leases import Leases
from loadbay.service.requests import (
    ImportRequest,
    SourceSpec,
    entries_of,
    merge_template,
    parse_choice,
)
from loadbay.service.revert import revert_import
from loadbay.service.uploads import get_upload, save_records, source_of
from loadbay.service.views import import_view
from loadbay.store import imports_sql, templates_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now


class Dispatcher(Protocol):
    def enqueue_import(self, tenant: str, import_id: str) -> None: ...


@dataclass(frozen=True)
class ImportSpec:
    """An import as a client asks for it: uploads or inline records, and options."""

    table: str | None = None
    tables: tuple[str, ...] = ()
    upload_ids: tuple[str, ...] = ()
    records: object = None
    mode: str = "upsert"
    error_handling: str = "strict"
    key: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    notes: str | None = None
    template_id: str | None = None  # a saved template (id or name): the defaults
    #: the fields the client gave explicitly (they override the template's); None: all
    given: frozenset[str] | None = None


def _table_names(ctx: Context, tenant: str, spec: ImportSpec, count: int) -> list[str | None]:
    if spec.table and spec.tables:
        raise InvalidOption("give table or tables, not both")
    names: list[str | None] = [spec.table] * count
    if spec.tables:
        if len(spec.tables) not in (1, count):
            raise InvalidOption(
                f"tables: give one table for every file or one per file ({count}), "
                f"not {len(spec.tables)}"
            )
        names = list[str | None](spec.tables) * (count if len(spec.tables) == 1 else 1)
    catalog = ctx.catalog_for(tenant)
    for name in names:
        if name is not None:
            catalog.get(name)  # UnknownTable (404) for a table that does not exist
    return names


class ImportOptions(TypedDict, total=False):
    """The options of an import that are not how its files are read (IMPORT_OPTIONS), as
    ``ImportRequest`` takes them."""

    strict_columns: bool
    require_all_columns: bool
    empty: EmptyPolicy
    date_formats: tuple[str, ...]
    decimal_comma: bool
    max_errors: int | None
    lock_timeout: float | None


def _options(spec: ImportSpec) -> ImportOptions:
    unknown = sorted(set(spec.options) - set(SOURCE_OPTIONS) - set(IMPORT_OPTIONS))
    if unknown:
        allowed = ", ".join(SOURCE_OPTIONS + IMPORT_OPTIONS)
        raise InvalidOption(f"unknown options: {', '.join(unknown)} (allowed: {allowed})")
    values = {k: spec.options[k] for k in IMPORT_OPTIONS if spec.options.get(k) is not None}
    if "empty" in values:
        values["empty"] = parse_choice(EmptyPolicy, values["empty"], "empty")
    if "date_formats" in values:
        values["date_formats"] = tuple(values["date_formats"])
    return cast(ImportOptions, values)  # each value checked by ImportRequest


def build_request(ctx: Context, tenant: str, spec: ImportSpec) -> ImportRequest:
    """Check every option, then find the uploads (or keep the inline records as one)."""
    if spec.template_id is not None:
        spec = with_template(ctx, tenant, spec)
    if bool(spec.upload_ids) == (spec.records is not None):
        raise InvalidOption(
            "give upload_id (or upload_ids), records or content_base64, and only one of them"
        )
    count = len(spec.upload_ids) or 1
    names = _table_names(ctx, tenant, spec, count)
    read = {k: spec.options.get(k) for k in SOURCE_OPTIONS}
    request = ImportRequest(
        sources=(SourceSpec(path="", name="", **read),),  # the read options checked first
        mode=parse_choice(Mode, spec.mode, "mode"),
        error_handling=parse_choice(ErrorHandling, spec.error_handling, "error_handling"),
        key=tuple(spec.key),
        mapping=dict(spec.mapping),
        constants=dict(spec.constants),
        dry_run=spec.dry_run,
        notes=spec.notes,
        template_id=spec.template_id,
        **_options(spec),
    )
    check_request(ctx.catalog_for(tenant), request, names, spec.records)  # before any write
    uploads = [get_upload(ctx, tenant, u) for u in spec.upload_ids]
    read_as = request.sources[0]
    if spec.records is not None:
        uploads = [save_records(ctx, tenant, spec.records)]
        read_as = dataclasses.replace(read_as, format="json")
    sources = tuple(source_of(u, t, read_as) for u, t in zip(uploads, names, strict=True))
    return dataclasses.replace(request, sources=sources)


def _given_fields(spec: ImportSpec) -> dict[str, object]:
    """The fields ``spec`` gave explicitly, named as a template's (TEMPLATE_FIELDS)."""
    every = frozenset(f.name for f in dataclasses.fields(spec))
    given = spec.given if spec.given is not None else every
    if spec.table and spec.tables:
        raise InvalidOption("give table or tables, not both")
    fields: dict[str, object] = {}
    if {"table", "tables"} & given and (spec.table or spec.tables):
        fields["tables"] = [spec.table] if spec.table else list(spec.tables)
    for name in ("mode", "error_handling", "key", "mapping", "constants", "options"):
        if name in given:
            value = getattr(spec, name)
            fields[name] = list(value) if isinstance(value, tuple) else value
    return fields


def with_template(ctx: Context, tenant: str, spec: ImportSpec) -> ImportSpec:
    """``spec`` with the defaults of its saved template (NotFound: no such template)."""
    assert spec.template_id is not None
    with ctx.engine.connect() as conn, reading(conn).begin():
        template = templates_sql.get_template(conn, tenant, spec.template_id)
    merged = merge_template(template.fields(), _given_fields(spec))
    return dataclasses.replace(
        spec,
        table=None,
        tables=_texts(merged["tables"]),
        mode=str(merged["mode"] or ImportSpec.mode),
        error_handling=str(merged["error_handling"] or ImportSpec.error_handling),
        key=_texts(merged["key"]),
        mapping=cast("dict[str, str]", entries_of(merged["mapping"])),
        constants=cast("dict[str, str]", entries_of(merged["constants"])),
        options=cast("dict[str, object]", entries_of(merged["options"])),
        template_id=template.id,
    )


def _texts(value: object) -> tuple[str, ...]:
    """A template's list of names (None: none)."""
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


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


def show(ctx: Context, tenant: str, import_id: str) -> JSONObject:
    return import_view(get_import(ctx, import_id, tenant))


def start(
    ctx: Context,
    tenant: str,
    import_id: str,
    dispatcher: Dispatcher,
    *,
    actor: Actor,
    force: bool = False,
) -> JSONObject:
    """Run a validated dry run for real: planned again against the data of that moment
    (one that ended ``validation_failed`` only with ``force``)."""
    requeue_dry_run(ctx, import_id, tenant, actor, force=force)
    accepted = show(ctx, tenant, import_id)  # queued again, as submit answers
    dispatcher.enqueue_import(tenant, import_id)
    return accepted


@dataclass(frozen=True)
class ImportChanges:
    """What ``PATCH /v1/imports/{id}`` changes, as a JSON merge patch (RFC 7396):
    ``mapping`` and ``options`` merge key by key (a null removes a key: the option's
    default again); ``notes`` is replaced (null clears it) when given."""

    mapping: dict[str, str | None] | None = None
    options: dict[str, Any] | None = None
    notes: str | None = None
    given: frozenset[str] = frozenset()  # the fields the client gave


def _changed(request: ImportRequest, changes: ImportChanges) -> ImportRequest:
    """``request`` with ``changes`` (each option checked as a new import's)."""
    options = changes.options or {}
    values = _options(ImportSpec(options=options))  # InvalidOption: unknown or bad
    defaults = {f.name: f.default for f in dataclasses.fields(ImportRequest)}
    cleared = {k: defaults[k] for k in IMPORT_OPTIONS if k in options and options[k] is None}
    values = cast(ImportOptions, {**values, **cleared})  # a null: the option's default
    read = {k: options[k] for k in SOURCE_OPTIONS if k in options}
    mapping = {**request.mapping, **(changes.mapping or {})}
    return dataclasses.replace(
        request,
        sources=tuple(dataclasses.replace(s, **read) for s in request.sources),
        mapping={k: v for k, v in mapping.items() if v is not None},
        notes=changes.notes if "notes" in changes.given else request.notes,
        **values,
    )


def change(
    ctx: Context,
    tenant: str,
    import_id: str,
    changes: ImportChanges,
    dispatcher: Dispatcher,
) -> JSONObject:
    """Change the mapping, options or notes of an import that has not run: a queued one
    runs with them; an ended dry run (validated or validation_failed) is queued to be
    checked again with a new mapping or options (its notes alone change nothing to
    check). InvalidState (409) for an import in any other state."""
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
    request = _changed(ImportRequest.from_json(record.request), changes)
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
    accepted = show(ctx, tenant, import_id)
    if recheck:
        dispatcher.enqueue_import(tenant, import_id)
    return accepted


def cancel(
    ctx: Context, tenant: str, import_id: str, leases: Leases, *, actor: Actor
) -> JSONObject:
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
            return show(ctx, tenant, import_id)
        state = current  # it moved on meanwhile: answer for where it is now


def revert(
    ctx: Context, tenant: str, import_id: str, force: bool = False, *, actor: Actor
) -> dict[str, object]:
    """Undo a finished import; RevertConflict (409, with the conflicts) unless ``force``."""
    done = revert_import(ctx, import_id, force=force, tenant=tenant, actor=actor)
    return {
        "import": import_view(done["import"]),
        "reverted": done["reverted"],
        "conflicts": done["conflicts"],
    }


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
