"""Fixtures of the command-line tests."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.api.server import Server
from tests.client import conftest as client_fixtures
from tests.conftest import IMPORT_PATHS

server = client_fixtures.server  # a real `loadbay serve` (SQLite) for each test module


def _clean(data_dir: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    values["LOADBAY_DATA_DIR"] = str(data_dir)
    return values


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``loadbay`` process using the test's database."""
    return {**_clean(tmp_path / "data"), "LOADBAY_DATABASE_URL": db_url}


@pytest.fixture(params=list(IMPORT_PATHS))
def path_env(request: pytest.FixtureRequest, env: dict[str, str]) -> dict[str, str]:
    """``env`` with every import on the small path, then on the big one."""
    return {**env, "LOADBAY_SMALL_IMPORT_BYTES": str(IMPORT_PATHS[request.param])}


@pytest.fixture
def remote_env(server: Server, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``loadbay`` process against the module's server, as a tenant of
    its own with a write token; its local data folder is never made."""
    token = server.token(f"cli-{uuid.uuid4().hex[:8]}", "write")
    return {**_clean(tmp_path / "remote"), "LOADBAY_URL": server.url, "LOADBAY_TOKEN": token}
