"""One real server per test module (SQLite and PostgreSQL), as for the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.server import Server, running_server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"web-{request.param}")
    with running_server(request.param, folder) as found:
        yield found
