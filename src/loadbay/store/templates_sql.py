"""Named queries of import templates: a tenant's saved mapping, constants and options,
each row read as a ``domain.templates.Template``."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from loadbay.domain.templates import Template
from loadbay.errors import Conflict, NotFound
from loadbay.store import system

_T = system.templates


def _duplicate(name: str) -> Conflict:
    return Conflict(f"a template named {name!r} already exists", field="name")


def _by_name(conn: Connection, tenant: str, name: str) -> Template | None:
    query = sa.select(_T).where(_T.c.tenant_id == tenant, _T.c.name == name)
    row = conn.execute(query).mappings().one_or_none()
    return None if row is None else Template.from_row(dict(row))


def insert_template(conn: Connection, template: Template) -> None:
    """A new template; Conflict when the tenant has one of that name."""
    if _by_name(conn, template.tenant_id, template.name) is not None:
        raise _duplicate(template.name)
    try:
        conn.execute(sa.insert(_T), system.known_values(_T, template.row()))
    except IntegrityError:  # made meanwhile by another request
        raise _duplicate(template.name) from None


def get_template(conn: Connection, tenant: str, ref: str) -> Template:
    """The tenant's template by id (``tpl_…``) or else by name; NotFound otherwise."""
    query = sa.select(_T).where(_T.c.tenant_id == tenant, _T.c.id == ref)
    row = conn.execute(query).mappings().one_or_none()
    found = Template.from_row(dict(row)) if row is not None else _by_name(conn, tenant, ref)
    if found is None:
        raise NotFound(f"no template {ref!r}")
    return found


def update_template(
    conn: Connection, tenant: str, template_id: str, values: Mapping[str, object]
) -> None:
    """Change the given fields; Conflict when a new name is another template's."""
    name = None if values.get("name") is None else str(values["name"])
    if name is not None:
        other = _by_name(conn, tenant, name)
        if other is not None and other.id != template_id:
            raise _duplicate(name)
    query = sa.update(_T).where(_T.c.tenant_id == tenant, _T.c.id == template_id)
    try:
        conn.execute(query.values(**system.known_values(_T, dict(values))))
    except IntegrityError:
        raise _duplicate(str(name)) from None


def delete_template(conn: Connection, tenant: str, template_id: str) -> None:
    conn.execute(sa.delete(_T).where(_T.c.tenant_id == tenant, _T.c.id == template_id))


def page_templates(
    conn: Connection, tenant: str, limit: int, after: str | None = None
) -> list[Template]:
    """By name, keyset-paginated on it (unique per tenant); ``limit`` + 1 rows tell more."""
    query = sa.select(_T).where(_T.c.tenant_id == tenant)
    if after is not None:
        query = query.where(_T.c.name > after)
    query = query.order_by(_T.c.name).limit(limit + 1)
    return [Template.from_row(dict(r)) for r in conn.execute(query).mappings()]
