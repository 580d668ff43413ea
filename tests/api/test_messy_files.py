"""Messy files over the HTTP API (issue 16): a real server on SQLite and on PostgreSQL,
files written by real writers, the read options of ImportOptions, the import's warnings."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from tests.api.helpers import assert_problem, records
from tests.api.server import Server


def _upload(client: httpx.Client, content: bytes, name: str = "companies.csv") -> str:
    answer = client.post("/v1/uploads", params={"filename": name}, content=content)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _run(server: Server, client: httpx.Client, content: bytes, **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/imports", json={"upload_id": _upload(client, content), **body})
    assert answer.status_code == 202, answer.text
    found: dict[str, Any] = server.wait(client, answer.json()["id"])
    return found


def _csv(rows: list[list[str]], **dialect: Any) -> bytes:
    out = io.StringIO()
    csv.writer(out, **dialect).writerows(rows)
    return out.getvalue().encode()


def _names(client: httpx.Client) -> set[str]:
    return {r["name"] for r in records(client, "companies")}


def test_latin1_and_its_warning_then_the_encoding_option(server: Server) -> None:
    content = "name,due_days\nCafé © Zoë,30\n".encode("latin-1")
    with server.http("messy-latin", "write") as client:
        done = _run(server, client, content, table="companies")
        assert done["state"] == "succeeded", done
        assert any("cp1252" in w and "encoding" in w for w in done["warnings"])
        assert client.get(f"/v1/imports/{done['id']}").json()["warnings"] == done["warnings"]
        assert "Café © Zoë" in _names(client)
        again = _run(server, client, content, table="companies", options={"encoding": "latin-1"})
        assert again["warnings"] == [] and again["counts"]["unchanged"] == 1


def test_layout_options_and_files_read_as_a_reference_reader(server: Server) -> None:
    with server.http("messy-layout", "write") as client:
        trailing = _run(server, client, b"name,due_days,\nAcme,30,\n", table="companies")
        assert trailing["state"] == "succeeded" and trailing["warnings"] == [], trailing

        bare = _csv([["Globex", "14"], ["Initech", "45"]])
        done = _run(
            server,
            client,
            bare,
            table="companies",
            mapping={"column_1": "name", "column_2": "due_days"},
            options={"header": False},
        )
        assert done["counts"]["created"] == 2, done

        twice = _csv([["name", "due_days", "due_days"], ["Hooli", "5", ""]])
        done = _run(server, client, twice, table="companies")
        assert done["state"] == "succeeded", done
        assert any("due_days_2" in w for w in done["warnings"])

        nul = _run(server, client, b"name,due_days\nVande\x00lay,3\n", table="companies")
        assert nul["state"] == "succeeded", nul
        assert any("NUL" in w for w in nul["warnings"])

        titled = b"# exported 2024\n# by a tool\nname;due_days\nUmbrella;7\n"
        done = _run(server, client, titled, table="companies", options={"comment": "#"})
        assert done["counts"]["created"] == 1, done
        refused = _run(server, client, titled, table="companies")
        assert refused["state"] == "failed" and "--comment" in refused["error"]["message"]
        assert _names(client) >= {"Acme", "Globex", "Initech", "Hooli", "Vandelay", "Umbrella"}


def test_bad_read_options_are_422(server: Server) -> None:
    with server.http("messy-bad", "write") as client:
        upload_id = _upload(client, b"name\nAcme\n")
        for options in (
            {"skip_lines": -1},
            {"header_row": 0},
            {"comment": "##"},
            {"header_row": 2, "header": False},
        ):
            answer = client.post(
                "/v1/imports",
                json={"upload_id": upload_id, "table": "companies", "options": options},
            )
            assert_problem(answer, 422)


def test_openapi_documents_the_read_options(server: Server) -> None:
    with server.http("messy-doc", "read") as client:
        spec = client.get("/openapi.json").json()
    props = spec["components"]["schemas"]["ImportOptions"]["properties"]
    for name in ("header", "skip_lines", "header_row", "comment", "escape", "encoding"):
        assert props[name].get("description") and props[name].get("examples"), name
