"""One server for the client tests (SQLite: the client does not depend on the database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.server import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server("sqlite", tmp_path_factory.mktemp("client")) as found:
        yield found
