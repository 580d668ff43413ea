"""What the seed APIs had and loadbay lacked (issue 17): expand, base64 content, who did
what to an import, totals, changing an import before it runs, Location, kinds.

Each test works in a tenant of its own, so that they share one server per module.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, load_examples, records, run, submit, upload
from tests.api.server import EXAMPLES, Server, running_server, spawn

COMPANIES = b"name,external_id,due_days\nUmbrella,C-900,10\nHooli,C-901,20\n"
#: ``Company`` is no column of companies: mapped to ``name`` it is the required name
RENAMED = b"Company,external_id\nUmbrella,C-900\nHooli,C-901\n"
#: ``Days`` is no column either (ignored, with a warning), until mapped to ``due_days``
DAYS = b"name,external_id,Days\nUmbrella,C-900,10\nHooli,C-901,twenty\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def idle(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server without workers (imports stay queued), whose files may hold 200 bytes."""
    folder = tmp_path_factory.mktemp(f"idle-{request.param}")
    with running_server(
        request.param, folder, "--no-worker", LOADBAY_MAX_UPLOAD_BYTES="200"
    ) as found:
        yield found


def token(client: httpx.Client, name: str, scope: str = "write") -> tuple[str, str]:
    """A new token of the client's tenant: (its id, its secret)."""
    answer = client.post("/v1/tokens", json={"scope": scope, "name": name})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], answer.json()["token"]


def as_token(server: Server, secret: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {secret}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=120)


# ---- expand ---------------------------------------------------------------------------
def test_records_expand_references_inline(server: Server) -> None:
    """002: ?expand=customer,contact gives the referenced rows instead of their keys."""
    with server.http("expand", "write") as client:
        load_examples(server, client)
        page = client.get(
            "/v1/tables/projects/records", params={"expand": "customer, contact", "limit": 2}
        )
        assert page.status_code == 200, page.text
        first = page.json()["data"][0]
        assert first["external_id"] == "P-100"
        company = records(client, "companies", name="Acme Corporation")[0]
        assert first["customer"] == company  # the whole record, its own id included
        assert first["contact"]["email"] == "ada@acme.example"
        assert first["contact"]["company"] == "Acme Corporation"  # one level: by its key
        assert first["owner"] == "grace@globex.example"  # not asked: its natural key

        # the next page expands too; a reference left empty stays null
        rest = client.get(
            "/v1/tables/projects/records",
            params={"expand": "owner", "cursor": page.json()["next_cursor"]},
        ).json()["data"]
        assert [r["external_id"] for r in rest] == ["P-102"]
        assert rest[0]["owner"] is None

        unknown = client.get("/v1/tables/projects/records", params={"expand": "customer,budget"})
        body = assert_problem(unknown, 400, "unknown_expand")
        assert "'budget'" in body["detail"] and "customer, contact, owner" in body["detail"]
        none = client.get("/v1/tables/companies/records", params={"expand": "name"})
        assert "references no table" in assert_problem(none, 400, "unknown_expand")["detail"]


def test_bulk_answer_expands_the_records_it_returns(server: Server) -> None:
    """002: POST …/records/bulk?return=records&expand=customer."""
    with server.http("expand-bulk", "write") as client:
        load_examples(server, client)
        answer = client.post(
            "/v1/tables/projects/records/bulk",
            params={"return": "records", "expand": "customer", "fields": "name,customer"},
            json={"records": [{"external_id": "P-200", "name": "Pipes", "customer": "Globex"}]},
        )
        assert answer.status_code == 200, answer.text
        (result,) = answer.json()["results"]
        globex = records(client, "companies", name="Globex")[0]
        assert (result["record"]["name"], result["record"]["customer"]) == ("Pipes", globex)

        refused = client.post(
            "/v1/tables/projects/records/bulk",
            params={"return": "records", "expand": "customer,nothing"},
            json={"records": [{"external_id": "P-201", "name": "Valves"}]},
        )
        assert "'nothing'" in assert_problem(refused, 400, "unknown_expand")["detail"]
        assert records(client, "projects", external_id="P-201") == []  # refused before


# ---- base64 ---------------------------------------------------------------------------
def test_upload_and_import_base64_content(server: Server) -> None:
    """003: a file's bytes as base64 in a JSON body, to /v1/uploads and /v1/imports."""
    with server.http("b64", "write") as client:
        answer = client.post(
            "/v1/uploads", json={"filename": "companies.csv", "content_base64": b64(COMPANIES)}
        )
        assert answer.status_code == 201, answer.text
        up = answer.json()
        assert (up["filename"], up["size"], up["format"]) == (
            "companies.csv",
            len(COMPANIES),
            "csv",
        )
        assert up["sha256"] == hashlib.sha256(COMPANIES).hexdigest()
        # line breaks (MIME's 76 columns) and a missing padding are fine
        wrapped = "\n".join(b64(COMPANIES)[i : i + 76] for i in range(0, 200, 76)).rstrip("=")
        again = client.post("/v1/uploads", json={"content_base64": wrapped})
        assert again.status_code == 201 and again.json()["sha256"] == up["sha256"]

        job = client.post(
            "/v1/imports",
            json={"table": "companies", "filename": "c.csv", "content_base64": b64(COMPANIES)},
        )
        assert job.status_code == 202, job.text
        done = server.wait(client, job.json()["id"])
        assert done["state"] == "succeeded" and done["counts"]["created"] == 2
        assert records(client, "companies", external_id="C-901")[0]["name"] == "Hooli"

        for bad, where in (("QUJD!RA==", "'!' at position 4"), ("QU=JD", "'=' may only end")):
            for path, body in (
                ("/v1/uploads", {"content_base64": bad}),
                ("/v1/imports", {"table": "companies", "content_base64": bad}),
            ):
                problem = assert_problem(client.post(path, json=body), 400, "invalid_base64")
                assert where in problem["detail"], problem
        both = client.post(
            "/v1/imports",
            json={"table": "companies", "upload_id": up["id"], "content_base64": b64(COMPANIES)},
        )
        assert "not both" in assert_problem(both, 422, "invalid_option")["detail"]
        form = client.post(
            "/v1/imports",
            data={"table": "companies", "content_base64": b64(COMPANIES)},
            files=[("file", ("c.csv", COMPANIES))],
        )
        assert "file part" in assert_problem(form, 422, "invalid_option")["detail"]
        alone = client.post("/v1/imports", json={"table": "companies", "filename": "c.csv"})
        assert "content_base64" in assert_problem(alone, 422, "invalid_option")["detail"]


def test_base64_size_limit_is_the_decoded_size(idle: Server) -> None:
    """The limit (200 bytes here) is of the decoded bytes; a body far over it is refused
    from its Content-Length, before it is read."""
    with idle.http("b64-limit", "write") as client:
        fits = b"name\n" + b"x" * 194 + b"\n"  # 200 bytes: 268 characters of base64
        answer = client.post("/v1/uploads", json={"content_base64": b64(fits)})
        assert answer.status_code == 201 and answer.json()["size"] == 200, answer.text
        over = client.post("/v1/uploads", json={"content_base64": b64(fits + b"x")})
        assert "decodes to 201 bytes" in assert_problem(over, 413, "payload_too_large")["detail"]
        imported = client.post(
            "/v1/imports", json={"table": "companies", "content_base64": b64(fits + b"x")}
        )
        assert_problem(imported, 413, "payload_too_large")
        huge = client.post("/v1/uploads", json={"content_base64": "A" * (2 << 20)})
        assert "request body" in assert_problem(huge, 413, "payload_too_large")["detail"]


# ---- who did it, kinds, totals, Location ---------------------------------------------
def test_imports_record_who_created_started_cancelled_reverted(server: Server) -> None:
    """004: each import keeps the token (id and name) behind each of its steps."""
    with server.http("who", "admin") as admin:
        alice_id, alice = token(admin, "alice-sync")
        bob_id, bob = token(admin, "bob-ops")
    alice_is = {"token_id": alice_id, "name": "alice-sync"}
    bob_is = {"token_id": bob_id, "name": "bob-ops"}
    with as_token(server, alice) as a, as_token(server, bob) as b:
        up = upload(a, EXAMPLES / "companies.csv")
        direct = run(server, a, upload_id=up["id"], table="companies")
        assert direct["created_by"] == direct["started_by"] == alice_is
        assert direct["cancelled_by"] is None and direct["reverted_by"] is None

        dry = run(server, a, upload_id=up["id"], table="companies", dry_run=True)
        assert (dry["created_by"], dry["started_by"]) == (alice_is, None)
        started = b.post(f"/v1/imports/{dry['id']}/start")
        assert started.status_code == 202 and started.json()["started_by"] == bob_is
        assert server.wait(a, dry["id"])["created_by"] == alice_is

        other = run(server, a, upload_id=up["id"], table="companies", dry_run=True)
        cancelled = b.post(f"/v1/imports/{other['id']}/cancel").json()
        assert cancelled["state"] == "cancelled" and cancelled["cancelled_by"] == bob_is

        reverted = b.post(f"/v1/imports/{direct['id']}/revert", json={"force": True})
        assert reverted.status_code == 200, reverted.text
        shown = a.get(f"/v1/imports/{direct['id']}").json()
        assert (shown["state"], shown["created_by"], shown["reverted_by"]) == (
            "reverted",
            alice_is,
            bob_is,
        )

        by_alice = a.get("/v1/imports", params={"created_by": alice_id}).json()["data"]
        assert {i["id"] for i in by_alice} == {direct["id"], dry["id"], other["id"]}
        assert b.get("/v1/imports", params={"created_by": bob_id}).json()["data"] == []


def test_cli_imports_say_so(server: Server, tmp_path: Path) -> None:
    """An import run by the command line on the database itself has no token: ``cli``."""
    import subprocess
    import sys

    env = {**server.env, "LOADBAY_TENANT": "default"}
    done = subprocess.run(
        [sys.executable, "-m", "loadbay", "import", str(EXAMPLES / "companies.csv")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with server.http("default", "read") as client:
        newest = client.get("/v1/imports", params={"limit": 1}).json()["data"][0]
    assert newest["created_by"] == newest["started_by"] == {"token_id": None, "name": "cli"}


def test_kinds_totals_and_location(server: Server) -> None:
    """Bulk requests are imports of kind bulk; ?count=true totals; 202 has a Location."""
    with server.http("kinds", "write") as client:
        load_examples(server, client)  # one file import
        bulk = client.post(
            "/v1/tables/companies/records/bulk", json={"records": [{"name": "Stark"}]}
        )
        assert bulk.status_code == 200, bulk.text
        bulk_id = bulk.json()["import_id"]
        up = upload(client, EXAMPLES / "companies.csv")
        accepted = client.post("/v1/imports", json={"upload_id": up["id"], "table": "companies"})
        assert accepted.status_code == 202
        assert accepted.headers["location"] == f"/v1/imports/{accepted.json()['id']}"
        followed = client.get(accepted.headers["location"])
        assert followed.status_code == 200 and followed.json()["kind"] == "file"
        server.wait(client, accepted.json()["id"])

        kinds = {
            kind: [i["id"] for i in client.get("/v1/imports", params={"kind": kind}).json()["data"]]
            for kind in ("file", "bulk")
        }
        assert kinds["bulk"] == [bulk_id] and len(kinds["file"]) == 2
        assert client.get(f"/v1/imports/{bulk_id}").json()["kind"] == "bulk"
        assert_problem(client.get("/v1/imports", params={"kind": "other"}), 422)

        page = client.get("/v1/imports", params={"count": "true", "limit": 1}).json()
        assert len(page["data"]) == 1 and page["total_count"] == 3 and page["next_cursor"]
        second = client.get(
            "/v1/imports", params={"count": "true", "limit": 1, "cursor": page["next_cursor"]}
        ).json()
        assert second["total_count"] == 3  # of every page, not what is left
        filtered = client.get("/v1/imports", params={"count": "true", "kind": "file"}).json()
        assert filtered["total_count"] == 2
        assert client.get("/v1/imports").json()["total_count"] is None  # not asked

        counted = client.get(
            "/v1/tables/projects/records", params={"count": "true", "limit": 1, "currency": "EUR"}
        ).json()
        assert (len(counted["data"]), counted["total_count"]) == (1, 2)
        everything = client.get("/v1/tables/companies/records", params={"count": "1"}).json()
        assert everything["total_count"] == 4


def test_multipart_and_start_answers_carry_location(server: Server) -> None:
    with server.http("location", "write") as client:
        files = [("file", ("companies.csv", (EXAMPLES / "companies.csv").read_bytes()))]
        sent = client.post("/v1/imports", data={"dry_run": "true"}, files=files)
        assert sent.status_code == 202
        assert sent.headers["location"] == f"/v1/imports/{sent.json()['id']}"
        server.wait(client, sent.json()["id"])
        started = client.post(f"/v1/imports/{sent.json()['id']}/start")
        assert started.status_code == 202
        assert started.headers["location"] == f"/v1/imports/{sent.json()['id']}"


# ---- PATCH ----------------------------------------------------------------------------
def test_patch_a_validated_import_checks_it_again(server: Server) -> None:
    """004: a dry run whose mapping was wrong is fixed, checked again, then started."""
    with server.http("patch", "write") as client:
        up = client.post("/v1/uploads", params={"filename": "c.csv"}, content=DAYS).json()
        dry = run(
            server,
            client,
            upload_id=up["id"],
            table="companies",
            error_handling="lenient",
            dry_run=True,
        )
        assert dry["state"] == "validated" and dry["counts"]["created"] == 2, dry["error"]
        assert "'Days'" in dry["warnings"][0]

        patched = client.patch(
            f"/v1/imports/{dry['id']}",
            json={"mapping": {"Days": "due_days"}, "notes": "mapped", "options": {"max_errors": 5}},
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["state"], patched.json()["notes"]) == ("queued", "mapped")
        checked = server.wait(client, dry["id"])
        assert checked["state"] == "validated" and checked["dry_run"], checked
        assert (checked["counts"]["failed"], checked["counts"]["created"]) == (1, 1)
        assert checked["warnings"] == []
        (failed,) = client.get(
            f"/v1/imports/{dry['id']}/results", params={"outcome": "failed"}
        ).json()["data"]
        assert (failed["row"], failed["errors"][0]["column"]) == (2, "due_days")
        start = client.post(f"/v1/imports/{dry['id']}/start")
        assert server.wait(client, start.json()["id"])["state"] == "partially_succeeded"
        assert records(client, "companies", external_id="C-900")[0]["due_days"] == 10

        # a strict dry run whose rows fail ends validation_failed: fixed, it is checked again
        strict = run(
            server,
            client,
            upload_id=up["id"],
            table="companies",
            dry_run=True,
            mapping={"Days": "due_days"},
        )
        assert strict["state"] == "validation_failed", strict
        fixed = client.patch(f"/v1/imports/{strict['id']}", json={"mapping": {"Days": None}})
        assert fixed.status_code == 200 and fixed.json()["state"] == "queued", fixed.text
        assert server.wait(client, strict["id"])["state"] == "validated"

        notes_only = run(server, client, upload_id=up["id"], table="companies", dry_run=True)
        renamed = client.patch(f"/v1/imports/{notes_only['id']}", json={"notes": "as is"})
        assert (renamed.json()["state"], renamed.json()["notes"]) == ("validated", "as is")

        again = client.patch(f"/v1/imports/{dry['id']}", json={"notes": "late"})
        problem = assert_problem(again, 409, "invalid_state")
        assert (
            "is partially_succeeded" in problem["detail"] and "ended dry run" in problem["detail"]
        )
        assert_problem(client.patch(f"/v1/imports/{dry['id']}", json={}), 422, "invalid_option")
        assert_problem(client.patch("/v1/imports/imp_0000000000000000", json={"notes": "x"}), 404)


def test_patch_a_queued_import_runs_with_the_change(idle: Server, tmp_path: Path) -> None:
    """Queued (no worker yet): the change is what runs once a worker takes it."""
    with idle.http("patch-queued", "write") as client:
        up = client.post("/v1/uploads", params={"filename": "c.csv"}, content=RENAMED).json()
        job = submit(client, upload_id=up["id"], table="companies", notes="first")
        bad = client.patch(f"/v1/imports/{job['id']}", json={"options": {"colour": "red"}})
        assert_problem(bad, 422)
        patched = client.patch(
            f"/v1/imports/{job['id']}",
            json={"mapping": {"Company": "name", "unused": "x"}, "notes": None},
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["state"], patched.json()["notes"]) == ("queued", None)
        removed = client.patch(f"/v1/imports/{job['id']}", json={"mapping": {"unused": None}})
        assert removed.status_code == 200, removed.text

        worker = spawn(idle.env, "worker", log=tmp_path / "worker.log")
        try:
            done: dict[str, Any] = idle.wait(client, job["id"])
        finally:
            worker.stop()
        assert done["state"] == "succeeded", (done, worker.output())
        assert records(client, "companies", external_id="C-901")[0]["name"] == "Hooli"


def test_the_openapi_document_describes_it_with_examples(server: Server) -> None:
    document = httpx.get(server.url + "/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("UploadCreate", "ImportUpdate", "Import", "ImportPage", "RecordPage", "Actor"):
        assert schemas[name].get("examples"), name
    imported = schemas["Import"]["properties"]
    assert {"kind", "created_by", "started_by", "cancelled_by", "reverted_by"} <= set(imported)
    assert imported["kind"]["enum"] == ["file", "bulk"]
    assert schemas["Import"]["examples"][0]["created_by"]["name"]
    assert "total_count" in schemas["ImportPage"]["properties"]
    assert {"content_base64", "filename"} <= set(schemas["ImportCreate"]["properties"])
    paths = document["paths"]
    assert "UploadCreate" in str(paths["/v1/uploads"]["post"]["requestBody"])
    assert "ImportUpdate" in str(paths["/v1/imports/{import_id}"]["patch"])
    listed = {p["name"] for p in paths["/v1/imports"]["get"]["parameters"]}
    assert {"kind", "created_by", "count"} <= listed
    records_list = paths["/v1/tables/{table}/records"]["get"]["parameters"]
    assert {"expand", "count"} <= {p["name"] for p in records_list}
    for path in ("/v1/imports", "/v1/imports/{import_id}/start"):
        assert "Location" in paths[path]["post"]["responses"]["202"]["headers"], path
    for path in ("/v1/uploads", "/v1/tables/{table}/records"):
        method = "post" if path == "/v1/uploads" else "get"
        assert "400" in paths[path][method]["responses"], path
