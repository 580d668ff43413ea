"""Real databases for every test: a SQLite file, and a fresh schema in the PostgreSQL server.

The PostgreSQL tests skip with a reason when no server answers on a laptop, and fail when
the ``CI`` environment variable is set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.service.context import Context, open_context

PG_URL = os.environ.get("LOADBAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def _pg_problem() -> str | None:
    if "problem" not in _pg_state:
        try:
            engine = sa.create_engine(
                PG_URL.replace("postgresql://", "postgresql+psycopg://"),
                connect_args={"connect_timeout": 3},
            )
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            engine.dispose()
            _pg_state["problem"] = None
        except Exception as exc:  # any failure means: no server here
            _pg_state["problem"] = f"PostgreSQL at {PG_URL} is not reachable: {exc}"
    return _pg_state["problem"]


def require_postgres() -> None:
    problem = _pg_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {problem}")
    pytest.skip(problem)


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema (dropped afterwards)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'loadbay.db'}"
    return str(request.getfixturevalue("pg_url"))


#: ``small_import_bytes`` of each import path: every file small, or every file big
IMPORT_PATHS = {"small": 1 << 62, "big": 0}


@pytest.fixture
def import_path() -> str | None:
    """Which path an import of a file takes: "small" or "big" whatever its size, or None
    (by its size, as in production). Tests that import files override it with one
    parametrized over ``IMPORT_PATHS`` (tests/service/conftest.py): both paths."""
    return None


@pytest.fixture
def settings(db_url: str, tmp_path: Path, import_path: str | None) -> Settings:
    made = Settings(data_dir=tmp_path / "data", database_url=db_url, chunk_size=7)
    if import_path is None:
        return made
    return dataclasses.replace(made, small_import_bytes=IMPORT_PATHS[import_path])


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(settings)
    yield context
    context.close()
