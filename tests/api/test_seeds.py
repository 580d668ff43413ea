"""The five seed APIs' scenarios (shared/reference/seeds/), each through the HTTP API.

Each test works in a tenant of its own, so that they share one server per module.
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.api.helpers import (
    assert_problem,
    load_examples,
    records,
    results,
    run,
    send_files,
    submit,
    upload,
)
from tests.api.server import EXAMPLES, Server


def test_jsonl_upload_then_partial_and_full_update_strict_and_lenient(server: Server) -> None:
    """000: upload a JSON Lines file, import it by id; upsert vs replace; strict vs lenient."""
    with server.http("seed0", "write") as client:
        load_examples(server, client)
        up = upload(client, EXAMPLES / "projects.jsonl")
        assert up["format"] == "jsonl" and up["size"] > 0 and len(up["sha256"]) == 64
        queued = submit(client, upload_id=up["id"], table="projects", mode="upsert")
        assert queued["created_at"] and queued["started_at"] is None
        partial = server.wait(client, queued["id"])
        assert partial["state"] == "succeeded", partial
        assert partial["started_at"] and partial["finished_at"] and partial["error"] is None
        assert (partial["counts"]["updated"], partial["counts"]["created"]) == (2, 1)
        by_id = {r["external_id"]: r for r in records(client, "projects")}
        assert by_id["P-100"]["budget"] == "550000.00"
        assert by_id["P-100"]["name"] == "Hardware deployment"  # partial: other columns kept

        full = run(server, client, upload_id=up["id"], table="projects", mode="replace")
        assert full["state"] == "failed" and full["counts"]["failed"] == 2  # names missing
        failed = results(client, full["id"], outcome="failed")
        assert {(r["row"], e["column"], e["code"]) for r in failed for e in r["errors"]} == {
            (1, "name", "required"),
            (2, "name", "required"),
        }
        assert records(client, "projects", external_id="P-100")[0]["name"] == "Hardware deployment"

        lenient = run(
            server,
            client,
            upload_id=up["id"],
            table="projects",
            mode="replace",
            error_handling="lenient",
        )
        assert lenient["state"] == "partially_succeeded", lenient
        assert lenient["counts"]["failed"] == 2

        aborted = run(
            server,
            client,
            upload_id=up["id"],
            table="projects",
            mode="replace",
            error_handling="lenient",
            options={"max_errors": 0},
        )
        assert aborted["state"] == "failed"
        assert aborted["error"]["code"] == "too_many_errors" and aborted["error"]["message"]


BAD_XML = """<?xml version="1.0" encoding="UTF-8"?>
<projects>
  <project external_id="X-1"><name>Good one</name><customer>Globex</customer></project>
  <project external_id="X-2"><name>Two problems</name><customer>Nobody Ltd</customer>
    <budget>lots</budget></project>
</projects>
"""


def test_xml_projects_multipart_with_a_note_and_row_results(server: Server, tmp_path: Path) -> None:
    """001: an XML file of several projects, multipart with notes; 207-like per-row
    successes and errors (a failed row has all its errors, each naming row, column, code,
    message and value)."""
    with server.http("seed1", "write") as client:
        load_examples(server, client)
        job = send_files(client, "projects.xml", table="projects", notes="Import on 2023-01-01")
        assert job["notes"] == "Import on 2023-01-01"
        done = server.wait(client, job["id"])
        assert done["state"] == "succeeded" and done["counts"]["created"] == 2
        rows = results(client, done["id"])
        assert [(r["row"], r["outcome"]) for r in rows] == [(1, "created"), (2, "created")]
        assert all(isinstance(r["id"], int) for r in rows)

        (tmp_path / "more.xml").write_text(BAD_XML)
        mixed = send_files(
            client, "more.xml", folder=tmp_path, table="projects", error_handling="lenient"
        )
        done = server.wait(client, mixed["id"])
        assert done["state"] == "partially_succeeded"
        rows = results(client, done["id"])
        assert [r["outcome"] for r in rows] == ["created", "failed"]
        assert [(e["row"], e["column"], e["code"], e["value"]) for e in rows[1]["errors"]] == [
            (2, "budget", "invalid_decimal", "lots"),
            (2, "customer", "reference_not_found", "Nobody Ltd"),
        ]
        assert all(e["message"] for e in rows[1]["errors"])


def test_keyed_bulk_with_a_missing_required_field_is_207(server: Server) -> None:
    """002: a synchronous bulk of 2 records keyed by client reference; one lacks a name."""
    with server.http("seed2", "write") as client:
        load_examples(server, client)
        keyed = (EXAMPLES / "projects-keyed.json").read_text()
        answer = client.post(
            "/v1/tables/projects/records/bulk",
            params={"return": "records", "fields": "name,budget"},
            content=f'{{"mode": "create", "records": {keyed}}}',
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 207, answer.text
        first, second = answer.json()["results"]
        assert (first["ref"], first["outcome"], first["errors"]) == ("1", "created", [])
        assert isinstance(first["id"], int)
        assert first["record"] == {
            "loadbay_id": first["id"],
            "name": "Hardware deployment",
            "budget": "500000.00",
        }
        assert (second["ref"], second["outcome"], second["id"]) == ("2", "failed", None)
        assert {k: second["errors"][0][k] for k in ("column", "code")} == {
            "column": "name",
            "code": "required",
        }
        again = client.post(
            "/v1/tables/projects/records/bulk",
            json={"mode": "upsert", "records": [{"external_id": "P-400", "budget": 1}]},
        )
        assert again.status_code == 200, again.text
        assert again.json()["results"] == [
            {"ref": None, "row": 1, "outcome": "updated", "id": first["id"], "errors": []}
        ]
        # the referenced rows inline, as expand=customer,contact does
        expanded = client.get(
            "/v1/tables/projects/records",
            params={"expand": "customer,contact", "external_id": "P-400"},
        ).json()["data"][0]
        assert expanded["customer"]["name"] == "Acme Corporation"
        assert expanded["contact"]["email"] == "ada@acme.example"
        too_many = [{"external_id": f"Q-{i}", "name": "n"} for i in range(101)]
        refused = client.post("/v1/tables/projects/records/bulk", json={"records": too_many})
        body = assert_problem(refused, 413, "payload_too_large")
        assert "sent 101 records, 100 allowed" in body["detail"]


MEASUREMENTS = {"Time": "taken_at", "Temp": "temperature"}


def test_semicolon_csv_with_constants_into_custom_tables(server: Server, tmp_path: Path) -> None:
    """003: a ;-separated CSV, mapping and constants; upsert on a key, append without one."""
    with server.http("seed3", "write") as client:
        up = upload(client, EXAMPLES / "measurements.csv")
        assert up["format"] == "csv"
        body = {
            "upload_id": up["id"],
            "table": "measurements",
            "mapping": MEASUREMENTS,
            "constants": {"kind": "manual"},
            "options": {"decimal_comma": True},
        }
        # the complete file as base64 in the JSON body, as the seed sends it
        content = base64.b64encode((EXAMPLES / "measurements.csv").read_bytes()).decode()
        inline = {k: v for k, v in body.items() if k != "upload_id"}
        first = run(server, client, **inline, filename="m.csv", content_base64=content)
        assert first["state"] == "succeeded" and first["counts"]["created"] == 3, first
        stored = records(client, "measurements", station="north")
        assert sorted(r["temperature"] for r in stored) == ["-1.25", "-3.50"]
        assert {r["kind"] for r in stored} == {"manual"}
        again = run(server, client, **body)
        assert again["counts"]["unchanged"] == 3

        visits = {
            "upload_id": upload(client, EXAMPLES / "visits.csv")["id"],
            "table": "visits",
            "mode": "append",
            "mapping": {"Day": "visited_on"},
            "options": {"date_formats": ["%d/%m/%Y"]},
        }
        for round_ in (1, 2):
            done = run(server, client, **visits)
            assert done["state"] == "succeeded" and done["counts"]["created"] == 3, done
            assert len(records(client, "visits")) == 3 * round_
        assert records(client, "visits", station="south")[0]["visited_on"] == "2024-01-16"
        every = {"decimal_comma": True, "require_all_columns": True}
        whole = run(server, client, **{**body, "constants": {}, "options": every})
        assert whole["state"] == "failed" and whole["error"]["code"] == "missing_column"

        (tmp_path / "clear.csv").write_text("Station;Time;Temp\nnorth;2024-01-15 08:00;\n")
        cleared = upload(client, tmp_path / "clear.csv")
        done = run(
            server, client, **{**body, "upload_id": cleared["id"], "options": {"empty": "clear"}}
        )
        assert done["counts"]["updated"] == 1, done
        temps = {
            (r["station"], r["taken_at"][:16]): r["temperature"]
            for r in records(client, "measurements")
        }
        assert temps[("north", "2024-01-15T08:00")] is None
        assert temps[("south", "2024-01-15T08:00")] == "4.00"


def test_companies_and_people_validated_started_listed_reverted(server: Server) -> None:
    """004: one import of two tables; dry run with row/column errors, start, list, revert."""
    data = {
        "companies": [{"name": "Import"}],
        "people": [
            {"Company": "Import", "First Name": "", "Last Name": "", "Email": "jane@mail.example"},
            {
                "Company": "Import",
                "First Name": "John",
                "Last Name": "Doe",
                "Email": "j@mail.example",
            },
        ],
    }
    with server.http("seed4", "write") as client:
        dry = run(server, client, records=data, dry_run=True, error_handling="lenient")
        assert dry["state"] == "validated" and dry["dry_run"] is True
        assert dry["created_by"]["name"] == "test" and dry["started_by"] is None  # its creator
        # changed before it runs (PATCH): a validated one is checked again
        patched = client.patch(f"/v1/imports/{dry['id']}", json={"notes": "Import data"})
        assert patched.status_code == 200 and patched.json()["notes"] == "Import data"
        # the runner names the tables just after the state is final (see test_engine_gaps)
        dry = server.wait_for(client, dry["id"], lambda i: bool(i["tables"]))
        assert sorted(dry["tables"]) == ["companies", "people"]
        errors = results(client, dry["id"], outcome="failed")
        assert [(r["table"], r["row"]) for r in errors] == [("people", 1)]
        assert {(e["column"], e["code"]) for e in errors[0]["errors"]} == {
            ("first_name", "required"),
            ("last_name", "required"),
        }
        assert records(client, "people") == []  # a dry run writes nothing

        started = client.post(f"/v1/imports/{dry['id']}/start")
        assert started.status_code == 202, started.text
        done = server.wait(client, dry["id"])
        assert done["state"] == "partially_succeeded" and done["dry_run"] is False
        assert done["counts"]["created"] == 2 and done["counts"]["failed"] == 1
        assert records(client, "people")[0]["company"] == "Import"
        assert_problem(client.post(f"/v1/imports/{dry['id']}/start"), 409, "invalid_state")

        others = [run(server, client, records=data, dry_run=True)["id"] for _ in range(3)]
        for other in others:
            server.wait_for(client, other, lambda i: bool(i["tables"]))
        seen: list[str] = []
        cursor = None
        while True:
            query = {"limit": 2, "table": "people", **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/imports", params=query).json()
            assert len(page["data"]) <= 2
            seen += [i["id"] for i in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [*reversed(others), dry["id"]]  # newest first, each once
        counted = client.get("/v1/imports", params={"count": "true", "limit": 1}).json()
        assert counted["total_count"] == 4 and counted["data"][0]["created_by"]["name"] == "test"

        reverted = client.post(f"/v1/imports/{dry['id']}/revert", json={})
        assert reverted.status_code == 200, reverted.text
        assert reverted.json()["import"]["state"] == "reverted"
        assert reverted.json()["import"]["reverted_by"]["name"] == "test"
        assert reverted.json()["reverted"]["deleted"] == 2
        assert records(client, "people") == [] and records(client, "companies") == []
        assert_problem(client.post(f"/v1/imports/{dry['id']}/revert"), 409, "invalid_state")
