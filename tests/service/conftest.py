"""Every service test that imports a file runs on both import paths (small and big)."""

from __future__ import annotations

import pytest

from tests.conftest import IMPORT_PATHS


@pytest.fixture(params=list(IMPORT_PATHS))
def import_path(request: pytest.FixtureRequest) -> str:
    return str(request.param)
