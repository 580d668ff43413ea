"""Uploads, idempotency, results in three formats, cancel and revert, tables and records."""

from __future__ import annotations

import csv
import io
import json

from tests.api.helpers import assert_problem, records, results, run, upload
from tests.api.server import EXAMPLES, Server


def test_uploads_raw_and_multipart(server: Server) -> None:
    with server.http("uploads", "write") as client:
        raw = upload(client, EXAMPLES / "projects.xml")
        assert raw["filename"] == "projects.xml" and raw["format"] == "xml"
        data = (EXAMPLES / "people.csv").read_bytes()
        multi = client.post("/v1/uploads", files={"file": ("dir/people.csv", data)})
        assert multi.status_code == 201, multi.text
        body = multi.json()
        assert (body["filename"], body["size"], body["format"]) == ("people.csv", len(data), "csv")
        assert client.get(f"/v1/uploads/{body['id']}").json() == body
        empty = client.post("/v1/uploads", files={"a": ("a.csv", b"x"), "b": ("b.csv", b"y")})
        assert_problem(empty, 422, "invalid_option")


def test_idempotency_keys(server: Server) -> None:
    with server.http("idem", "write") as client:
        key = {"Idempotency-Key": "upload-1"}
        content = (EXAMPLES / "companies.csv").read_bytes()
        params = {"filename": "companies.csv"}
        first = client.post("/v1/uploads", params=params, content=content, headers=key)
        again = client.post("/v1/uploads", params=params, content=content, headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        other = client.post("/v1/uploads", params=params, content=content + b"x", headers=key)
        assert_problem(other, 422, "idempotency_key_reused")

        body = {"upload_id": first.json()["id"], "table": "companies"}
        key = {"Idempotency-Key": "import-1"}
        made = client.post("/v1/imports", json=body, headers=key)
        same = client.post("/v1/imports", json=dict(reversed(body.items())), headers=key)
        assert made.status_code == same.status_code == 202
        assert same.json()["id"] == made.json()["id"]
        changed = client.post("/v1/imports", json={**body, "mode": "create"}, headers=key)
        assert_problem(changed, 422, "idempotency_key_reused")
        assert len(client.get("/v1/imports").json()["data"]) == 1
        with server.http("idem-other", "write") as stranger:  # keys are per tenant
            theirs = stranger.post("/v1/imports", json=body, headers=key)
            assert_problem(theirs, 404, "not_found")


BAD_PEOPLE = (
    "First Name,Last Name,Email,Company\n"
    "Ann,Lee,ann@x.example,\n"
    "=cmd,Kim,not-an-email,\n"
    ",Park,bo@x.example,\n"
)


def test_results_as_pages_csv_and_json_lines(server: Server) -> None:
    with server.http("results", "write") as client:
        up = client.post("/v1/uploads", params={"filename": "p.csv"}, content=BAD_PEOPLE)
        done = run(
            server, client, upload_id=up.json()["id"], table="people", error_handling="lenient"
        )
        assert done["state"] == "partially_succeeded"
        every = results(client, done["id"])
        assert [r["outcome"] for r in every] == ["created", "failed", "failed"]
        assert [r["row"] for r in results(client, done["id"], outcome="failed")] == [2, 3]
        assert_problem(
            client.get(f"/v1/imports/{done['id']}/results", params={"outcome": "bogus"}),
            422,
            "invalid_option",
        )
        text = client.get(f"/v1/imports/{done['id']}/results", headers={"Accept": "text/csv"})
        assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(text.text)))
        assert [r["Email"] for r in rows] == ["not-an-email", "bo@x.example"]
        assert rows[0]["First Name"] == "'=cmd"  # a formula is neutralised
        assert "email" in rows[0]["error"]
        lines = client.get(
            f"/v1/imports/{done['id']}/results", headers={"Accept": "application/x-ndjson"}
        )
        assert lines.headers["content-type"].startswith("application/x-ndjson")
        parsed = [json.loads(line) for line in lines.text.splitlines()]
        assert parsed == every


def test_results_tell_the_file_of_each_row(server: Server) -> None:
    with server.http("files", "write") as client:
        ids = [
            client.post("/v1/uploads", params={"filename": n}, content=text).json()["id"]
            for n, text in (("a.csv", "name\nOne\nTwo\n"), ("b.csv", "name\nThree\n,x\n"))
        ]
        done = run(server, client, upload_ids=ids, table="companies", error_handling="lenient")
        found = [(r["file"], r["row"], r["outcome"]) for r in results(client, done["id"])]
        assert found == [(0, 1, "created"), (0, 2, "created"), (1, 1, "created"), (1, 2, "failed")]


def test_cancel_and_states_never_go_back(server: Server) -> None:
    with server.http("cancel", "write") as client:
        data = {"companies": [{"name": "Solo"}]}
        dry = run(server, client, records=data, dry_run=True)
        assert dry["state"] == "validated"
        cancelled = client.post(f"/v1/imports/{dry['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert_problem(client.post(f"/v1/imports/{dry['id']}/start"), 409, "invalid_state")
        assert_problem(client.post(f"/v1/imports/{dry['id']}/cancel"), 409, "invalid_state")
        done = run(server, client, records=data)
        assert done["state"] == "succeeded"
        assert_problem(client.post(f"/v1/imports/{done['id']}/cancel"), 409, "invalid_state")
        assert_problem(client.post(f"/v1/imports/{done['id']}/start"), 409, "invalid_state")
        listed = client.get("/v1/imports", params={"state": "cancelled"}).json()["data"]
        assert [i["id"] for i in listed] == [dry["id"]]


def test_revert_conflicts_are_409_unless_forced(server: Server) -> None:
    with server.http("revert", "write") as client:
        first = run(server, client, records=[{"name": "Acme", "due_days": 10}], table="companies")
        later = client.post(
            "/v1/tables/companies/records/bulk",
            json={"records": [{"name": "Acme", "due_days": 20}]},
        )
        assert later.status_code == 200, later.text
        refused = client.post(f"/v1/imports/{first['id']}/revert", json={"force": False})
        body = assert_problem(refused, 409, "revert_conflict")
        assert body["conflicts"] and body["conflicts"][0]["table"] == "companies"
        assert records(client, "companies")[0]["due_days"] == 20  # nothing changed
        forced = client.post(f"/v1/imports/{first['id']}/revert", json={"force": True})
        assert forced.status_code == 200, forced.text
        assert forced.json()["import"]["state"] == "reverted"
        assert records(client, "companies") == []


def test_tables_and_records(server: Server) -> None:
    with server.http("tables", "write") as client:
        names = [t["name"] for t in client.get("/v1/tables").json()["data"]]
        assert {"companies", "people", "projects", "measurements", "visits"} <= set(names)
        people = client.get("/v1/tables/people").json()
        assert people["key"] == ["email"]
        assert {"name": "company", "references": "companies.name"}.items() <= next(
            c for c in people["columns"] if c["name"] == "company"
        ).items()
        rows = [{"name": f"C{i:02}", "due_days": i % 3} for i in range(7)]
        assert run(server, client, records=rows, table="companies")["state"] == "succeeded"
        run(server, client, records=[{"name": "Z"}], table="companies")
        seen, cursor = [], None
        while True:
            query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/tables/companies/records", params=query).json()
            seen += [r["name"] for r in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted([r["name"] for r in rows] + ["Z"])
        assert {r["name"] for r in records(client, "companies", due_days="2")} == {"C02", "C05"}
        assert_problem(
            client.get("/v1/tables/companies/records", params={"nope": "1"}),
            422,
            "invalid_option",
        )
        assert_problem(
            client.get("/v1/tables/companies/records", params={"due_days": "x"}),
            422,
            "invalid_option",
        )
        exported = client.get("/v1/tables/companies/records", params={"format": "csv"})
        assert exported.headers["content-type"].startswith("text/csv")
        assert len(list(csv.DictReader(io.StringIO(exported.text)))) == 8
        lines = client.get("/v1/tables/companies/records", params={"format": "jsonl"})
        assert len([json.loads(x) for x in lines.text.splitlines()]) == 8
