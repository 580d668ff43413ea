"""From what a client asks to the request an import keeps: an :class:`ImportSpec` (uploads
or inline records, table, mode, mapping, options, a template's defaults) checked and made
the ``service/requests.ImportRequest`` of a new import (``build_request``,
``with_template``), and the :class:`ImportChanges` of an import that has not run applied
to its request (``changed``). The use cases that make and change imports are
``service/imports.py``'s; this module only builds their requests."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

from loadbay.errors import InvalidOption
from loadbay.pipeline.choices import IMPORT_OPTIONS, SOURCE_OPTIONS
from loadbay.pipeline.frames import EmptyPolicy, ErrorHandling, Mode
from loadbay.service.context import Context
from loadbay.service.early import check_request
from loadbay.service.requests import (
    ImportRequest,
    SourceSpec,
    entries_of,
    merge_template,
    parse_choice,
)
from loadbay.service.uploads import get_upload, save_records, source_of
from loadbay.store import templates_sql
from loadbay.store.engine import reading


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


@dataclass(frozen=True)
class ImportChanges:
    """What ``PATCH /v1/imports/{id}`` changes, as a JSON merge patch (RFC 7396):
    ``mapping`` and ``options`` merge key by key (a null removes a key: the option's
    default again); ``notes`` is replaced (null clears it) when given."""

    mapping: dict[str, str | None] | None = None
    options: dict[str, Any] | None = None
    notes: str | None = None
    given: frozenset[str] = frozenset()  # the fields the client gave


def changed(request: ImportRequest, changes: ImportChanges) -> ImportRequest:
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
