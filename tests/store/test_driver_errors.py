"""Database driver errors are translated in one place (store/driver.translate): each kind,
driven for real on SQLite and PostgreSQL (a lost connection, a lock timeout, a full disk or
a broken constraint, a corrupt file), answers the API with a problem document of its code
and the command line with one line and exit 1, never a bare 500 or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from fastapi import FastAPI
from starlette.testclient import TestClient

from loadbay.api import problems
from loadbay.api.app import create_app
from loadbay.cli.common import fatal_errors
from loadbay.config import Settings
from loadbay.errors import (
    ConstraintViolated,
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseUnavailable,
    LoadbayError,
)
from loadbay.service import auth
from loadbay.service.context import open_context
from loadbay.store.driver import translate
from loadbay.store.engine import make_engine
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = PG_URL.replace("postgresql://", "postgresql+psycopg://")


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _raised(work: Callable[[], object]) -> sa.exc.DBAPIError:
    with pytest.raises(sa.exc.DBAPIError) as failed:
        work()
    return failed.value


def _lost(url: str, tmp_path: Path) -> sa.exc.DBAPIError:
    if url.startswith("sqlite"):
        pytest.skip("a SQLite connection is a file: it cannot be lost")
    name = "lb_" + uuid.uuid4().hex[:12]
    lost = _engine(f"{url}&application_name={name}")
    with lost as engine, _engine(PG_ADMIN) as admin, engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        with admin.begin() as other:
            other.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            )
        return _raised(lambda: conn.exec_driver_sql("SELECT 1"))


def _lock_timeout(url: str, tmp_path: Path) -> sa.exc.DBAPIError:
    with _engine(url) as engine:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE held (x integer)")
        with engine.connect() as holder, engine.connect() as waiter, holder.begin():
            holder.exec_driver_sql("INSERT INTO held VALUES (1)")  # SQLite: the lock
            if url.startswith("sqlite"):  # a writer that waits for no lock
                hasty = sa.create_engine(url, connect_args={"timeout": 0, "isolation_level": None})
                try:
                    with hasty.connect() as other:
                        return _raised(lambda: other.exec_driver_sql("BEGIN IMMEDIATE"))
                finally:
                    hasty.dispose()
            holder.exec_driver_sql("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")

            def wait() -> None:
                with waiter.begin():
                    waiter.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
                    waiter.exec_driver_sql("SELECT * FROM held")

            return _raised(wait)


def _constraint(url: str, tmp_path: Path) -> sa.exc.DBAPIError:
    with _engine(url) as engine:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE once (x integer UNIQUE)")
            conn.exec_driver_sql("INSERT INTO once VALUES (1)")

        def again() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO once VALUES (1)")

        return _raised(again)


def _full(url: str, tmp_path: Path) -> sa.exc.DBAPIError:
    def fill() -> None:
        with _engine(url) as engine, engine.begin() as conn:
            if url.startswith("sqlite"):  # a disk of 20 pages
                conn.exec_driver_sql("CREATE TABLE big (x text)")
                conn.exec_driver_sql("PRAGMA max_page_count = 20")
                conn.exec_driver_sql("INSERT INTO big VALUES (zeroblob(1000000))")
            else:  # no room for a temporary file
                conn.exec_driver_sql("SET LOCAL work_mem = '64kB'")
                conn.exec_driver_sql("SET LOCAL temp_file_limit = '64kB'")
                conn.exec_driver_sql(
                    "SELECT g FROM generate_series(1, 1000000) AS g ORDER BY g DESC"
                ).all()

    return _raised(fill)


def _corrupt(url: str, tmp_path: Path) -> sa.exc.DBAPIError:
    if not url.startswith("sqlite"):
        pytest.skip("a PostgreSQL database is no file the test can damage")
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is no database\n" * 500)
    with _engine(f"sqlite:///{path}") as engine:
        return _raised(lambda: engine.connect().close())


KINDS: dict[str, tuple[Callable[[str, Path], sa.exc.DBAPIError], type[LoadbayError], int]] = {
    "lost connection": (_lost, DatabaseUnavailable, 503),
    "lock timeout": (_lock_timeout, DatabaseBusy, 503),
    "constraint": (_constraint, ConstraintViolated, 409),
    "disk full": (_full, DatabaseFull, 503),
    "corrupt file": (_corrupt, DatabaseCorrupt, 503),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_driver_error_is_a_problem_and_one_line(
    kind: str, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drive, expected, status = KINDS[kind]
    exc = drive(db_url, tmp_path)
    found = translate(exc)
    assert type(found) is expected, (found, exc)
    assert "\n" not in found.message

    app = FastAPI()
    problems.install(app)

    @app.get("/fails")
    def fails() -> None:
        raise exc

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/fails")
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(problems.MEDIA_TYPE)
    assert answer.json()["code"] == expected.code
    assert answer.json()["detail"] == found.message

    with pytest.raises(typer.Exit) as stopped, fatal_errors():
        raise exc
    assert stopped.value.exit_code == 1
    shown = capsys.readouterr()
    lines = shown.err.strip().splitlines()
    assert len(lines) == 1 and f"({expected.code})" in lines[0], shown.err
    assert "Traceback" not in shown.err + shown.out


def _corrupted(database: Path) -> None:
    """``database`` written over with garbage (its WAL checkpointed into it first)."""
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    with database.open("r+b") as file:
        file.write(b"this is no database\n" * 500)


def test_a_corrupt_sqlite_file_through_a_running_api_and_the_cli(tmp_path: Path) -> None:
    database = tmp_path / "data" / "loadbay.db"
    url = f"sqlite:///{database}"
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    ctx = open_context(settings)
    try:
        _, token = auth.create_token(ctx, "default", "admin", "t")
    finally:
        ctx.close()
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/v1/imports", headers=headers).status_code == 200
        _corrupted(database)
        answer = client.get("/v1/imports", headers=headers)
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == DatabaseCorrupt.code

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env |= {
        "LOADBAY_DATA_DIR": str(tmp_path / "data"),
        "LOADBAY_DATABASE_URL": url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "loadbay", "imports"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"({DatabaseCorrupt.code})" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
