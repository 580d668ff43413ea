"""Small helpers over the HTTP API for the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.api.server import EXAMPLES, Server

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "instance", "errors"}


def assert_problem(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape: an RFC 9457 problem document, with a stable code."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    body: dict[str, Any] = answer.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["type"] == f"urn:loadbay:problem:{body['code']}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    for error in body["errors"]:
        assert set(error) == {"row", "column", "code", "message", "value"}, error
    if code is not None:
        assert body["code"] == code, body
    return body


def upload(client: httpx.Client, path: Path, name: str | None = None) -> dict[str, Any]:
    answer = client.post(
        "/v1/uploads", params={"filename": name or path.name}, content=path.read_bytes()
    )
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def submit(client: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/imports", json=body)
    assert answer.status_code == 202, answer.text
    found: dict[str, Any] = answer.json()
    assert found["state"] == "queued"
    return found


def run(server: Server, client: httpx.Client, **body: Any) -> dict[str, Any]:
    """Submit an import and wait for its end."""
    found: dict[str, Any] = server.wait(client, submit(client, **body)["id"])
    return found


def send_files(
    client: httpx.Client, *names: str, folder: Path = EXAMPLES, **fields: str
) -> dict[str, Any]:
    files = [("file", (n, (folder / n).read_bytes())) for n in names]
    answer = client.post("/v1/imports", data=fields, files=files)
    assert answer.status_code == 202, answer.text
    found: dict[str, Any] = answer.json()
    return found


def load_examples(server: Server, client: httpx.Client) -> None:
    """The example companies, people and projects, in one multipart import."""
    job = send_files(client, "companies.csv", "people.csv", "projects.csv")
    done = server.wait(client, job["id"])
    assert done["state"] == "succeeded", done
    assert done["counts"]["created"] == 9


def results(client: httpx.Client, import_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every row result, following the cursor."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/imports/{import_id}/results", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def records(client: httpx.Client, table: str, **filters: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/tables/{table}/records", params={**filters, "limit": 200})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["data"]
    return found
