"""A tenant's own tables over the API: infer from an upload, create, import into it
through the queue, add columns; names not available; changes refused as problems."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from tests.api.helpers import assert_problem, run
from tests.api.server import Server

ROWS = [
    ["Member No", "Full Name", "E-Mail", "Joined", "Fee", "Paid"],
    ["1", "Ann Lee", "ann@example.com", "05/01/2023", "12.50", "yes"],
    ["2", "Bo Chan", "", "31/12/2022", "7", "no"],
    ["3", "Cy Diaz", "cy@example.org", "1/2/2024", "0.125", "Yes"],
]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(client: httpx.Client, content: bytes, name: str) -> str:
    answer = client.post("/v1/uploads", params={"filename": name}, content=content)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _infer(client: httpx.Client, upload_id: str, **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/tables/infer", json={"upload_id": upload_id, **body})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_infer_create_import_alter(server: Server) -> None:
    with server.http("clubs", "write") as client:
        upload_id = _upload(client, _csv(ROWS), "members.csv")
        suggested = _infer(client, upload_id)
        table = suggested["table"]
        assert table["name"] == "members" and table["key"] == ["member_no"]
        types = {c["name"]: (c["type"], c.get("format")) for c in table["columns"]}
        assert types == {
            "member_no": ("integer", None),
            "full_name": ("text", None),
            "e_mail": ("email", None),
            "joined": ("date", "%d/%m/%Y"),
            "fee": ("decimal", None),
            "paid": ("boolean", None),
        }
        assert suggested["rows"] == 3 and suggested["mapping"]["E-Mail"] == "e_mail"
        # nothing was created
        assert "members" not in [t["name"] for t in client.get("/v1/tables").json()["data"]]

        made = client.post("/v1/tables", json=table)
        assert made.status_code == 201, made.text
        assert made.json()["key"] == ["member_no"]
        listed = [t["name"] for t in client.get("/v1/tables").json()["data"]]
        assert "members" in listed and "projects" in listed
        assert client.get("/v1/tables/members").json()["columns"][3]["format"] == "%d/%m/%Y"

        done = run(server, client, upload_id=upload_id, table="members")  # a queued worker
        assert done["state"] == "succeeded", done
        assert done["counts"]["created"] == 3
        rows = client.get("/v1/tables/members/records").json()["data"]
        assert [r["joined"] for r in rows] == ["2023-01-05", "2022-12-31", "2024-02-01"]

        patched = client.patch(
            "/v1/tables/members", json={"columns": [{"name": "phone", "type": "text"}]}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["columns"][-1]["name"] == "phone"
        later = _upload(client, _csv([["Member No", "phone"], ["2", "+44 20 1234"]]), "m.csv")
        done = run(server, client, upload_id=later, table="members")
        assert done["counts"]["updated"] == 1


def test_changes_that_lose_or_retype_data_are_problems(server: Server) -> None:
    with server.http("shops", "write") as client:
        spec = {
            "name": "shop_items",
            "key": ["sku"],
            "columns": [{"name": "sku", "required": True}],
        }
        assert client.post("/v1/tables", json=spec).status_code == 201
        body = assert_problem(client.post("/v1/tables", json=spec), 409, "conflict")
        assert "exists already" in body["detail"]
        retype = {"columns": [{"name": "sku", "type": "integer", "required": True}]}
        body = assert_problem(client.patch("/v1/tables/shop_items", json=retype), 409, "conflict")
        assert "never retyped" in body["detail"]
        body = assert_problem(
            client.patch("/v1/tables/projects", json={"columns": [{"name": "x"}]}), 409
        )
        assert "not one you defined" in body["detail"]
        assert_problem(client.patch("/v1/tables/nope", json={"columns": [{"name": "x"}]}), 404)
        bad = {"name": "Bad Name", "columns": [{"name": "a"}]}
        assert_problem(client.post("/v1/tables", json=bad), 422, "invalid_schema")
        typed = {"name": "t_float", "columns": [{"name": "a", "type": "float"}]}
        assert_problem(client.post("/v1/tables", json=typed), 422)
        assert_problem(
            client.post("/v1/tables/infer", json={"upload_id": "upl_0000000000000000"}), 404
        )
    with server.http("other-shops", "write") as other:
        for name in ("shop_items", "companies"):
            body = assert_problem(
                other.post("/v1/tables", json={**spec, "name": name}), 409, "conflict"
            )
            assert body["detail"] == f"the name '{name}' is not available; choose another"
        assert "shop_items" not in [t["name"] for t in other.get("/v1/tables").json()["data"]]
        assert_problem(other.get("/v1/tables/shop_items"), 404)
        assert_problem(other.get("/v1/tables/shop_items/records"), 404)
        assert_problem(other.patch("/v1/tables/shop_items", json={"columns": [{"name": "x"}]}), 404)
    with server.http("shops", "read") as reader:
        assert_problem(reader.post("/v1/tables", json={**spec, "name": "r1"}), 403)


def test_text_no_database_keeps_is_refused_before_the_database(server: Server) -> None:
    with server.http("odd-text", "write") as client:
        lone = '{"name": "odd_t", "description": "\\ud800", "columns": [{"name": "a"}]}'
        answer = client.post(
            "/v1/tables", content=lone, headers={"Content-Type": "application/json"}
        )
        assert_problem(answer, 422, "invalid_request")  # not a 500 from the driver
        patch = '{"columns": [{"name": "a", "description": "\\udc00"}]}'
        answer = client.patch(
            "/v1/tables/odd_t", content=patch, headers={"Content-Type": "application/json"}
        )
        assert_problem(answer, 422, "invalid_request")  # not a 500 from the driver


def test_infer_takes_the_read_options_only(server: Server) -> None:
    with server.http("readers", "write") as client:
        upload_id = _upload(client, b"My export\nref|qty\na|1\nb|2\n", "piped.txt")
        found = _infer(
            client, upload_id, table="piped", options={"delimiter": "|", "skip_lines": 1}
        )
        assert [c["name"] for c in found["table"]["columns"]] == ["ref", "qty"]
        answer = client.post(
            "/v1/tables/infer", json={"upload_id": upload_id, "options": {"decimal_comma": True}}
        )
        body = assert_problem(answer, 422, "invalid_option")
        assert "do not change how a file is read" in body["detail"]


def test_the_csv_export_neutralises_text_a_spreadsheet_would_run(server: Server) -> None:
    """GET …/records?format=csv (the remote ``loadbay export`` too): text cells starting
    with = + - @ get a leading apostrophe; numbers, and a text that is a number, do not."""
    with server.http("exports", "write") as client:
        definition = {
            "name": "ledger_csv",
            "key": ["code"],
            "columns": [
                {"name": "code", "type": "text", "required": True},
                {"name": "qty", "type": "integer"},
                {"name": "note", "type": "text"},
            ],
        }
        assert client.post("/v1/tables", json=definition).status_code == 201
        records = [
            {"code": "=A1", "qty": -5, "note": "-5"},
            {"code": "B2", "qty": 3, "note": "@handle"},
            {"code": "C3", "qty": None, "note": "+1+2"},
        ]
        written = client.post("/v1/tables/ledger_csv/records/bulk", json={"records": records})
        assert written.status_code == 200, written.text
        exported = client.get("/v1/tables/ledger_csv/records", params={"format": "csv"})
        assert exported.status_code == 200, exported.text
        assert list(csv.reader(io.StringIO(exported.text))) == [
            ["code", "qty", "note"],
            ["'=A1", "-5", "-5"],
            ["B2", "3", "'@handle"],
            ["C3", "", "'+1+2"],
        ]
        page = client.get("/v1/tables/ledger_csv/records").json()["data"]
        assert [r["code"] for r in page] == ["=A1", "B2", "C3"]  # stored as given


def test_a_column_named_as_a_query_parameter_is_filtered_as_filter_name(server: Server) -> None:
    """``limit``, ``format``, ``count``… are the records route's own parameters; a column
    of that name is filtered as ``filter[limit]=…`` (any column may be written so)."""
    rows = [["code", "limit", "count"], ["a", "5", "1"], ["b", "7", "2"], ["c", "5", "3"]]
    with server.http("limits", "write") as client:
        upload_id = _upload(client, _csv(rows), "quotas.csv")
        table = _infer(client, upload_id, table="quotas")["table"]
        assert client.post("/v1/tables", json=table).status_code == 201
        done = run(server, client, upload_id=upload_id, table="quotas")
        assert done["counts"]["created"] == 3, done
        page = client.get("/v1/tables/quotas/records", params={"filter[limit]": "5"})
        assert page.status_code == 200, page.text
        assert [r["code"] for r in page.json()["data"]] == ["a", "c"]
        both = {"filter[limit]": "5", "filter[code]": "c", "limit": "1"}
        assert [
            r["code"] for r in client.get("/v1/tables/quotas/records", params=both).json()["data"]
        ] == ["c"]
        unknown = client.get("/v1/tables/quotas/records", params={"filter[nope]": "1"})
        assert_problem(unknown, 422)
