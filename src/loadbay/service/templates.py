"""Use cases of import templates: save, list, look, change, delete, save an import as one.

A template (``tpl_…``) keeps what an import would otherwise resend every time: tables,
mode, error handling, key, mapping, constants and options. An import naming it
(``template_id``) takes those as defaults; its own fields win (``requests.merge_template``,
applied in ``import_requests.with_template``). Names are unique per tenant; a template is
addressed by id, or by name.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from loadbay.domain.templates import Template, TemplatePage
from loadbay.errors import InvalidCharacter, InvalidOption, UnknownTable
from loadbay.pipeline.choices import IMPORT_OPTIONS, SOURCE_OPTIONS
from loadbay.pipeline.frames import EmptyPolicy, ErrorHandling, Mode
from loadbay.service.context import Context
from loadbay.service.imports import get_import
from loadbay.service.pages import check_limit, decode_cursor, encode_cursor
from loadbay.service.requests import TEMPLATE_FIELDS, ImportRequest, parse_choice
from loadbay.store import templates_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now

#: the fields of a template a client sets (``name`` and ``notes`` besides TEMPLATE_FIELDS)
EDITABLE = ("name", *TEMPLATE_FIELDS, "notes")


def _name(value: object) -> str:
    name = str(value or "").strip()
    if not name:
        raise InvalidOption("a template needs a name", field="name")
    if len(name) > 200:
        raise InvalidOption(f"a template's name is 200 characters at most, not {len(name)}")
    if name.startswith("tpl_"):
        raise InvalidOption(f"name {name!r}: tpl_ starts a template's id", field="name")
    return name


def _list(value: object, field: str) -> list[object]:
    """A list field's value (None: empty)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidOption(f"{field} is a list, not {value!r}", field=field)
    return list(value)


def _object(value: object, field: str) -> dict[str, object]:
    """An object field's value (None: empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidOption(f"{field} is an object, not {value!r}", field=field)
    return {str(k): v for k, v in value.items()}


def _tables(ctx: Context, tenant: str, tables: list[object]) -> list[str]:
    catalog = ctx.catalog_for(tenant)
    for name in tables:
        try:
            catalog.get(str(name))
        except UnknownTable:
            raise InvalidOption(f"table {name!r} does not exist", field="tables") from None
    return [str(t) for t in tables]


def _options(options: dict[str, object]) -> dict[str, object]:
    allowed = SOURCE_OPTIONS + IMPORT_OPTIONS
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidOption(
            f"unknown options: {', '.join(unknown)} (allowed: {', '.join(allowed)})",
            field="options",
        )
    if options.get("empty") is not None:
        parse_choice(EmptyPolicy, options["empty"], "empty")
    return {k: v for k, v in options.items() if v is not None}


def _no_nul(name: str, value: object) -> None:
    """InvalidCharacter for a NUL anywhere in ``value`` (PostgreSQL cannot store one)."""
    if isinstance(value, str) and "\x00" in value:
        raise InvalidCharacter(f"{name} holds a NUL character", field=name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _no_nul(name, key)
            _no_nul(name, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_nul(name, item)


def _checked(ctx: Context, tenant: str, fields: Mapping[str, object]) -> dict[str, object]:
    """The given fields of a template, checked and in their stored form."""
    values: dict[str, object] = {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise InvalidOption(f"{name!r} is not a field of a template", field=name)
        _no_nul(name, value)
        if name == "name":
            value = _name(value)
        elif name == "tables":
            value = _tables(ctx, tenant, _list(value, name))
        elif name == "mode" and value is not None:
            value = parse_choice(Mode, value, "mode").value
        elif name == "error_handling" and value is not None:
            value = parse_choice(ErrorHandling, value, "error_handling").value
        elif name == "options":
            value = _options(_object(value, name))
        elif name == "key":
            value = [str(k) for k in _list(value, name)]
        elif name in ("mapping", "constants"):
            value = _object(value, name)
        values[name] = value
    return values


def create_template(ctx: Context, tenant: str, fields: Mapping[str, object]) -> Template:
    """Save a template (InvalidOption: a field not valid; Conflict: the name is taken)."""
    values = _checked(ctx, tenant, {"name": fields.get("name"), **fields})
    moment = now()
    template = Template.from_row(
        {
            "tables": [],
            "mode": None,
            "error_handling": None,
            "key": [],
            "mapping": {},
            "constants": {},
            "options": {},
            "notes": None,
            **values,
            "id": "tpl_" + secrets.token_hex(8),
            "tenant_id": tenant,
            "created_at": moment,
            "updated_at": moment,
        }
    )
    with ctx.engine.begin() as conn:
        templates_sql.insert_template(conn, template)
    return template


def get_template(ctx: Context, tenant: str, ref: str) -> Template:
    """The tenant's template by id or name (NotFound: none, or another tenant's)."""
    with ctx.engine.connect() as conn, reading(conn).begin():
        return templates_sql.get_template(conn, tenant, ref)


def list_templates(
    ctx: Context, tenant: str, limit: int = 50, cursor: str | None = None
) -> TemplatePage:
    """The tenant's templates by name, a page at a time (follow ``next_cursor``)."""
    check_limit(limit)
    after = str(decode_cursor(cursor, 1)[0]) if cursor else None
    with ctx.engine.connect() as conn, reading(conn).begin():
        rows = templates_sql.page_templates(conn, tenant, limit, after)
    more = len(rows) > limit
    rows = rows[:limit]
    return TemplatePage(tuple(rows), encode_cursor([rows[-1].name]) if more and rows else None)


def all_templates(ctx: Context, tenant: str) -> list[Template]:
    """Every template of the tenant, by name (the command line's list)."""
    found: list[Template] = []
    cursor = None
    while True:
        page = list_templates(ctx, tenant, 200, cursor)
        found += page.data
        cursor = page.next_cursor
        if cursor is None:
            return found


def update_template(ctx: Context, tenant: str, ref: str, changes: Mapping[str, object]) -> Template:
    """Change the given fields only (a field given as null clears it)."""
    values = _checked(ctx, tenant, changes)
    with ctx.engine.begin() as conn:
        found = templates_sql.get_template(conn, tenant, ref)
        if values:
            values["updated_at"] = now()
            templates_sql.update_template(conn, tenant, found.id, values)
        return templates_sql.get_template(conn, tenant, found.id)


def delete_template(ctx: Context, tenant: str, ref: str) -> Template:
    """Delete a template; imports made from it keep its id. The template as it was."""
    with ctx.engine.begin() as conn:
        found = templates_sql.get_template(conn, tenant, ref)
        templates_sql.delete_template(conn, tenant, found.id)
    return found


def fields_of_request(request: ImportRequest) -> dict[str, object]:
    """What a template keeps of an import's request."""
    first = request.sources[0]
    options: dict[str, object] = {k: getattr(first, k) for k in SOURCE_OPTIONS}
    options.update({k: getattr(request, k) for k in IMPORT_OPTIONS})
    options["empty"] = request.empty.value
    options["date_formats"] = list(request.date_formats) or None
    tables = [s.table for s in request.sources if s.table]
    if len(set(tables)) == 1:
        tables = tables[:1]  # one table for every file
    return {
        "tables": tables,
        "mode": request.mode.value,
        "error_handling": request.error_handling.value,
        "key": list(request.key),
        "mapping": dict(request.mapping),
        "constants": dict(request.constants),
        "options": {k: v for k, v in options.items() if v is not None},
    }


def save_import(
    ctx: Context, tenant: str, import_id: str, name: str | None, notes: str | None = None
) -> Template:
    """Save an import's tables, mode, error handling, key, mapping, constants and
    options as a new template ``name``."""
    request = ImportRequest.from_json(get_import(ctx, import_id, tenant).request)
    return create_template(
        ctx, tenant, {**fields_of_request(request), "name": name, "notes": notes}
    )
