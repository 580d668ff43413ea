"""Named queries of the tables a tenant defined (``loadbay_custom_tables``).

A row holds one table's definition as a schema file writes it (``schema.loader.table_spec``)
and the tenant it belongs to, read as a ``domain.tables.CustomTable``. The table's name is
the name of its data table, so it is unique across tenants (the primary key): two tenants
never share a data table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from loadbay.domain.tables import CustomTable
from loadbay.errors import Conflict
from loadbay.store import system
from loadbay.store.data import changes_table
from loadbay.store.dialect import dialect_of

_T = system.custom_tables


def not_available(name: str) -> Conflict:
    """The one answer for a name that is taken, whoever took it (nothing about them)."""
    return Conflict(f"the name {name!r} is not available; choose another", field="name")


def tenant_tables(conn: Connection, tenant: str) -> list[CustomTable]:
    """The tenant's tables, in the order they were made."""
    query = sa.select(_T).where(_T.c.tenant_id == tenant).order_by(_T.c.created_at, _T.c.name)
    return [CustomTable.from_row(dict(r)) for r in conn.execute(query).mappings()]


def owner_of(conn: Connection, name: str) -> str | None:
    """The tenant whose table ``name`` is (None: no tenant's)."""
    query = sa.select(_T.c.tenant_id).where(_T.c.name == name)
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


def stored_table_exists(conn: Connection, name: str) -> bool:
    """Whether the database holds a table ``name`` or its change log (made by an old schema
    file, say): its rows are not a new table's to take."""
    existing = set(inspect(conn).get_table_names())
    return name in existing or changes_table(name) in existing


def has_rows(conn: Connection, name: str) -> bool:
    query = sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)
    return conn.execute(query).first() is not None


def insert_table(
    conn: Connection, tenant: str, name: str, definition: Mapping[str, object], at: datetime
) -> None:
    """A new table of ``tenant``; Conflict when the name was taken meanwhile."""
    values = {
        "name": name,
        "tenant_id": tenant,
        "definition": dict(definition),
        "created_at": at,
        "updated_at": at,
    }
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(_T), system.known_values(_T, values))
    except IntegrityError:
        raise not_available(name) from None


def update_table(
    conn: Connection, tenant: str, name: str, definition: Mapping[str, object], at: datetime
) -> None:
    query = sa.update(_T).where(_T.c.tenant_id == tenant, _T.c.name == name)
    conn.execute(query.values(definition=dict(definition), updated_at=at))


def lock_table_row(conn: Connection, tenant: str, name: str) -> CustomTable | None:
    """The tenant's table ``name``, locked for the transaction on PostgreSQL (SQLite: the
    writer's lock holds already); None: not the tenant's."""
    query = sa.select(_T).where(_T.c.tenant_id == tenant, _T.c.name == name)
    found = conn.execute(dialect_of(conn).lock_rows(query)).mappings().one_or_none()
    return None if found is None else CustomTable.from_row(dict(found))
