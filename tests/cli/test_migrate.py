"""``loadbay migrate``, and the migration ``serve`` and ``worker`` run at start."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.server import migrate_at_start
from loadbay.store import system
from loadbay.store.engine import make_engine
from loadbay.store.migrations import LATEST, STEPS
from tests.cli.test_cli import loadbay
from tests.store.baseline_db import create_baseline, fill_baseline


def _baseline(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            create_baseline(conn)
            fill_baseline(conn)
    finally:
        engine.dispose()


def _versions(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(system.migrations.c.version).order_by(system.migrations.c.version)
            return [int(v) for v in conn.scalars(query)]
    finally:
        engine.dispose()


def test_loadbay_migrate_upgrades_then_finds_nothing(env: dict[str, str], db_url: str) -> None:
    _baseline(db_url)
    first = loadbay(env, "migrate")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines == [f"applied step {s.version}: {s.name}" for s in STEPS]
    assert _versions(db_url) == [s.version for s in STEPS]
    again = loadbay(env, "migrate")
    assert again.returncode == 0 and again.stdout == ""
    assert "the database is current" in again.stderr


def test_loadbay_migrate_help() -> None:
    shown = loadbay({}, "migrate", "--help")
    assert shown.returncode == 0 and "numbered steps" in shown.stdout


def test_serve_and_worker_migrate_at_start(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What ``serve`` and ``worker`` call first: a database of the release before
    migrations is upgraded, each step logged."""
    _baseline(db_url)
    with caplog.at_level(logging.INFO, logger="loadbay.server"):
        migrate_at_start(Settings(data_dir=tmp_path / "data", database_url=db_url))
    logged = [r.getMessage() for r in caplog.records if r.name == "loadbay.server"]
    assert f"migrate: applied step {LATEST}: {STEPS[-1].name}" in logged
    assert _versions(db_url) == [s.version for s in STEPS]
