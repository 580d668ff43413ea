"""Limits: upload size while streaming (413, nothing kept), rate per tenant (429)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import assert_problem
from tests.api.server import Server, running_server

LIMIT = 20_000


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    with running_server(
        "sqlite", folder, LOADBAY_MAX_UPLOAD_BYTES=str(LIMIT), LOADBAY_RATE_LIMIT="30"
    ) as found:
        yield found


def _kept(server: Server) -> list[Path]:
    return list((Path(server.env["LOADBAY_DATA_DIR"]) / "uploads").glob("*"))


def test_an_upload_over_the_limit_is_413_and_nothing_is_kept(small: Server) -> None:
    with small.http("big", "write") as client:
        before = _kept(small)
        whole = client.post("/v1/uploads", params={"filename": "a.csv"}, content=b"a\n" * LIMIT)
        assert_problem(whole, 413, "payload_too_large")

        def stream() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            for _ in range(40):
                yield b"x" * 1000

        streamed = client.post("/v1/uploads", params={"filename": "b.csv"}, content=stream())
        assert_problem(streamed, 413, "payload_too_large")
        form = client.post("/v1/uploads", files={"file": ("c.csv", b"y" * (LIMIT + 1))})
        assert_problem(form, 413, "payload_too_large")
        records = [{"name": "x" * 1000} for _ in range(30)]
        inline = client.post("/v1/imports", json={"records": records, "table": "companies"})
        assert_problem(inline, 413, "payload_too_large")
        assert _kept(small) == before
        fits = client.post("/v1/uploads", params={"filename": "d.csv"}, content=b"a\n1\n")
        assert fits.status_code == 201


def test_past_the_rate_limit_429_with_retry_after(small: Server) -> None:
    with small.http("busy", "read") as client, small.http("calm", "read") as other:
        answers = [client.get("/v1/imports") for _ in range(31)]
        assert [a.status_code for a in answers[:30]] == [200] * 30
        refused = answers[30]
        assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["Retry-After"]) >= 1
        assert other.get("/v1/imports").status_code == 200  # per tenant
        assert httpx.get(small.url + "/healthz").status_code == 200
