"""The one object every use case gets: settings, the database engine, the table catalog."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, make_url

from loadbay.config import Settings
from loadbay.domain.tables import CustomTable
from loadbay.errors import LoadbayError
from loadbay.schema import Catalog, Table, load_catalog
from loadbay.schema.loader import parse_table
from loadbay.store import migrations
from loadbay.store.engine import dialect_for_url, make_engine, reading
from loadbay.store.tables_sql import tenant_tables

log = logging.getLogger("loadbay.tables")


@dataclass
class Context:
    settings: Settings
    engine: Engine
    catalog: Catalog
    #: the SQLite file this ``open_context`` made (a new, empty database), else None
    created: Path | None = None
    #: each tenant's catalog as last read: (its tables' names and change times, catalog)
    _catalogs: dict[str, tuple[tuple[tuple[str, datetime], ...], Catalog]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def tenant(self) -> str:
        return self.settings.tenant

    def catalog_for(self, tenant: str) -> Catalog:
        """The tables ``tenant`` sees: ``catalog`` (built-in and the schema file's) and
        the tables it defined (``service.tables.create_table``), read from the database
        each time (one small query), parsed again only when they changed."""
        with self.engine.connect() as conn, reading(conn).begin():
            rows = tenant_tables(conn, tenant)
        rows = [r for r in rows if r.name not in self.catalog]
        if not rows:
            return self.catalog
        stamp = tuple((r.name, r.updated_at) for r in rows)
        cached = self._catalogs.get(tenant)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        catalog = Catalog([*self.catalog, *_parsed(tenant, rows)])
        self._catalogs[tenant] = (stamp, catalog)
        return catalog

    def close(self) -> None:
        self.engine.dispose()


def _parsed(tenant: str, rows: list[CustomTable]) -> list[Table]:
    """The tables of ``rows`` whose stored definitions parse; one that does not (written
    by hand, or by a release with looser rules) is left out with a logged error, so the
    tenant's other tables go on working."""
    tables = []
    for row in rows:
        try:
            tables.append(parse_table(row.definition))
        except LoadbayError as exc:
            log.error("tenant %s: table %r left out, its definition: %s", tenant, row.name, exc)
    return tables


def open_context(settings: Settings, schema_file: Path | None = None) -> Context:
    """Connect, and bring the database to this loadbay's schema and the catalog's data
    tables (``store/migrations``) when it is behind."""
    catalog = load_catalog(schema_file or settings.schema_file)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    created = _new_sqlite_file(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url, settings.pg_work_mem)
    with engine.connect() as conn, reading(conn).begin():
        # checked as a reader first: on SQLite, a command such as ``imports show`` must not
        # queue for the write lock behind a running import's chunks
        current = migrations.is_current(conn, catalog)
    if current:
        return Context(settings, engine, catalog)
    migrations.upgrade(engine, catalog)
    return Context(settings, engine, catalog, created)


def migrate(settings: Settings, schema_file: Path | None = None) -> list[str]:
    """``loadbay migrate``, and ``serve`` and ``worker`` at start: bring the database to
    this loadbay's schema and the catalog's data tables, under the schema lock (two
    processes never migrate at once); what was done, one line each (none: current)."""
    catalog = load_catalog(schema_file or settings.schema_file)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url, settings.pg_work_mem)
    try:
        return migrations.upgrade(engine, catalog)
    finally:
        engine.dispose()


def _new_sqlite_file(url: str) -> Path | None:
    """The SQLite file of ``url`` when it does not exist yet (connecting will make it)."""
    path = dialect_for_url(url).database_file(make_url(url))
    return None if path is None or path.exists() else path
