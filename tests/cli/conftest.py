"""Fixtures of the command-line tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``loadbay`` process using the test's database."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    values.update(LOADBAY_DATA_DIR=str(tmp_path / "data"), LOADBAY_DATABASE_URL=db_url)
    return values
