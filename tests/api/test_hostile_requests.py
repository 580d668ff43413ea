"""Hostile requests: racing Idempotency-Keys, NUL characters, odd numbers and nesting, bad
options, huge bodies refused without reading them. Every answer is a 4xx problem document
or a coded row error, never a 500; on SQLite and PostgreSQL, against a real server."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from loadbay.api.app import create_app
from loadbay.config import Settings
from loadbay.errors import DatabaseUnavailable, InvalidData
from loadbay.service import auth
from loadbay.service.context import open_context
from loadbay.service.failures import database_error
from loadbay.store import engine as engine_module
from tests.api.helpers import assert_problem, run
from tests.api.server import Server, running_server
from tests.conftest import PG_URL

RACERS = 8
PG_ADMIN = PG_URL.replace("postgresql://", "postgresql+psycopg://")


def _tenant() -> str:
    return "t" + uuid.uuid4().hex[:10]


def _race(
    server: Server, tenant: str, call: Callable[[httpx.Client], httpx.Response]
) -> list[httpx.Response]:
    """``call`` made by RACERS threads, each with a client of its own, at the same moment."""
    barrier = threading.Barrier(RACERS)
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    clients = [server.http(tenant, "write") for _ in range(RACERS)]

    def one(client: httpx.Client) -> None:
        client.get("/healthz")  # connected before the race
        barrier.wait()
        answer = call(client)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return answers


def _one_id(answers: list[httpx.Response], status: int) -> str:
    """Every answer is the first one (or 409 in flight); the id they all name."""
    ids: set[str] = set()
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "idempotency_in_flight")
            continue
        assert answer.status_code == status, answer.text
        ids.add(answer.json()["id"])
    assert len(ids) == 1, ids
    return ids.pop()


def _count(server: Server, sql: str, **params: Any) -> int:
    engine = sa.create_engine(
        server.settings.effective_database_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one())
    finally:
        engine.dispose()


# ---- 1. one Idempotency-Key, many racing requests ------------------------------------
def test_racing_imports_with_one_key_make_one_import(server: Server) -> None:
    tenant = _tenant()
    body = {"table": "visits", "mode": "append", "records": [{"station": "s1", "note": "n"}]}
    with server.http(tenant, "write") as client:

        def post(own: httpx.Client) -> httpx.Response:
            return own.post("/v1/imports", json=body, headers={"Idempotency-Key": "k1"})

        import_id = _one_id(_race(server, tenant, post), 202)
        listed = client.get("/v1/imports", params={"limit": 200}).json()["data"]
        assert [i["id"] for i in listed] == [import_id]
        assert server.wait(client, import_id)["state"] == "succeeded"
        rows = client.get("/v1/tables/visits/records").json()["data"]
        assert len(rows) == 1
        again = client.post("/v1/imports", json=body, headers={"Idempotency-Key": "k1"})
        assert again.status_code == 202 and again.json()["id"] == import_id
        assert again.headers["Idempotent-Replayed"] == "true"
        uploads = "SELECT count(*) FROM loadbay_uploads WHERE tenant_id = :t"
        assert _count(server, uploads, t=tenant) == 1


def test_racing_uploads_with_one_key_keep_one_upload(server: Server) -> None:
    tenant = _tenant()
    folder = Path(server.env["LOADBAY_DATA_DIR"]) / "uploads"
    with server.http(tenant, "write"):
        files_before = set(folder.glob("*"))

        def post(own: httpx.Client) -> httpx.Response:
            return own.post(
                "/v1/uploads",
                params={"filename": "v.csv"},
                content=b"station,note\ns1,n\n",
                headers={"Idempotency-Key": "u1"},
            )

        upload_id = _one_id(_race(server, tenant, post), 201)
        uploads = "SELECT count(*) FROM loadbay_uploads WHERE tenant_id = :t"
        assert _count(server, uploads, t=tenant) == 1
        added = set(folder.glob("*")) - files_before
        assert [p.name.split(".")[0] for p in added] == [upload_id]


def test_a_failed_request_releases_its_key(server: Server) -> None:
    with server.http(_tenant(), "write") as client:
        key = {"Idempotency-Key": "fails-first"}
        missing = client.post("/v1/imports", json={"upload_id": "upl_0"}, headers=key)
        assert_problem(missing, 404, "not_found")
        body = {"table": "visits", "records": [{"station": "s"}], "mode": "append"}
        works = client.post("/v1/imports", json=body, headers=key)
        assert works.status_code == 202, works.text
        assert "Idempotent-Replayed" not in works.headers


# ---- 3. NUL characters ---------------------------------------------------------------
def test_nul_in_ids_and_filters_is_a_4xx_problem(server: Server) -> None:
    with server.http() as admin:
        for path in (
            "/v1/imports/imp_%00",
            "/v1/imports/imp_%00/results",
            "/v1/uploads/upl_%00",
            "/v1/tables/pro%00jects",
        ):
            answer = admin.get(path)
            assert answer.status_code in (400, 404), (path, answer.text)
            assert_problem(answer, answer.status_code)
        assert admin.delete("/v1/tokens/tok_%00").status_code in (400, 404)
        for params in ({"name": "a\x00b"}, {"state": "\x00"}, {"table": "\x00"}):
            path = "/v1/tables/projects/records" if "name" in params else "/v1/imports"
            answer = admin.get(path, params=params)
            assert answer.status_code == 400, answer.text
            assert_problem(answer, 400, "invalid_character")
        bad_upload = admin.post("/v1/imports", json={"upload_id": "upl_\x00", "table": "visits"})
        assert bad_upload.status_code in (404, 422), bad_upload.text
        assert_problem(bad_upload, bad_upload.status_code)


def test_nul_in_a_token_name_is_422(server: Server) -> None:
    with server.http() as admin:
        answer = admin.post("/v1/tokens", json={"scope": "read", "name": "bad\x00name"})
        body = assert_problem(answer, 422)
        assert "name" in body["detail"]


def test_nul_in_a_cell_is_one_row_error(server: Server) -> None:
    with server.http(_tenant(), "write") as client:
        records = [
            {"station": "good", "note": "fine"},
            {"station": "bad", "note": "nul \x00 here"},
        ]
        done = run(
            server,
            client,
            table="visits",
            mode="append",
            error_handling="lenient",
            records=records,
        )
        assert done["state"] == "partially_succeeded", done
        assert done["counts"]["created"] == 1 and done["counts"]["failed"] == 1
        errors = client.get(f"/v1/imports/{done['id']}/results", params={"outcome": "failed"})
        (failed,) = errors.json()["data"]
        (error,) = failed["errors"]
        assert (failed["row"], error["column"], error["code"]) == (2, "note", "invalid_character")
        bulk = client.post(
            "/v1/tables/measurements/records/bulk",
            json={"records": [{"station": "s\x00", "taken_at": "2024-01-01T00:00:00"}]},
        )
        assert bulk.status_code in (207, 422), bulk.text  # a row error, whatever the shape
        assert "invalid_character" in bulk.text or bulk.json()["code"] == "row_errors"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/imports", b'{"table": "visits", "records": [{"station": "\\ud800"}]}'),
        ("/v1/imports", b'{"table": "visits", "records": {"r\\u0000": {"station": "x"}}}'),
        ("/v1/imports", b'{"table": "visits", "records": [{"a\\u0000": "x"}]}'),
        ("/v1/tables/companies/records/bulk", b'{"records": [{"name": "\\udc00"}]}'),
        ("/v1/tables/companies/records/bulk", b'{"records": {"k\\u0000": {"name": "a"}}}'),
    ],
)
def test_lone_surrogates_and_nul_in_names_are_400(server: Server, path: str, body: bytes) -> None:
    with server.http(_tenant(), "write") as client:
        answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert_problem(answer, 400, "invalid_character")
        assert client.get("/v1/imports").json()["data"] == []


# ---- 4. odd numbers, deep nesting, bad options ---------------------------------------
def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_integers_beyond_64_bits_are_4xx(server: Server) -> None:
    huge = 2**70
    with server.http() as admin:
        job = admin.post(
            "/v1/imports", json={"table": "visits", "mode": "append", "records": [{"station": "x"}]}
        ).json()
        for path, params in (
            ("/v1/tables/companies/records", {"due_days": str(huge)}),
            ("/v1/tables/projects/records", {"cursor": _cursor([huge])}),
            ("/v1/tables/projects/records", {"cursor": _cursor([-huge])}),
            (f"/v1/imports/{job['id']}/results", {"cursor": _cursor(["visits", huge, 1])}),
            (f"/v1/imports/{job['id']}/results", {"cursor": _cursor(["visits", 0, huge])}),
        ):
            answer = admin.get(path, params=params)
            assert 400 <= answer.status_code < 500, (path, params, answer.text)
            assert_problem(answer, answer.status_code)


def _nested(depth: int) -> bytes:
    return b'{"table": "visits", "records": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [900, 100_000])
def test_deeply_nested_json_is_a_4xx_problem(server: Server, depth: int) -> None:
    with server.http() as admin:
        answer = admin.post(
            "/v1/imports", content=_nested(depth), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code in (400, 422), answer.text
        assert "deep" in assert_problem(answer, answer.status_code)["detail"]


@pytest.mark.parametrize("encoding", ["hex", "rot13", "base64", "idna", "no-such-codec"])
def test_only_text_encodings_are_options(server: Server, encoding: str) -> None:
    with server.http() as admin:
        body = {"table": "visits", "records": [{"station": "x"}], "options": {"encoding": encoding}}
        body_ = assert_problem(admin.post("/v1/imports", json=body), 422, "invalid_option")
        assert "encoding" in body_["detail"]


@pytest.mark.parametrize("fmt", ["%+", "%k", "%Y-%m-%d %"])
def test_bad_date_formats_are_refused(server: Server, fmt: str) -> None:
    with server.http() as admin:
        body = {
            "table": "visits",
            "records": [{"station": "x", "visited_on": "2024-01-02"}],
            "options": {"date_formats": [fmt]},
        }
        answer = admin.post("/v1/imports", json=body)
        found = assert_problem(answer, 422, "invalid_option")
        assert "date format" in found["detail"] and fmt in found["detail"]


# ---- 5. a big body refused without reading it ----------------------------------------
LIMIT = 20_000
BIG = 1 << 30
SEND_AT_MOST = 64 << 20


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hostile-small")
    with running_server("sqlite", folder, LOADBAY_MAX_UPLOAD_BYTES=str(LIMIT)) as found:
        yield found


def _refused_and_closed(server: Server, token: str | None) -> bytes:
    """Headers announcing 1 GiB and a little of it; then the client goes on sending (as
    one that does not read would) until the server closes. Returns what it answered."""
    port = int(server.url.rsplit(":", 1)[1])
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /v1/uploads?filename=a.csv HTTP/1.1\r\nHost: x\r\n{auth}"
        f"Content-Type: text/csv\r\nContent-Length: {BIG}\r\n\r\n"
    )
    chunk = b"x" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + b"a,b\n" * 1000)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < SEND_AT_MOST:
                sent += sock.send(chunk)
        assert sent < SEND_AT_MOST, "the server went on reading the body"
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while data := sock.recv(65536):
                received += data
        return received


def _closed_after(received: bytes, status: int) -> None:
    assert received.startswith(b"HTTP/1.1 %d " % status), received[:300]
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower(), head
    assert json.loads(body)["status"] == status


def test_a_body_over_the_limit_is_answered_413_and_closed(small: Server) -> None:
    _closed_after(_refused_and_closed(small, small.admin_token), 413)
    assert httpx.get(small.url + "/healthz").status_code == 200


def test_a_big_body_without_a_token_is_answered_401_and_closed(server: Server) -> None:
    _closed_after(_refused_and_closed(server, None), 401)
    assert httpx.get(server.url + "/healthz").status_code == 200


def test_deep_json_in_bulk_bodies_and_form_fields_is_a_4xx_problem(server: Server) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with server.http() as admin:
        bulk = admin.post(
            "/v1/tables/companies/records/bulk",
            content=b'{"records": ' + deep + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= bulk.status_code < 500, bulk.text
        assert_problem(bulk, bulk.status_code)
        form = admin.post(
            "/v1/imports",
            data={"table": "visits", "options": deep.decode()},
            files={"file": ("v.csv", b"station\ns\n")},
        )
        assert "deep" in assert_problem(form, 422, "limit_exceeded")["detail"]


# ---- 7. driver errors that reach the API ---------------------------------------------
def test_a_lost_database_connection_is_503_and_a_refused_value_422(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "lb_" + uuid.uuid4().hex[:12]
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"{pg_url}&application_name={name}"
    )
    ctx = open_context(settings)
    try:
        _, token = auth.create_token(ctx, "default", "admin", "t")
        # a value the database refuses, for real
        with ctx.engine.connect() as conn, pytest.raises(sa.exc.DataError) as refused:
            conn.execute(sa.text("SELECT CAST(:v AS integer)"), {"v": "x\x00"})
        assert isinstance(database_error(refused.value), InvalidData)
    finally:
        ctx.close()
    # pooled connections are not pinged before use: the next request meets the dead one
    monkeypatch.setattr(engine_module, "PING_AFTER_SECONDS", 1e9)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/v1/imports", headers=headers).status_code == 200
        admin = sa.create_engine(PG_ADMIN)
        try:
            with admin.begin() as conn:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": name},
                )
        finally:
            admin.dispose()
        lost = client.get("/v1/imports", headers=headers)
        assert_problem(lost, 503, DatabaseUnavailable.code)
        assert client.get("/v1/imports", headers=headers).status_code == 200  # pool renewed


def test_the_answers_of_hostile_requests_are_documented(server: Server) -> None:
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    for operations in paths.values():
        for operation in operations.values():
            assert {"400", "503"} <= set(operation["responses"])
    assert "409" in paths["/v1/imports"]["post"]["responses"]
    assert "409" in paths["/v1/uploads"]["post"]["responses"]


def test_a_client_waiting_for_100_continue_gets_the_refusal_at_once(small: Server) -> None:
    port = int(small.url.rsplit(":", 1)[1])
    head = (
        "POST /v1/uploads?filename=a.csv HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {small.admin_token}\r\nContent-Length: {BIG}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        received = b""
        while data := sock.recv(65536):  # the server closes: no body was invited
            received += data
    _closed_after(received, 413)
