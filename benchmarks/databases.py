"""Fresh, empty databases for one measurement: a SQLite file, or a PostgreSQL schema.

Each is made by ``open_context``, so its tables, indexes and change logs are exactly the
ones loadbay creates; the raw bulk path then loads into the same ``projects`` table.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.service.context import open_context
from loadbay.store.engine import normalise_url

KINDS = ("sqlite", "postgres")
DEFAULT_PG_URL = os.environ.get(
    "LOADBAY_BENCH_PG_URL",
    os.environ.get("LOADBAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
WORK_DIR = Path(__file__).resolve().parent / "out" / "work"


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" or "postgres"
    url: str  # what loadbay connects to
    data_dir: Path  # loadbay's data folder (the SQLite file lives there)
    schema: str | None = None  # PostgreSQL: the schema every connection sees
    admin_url: str | None = None  # PostgreSQL: the server, to drop the schema

    def settings(self, tenant: str = "default") -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.url, tenant=tenant)


def postgres_url(server: str, schema: str) -> str:
    """A URL whose connections use ``schema`` (and only it) as their search path."""
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options={quote(f'-csearch_path={schema}')}"


def fresh_database(
    kind: str, label: str, pg_url: str = DEFAULT_PG_URL, work: Path = WORK_DIR
) -> Database:
    """A new empty database with loadbay's tables (created by ``open_context``)."""
    tag = f"{label}_{uuid.uuid4().hex[:8]}"
    data_dir = work / tag
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        db = Database(kind, f"sqlite:///{(data_dir / 'loadbay.db').resolve()}", data_dir)
    elif kind == "postgres":
        schema = f"bench_{tag}"
        admin = sa.create_engine(normalise_url(pg_url))
        try:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        finally:
            admin.dispose()
        db = Database(kind, postgres_url(pg_url, schema), data_dir, schema, pg_url)
    else:
        raise ValueError(f"unknown database kind {kind!r} (use one of {', '.join(KINDS)})")
    open_context(db.settings()).close()
    return db


def drop_database(db: Database) -> None:
    if db.schema is not None and db.admin_url is not None:
        admin = sa.create_engine(normalise_url(db.admin_url))
        try:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE')
        finally:
            admin.dispose()
    shutil.rmtree(db.data_dir, ignore_errors=True)


def postgres_problem(pg_url: str = DEFAULT_PG_URL) -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    engine = sa.create_engine(normalise_url(pg_url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        return f"PostgreSQL at {pg_url} is not reachable: {exc}"
    finally:
        engine.dispose()
    return None


def server_version(db: Database) -> str:
    engine = sa.create_engine(normalise_url(db.url))
    try:
        with engine.connect() as conn:
            if db.kind == "sqlite":
                return "SQLite " + str(conn.exec_driver_sql("SELECT sqlite_version()").scalar())
            return str(conn.exec_driver_sql("SHOW server_version").scalar()).join(
                ("PostgreSQL ", "")
            )
    finally:
        engine.dispose()
