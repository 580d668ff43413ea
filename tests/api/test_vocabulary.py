"""One vocabulary over the API: ``outcome`` everywhere, one error object (row, column,
code, message, value), record fields that are no column reported, all-or-nothing bulk."""

from __future__ import annotations

import time
from typing import Any

import httpx

from loadbay.service.context import open_context
from loadbay.store.locks import table_locks
from tests.api.helpers import assert_problem, records, run, send_files
from tests.api.server import Server

ERROR_KEYS = {"row", "column", "code", "message", "value"}


def _bulk(client: httpx.Client, body: dict[str, Any], table: str = "companies") -> httpx.Response:
    return client.post(f"/v1/tables/{table}/records/bulk", json=body)


def test_a_bulk_answer_speaks_outcome_and_full_error_objects(server: Server) -> None:
    with server.http("vocab-bulk", "write") as client:
        answer = _bulk(
            client,
            {
                "mode": "create",
                "records": [
                    {"name": "Acme", "due_days": "30", "colour": "red"},
                    {"name": "Globex", "due_days": "soon"},
                    {"name": "Initech", "id": 5},  # loadbay's own field
                ],
            },
        )
        assert answer.status_code == 207, answer.text
        body = answer.json()
        assert body["warnings"] == [
            "records: column 'colour' is not a column of companies; ignored"
        ]
        first, second, third = body["results"]
        assert [(e["column"], e["code"]) for e in third["errors"]] == [("id", "read_only")]
        assert (first["row"], first["outcome"], first["errors"]) == (1, "created", [])
        assert "status" not in first
        assert (second["row"], second["outcome"], second["id"]) == (2, "failed", None)
        (error,) = second["errors"]
        assert set(error) == ERROR_KEYS
        assert (error["row"], error["column"], error["code"], error["value"]) == (
            2,
            "due_days",
            "invalid_integer",
            "soon",
        )


def test_strict_bulk_is_all_or_nothing(server: Server) -> None:
    with server.http("vocab-strict", "write") as client:
        refused = _bulk(
            client,
            {
                "error_handling": "strict",
                "records": [{"name": "Initech"}, {"name": "Hooli", "due_days": "-1"}],
            },
        )
        body = assert_problem(refused, 422, "row_errors")
        assert body["detail"] == "1 row failed; nothing was written"
        assert [(e["row"], e["column"], e["code"]) for e in body["errors"]] == [
            (2, "due_days", "too_small")
        ]
        assert [r["outcome"] for r in body["results"]] == ["skipped", "failed"]
        assert body["import_id"].startswith("imp_")
        assert records(client, "companies") == []  # nothing written, not even Initech

        fine = _bulk(client, {"error_handling": "strict", "records": [{"name": "Initech"}]})
        assert fine.status_code == 200, fine.text
        assert [r["outcome"] for r in fine.json()["results"]] == ["created"]

        wrong = _bulk(client, {"error_handling": "sometimes", "records": [{"name": "X"}]})
        assert_problem(wrong, 422, "invalid_request")


def test_a_write_waiting_past_its_lock_timeout_is_409_locked(server: Server) -> None:
    """Import A (companies and people) holds companies while it waits for people, which
    the test holds: a bulk into companies with a lock_timeout answers 409 naming A."""
    ctx = open_context(server.settings)
    try:
        with (
            ctx.engine.connect() as conn,
            table_locks(conn, "vocab-locks", ["people"]),
            server.http("vocab-locks", "write") as client,
        ):
            holder = send_files(client, "companies.csv", "people.csv")
            with ctx.engine.connect() as probe:
                while True:  # until A holds companies
                    with table_locks(probe, "vocab-locks", ["companies"], wait=False) as free:
                        if not free:
                            break
                    time.sleep(0.02)
            refused = _bulk(client, {"lock_timeout": 0.2, "records": [{"name": "Acme"}]})
            body = assert_problem(refused, 409, "locked")
            assert f"import {holder['id']} (running)" in body["detail"]
            bad = _bulk(client, {"lock_timeout": -1, "records": [{"name": "Acme"}]})
            assert_problem(bad, 422, "invalid_request")
        with server.http("vocab-locks", "write") as client:  # the lock is free again
            assert server.wait(client, holder["id"])["state"] == "succeeded"
            fine = _bulk(client, {"lock_timeout": 0, "records": [{"name": "Acme"}]})
            assert fine.status_code == 200, fine.text
    finally:
        ctx.close()


def test_a_strict_dry_run_with_failed_rows_says_so_and_starts_only_when_forced(
    server: Server,
) -> None:
    with server.http("vocab-dry", "write") as client:
        records_ = [{"name": "Acme"}, {"name": "Globex", "due_days": "soon"}]
        dry = run(server, client, records=records_, table="companies", dry_run=True)
        assert dry["state"] == "validation_failed", dry
        assert dry["error"] == {
            "code": "row_errors",
            "message": "1 row failed; a real run would write nothing",
        }
        refused = client.post(f"/v1/imports/{dry['id']}/start")
        body = assert_problem(refused, 409, "invalid_state")
        assert "1 row failed its dry run" in body["detail"] and "force" in body["detail"]
        forced = client.post(f"/v1/imports/{dry['id']}/start", json={"force": True})
        assert forced.status_code == 202, forced.text
        done = server.wait(client, dry["id"])
        assert done["state"] == "failed" and done["error"]["code"] == "row_errors"
        assert done["error"]["message"] == "1 row failed; nothing was written"

        clean = run(server, client, records=[{"name": "Acme"}], table="companies", dry_run=True)
        assert clean["state"] == "validated" and clean["error"] is None
        started = client.post(f"/v1/imports/{clean['id']}/start")
        assert started.status_code == 202, started.text
        assert server.wait(client, clean["id"])["state"] == "succeeded"


def test_messages_over_the_api_speak_the_api(server: Server) -> None:
    """The same message the command line words with --map names ``mapping`` here, and no
    internal file name (inline records are ``records``)."""
    with server.http("vocab-words", "write") as client:
        records_ = [{"nom": "Acme", "colour": "red"}]
        done = run(server, client, records=records_, table="companies", mode="create")
        message = done["error"]["message"]
        assert done["error"]["code"] == "missing_column"
        assert 'map one with mapping ({"File Column": "column"})' in message, message
        assert "--" not in message and "records.json" not in message
        assert all("records.json" not in w for w in done["warnings"])


def test_datetimes_are_stored_in_utc_and_shown_with_z(server: Server) -> None:
    with server.http("vocab-time", "write") as client:
        given = [
            {"station": "n", "taken_at": "2024-01-15T08:00:00+02:00"},
            {"station": "s", "taken_at": "2024-01-15 08:00"},  # no zone: UTC
        ]
        answer = _bulk(client, {"records": given}, table="measurements")
        assert answer.status_code == 200, answer.text
        shown = {r["station"]: r["taken_at"] for r in records(client, "measurements")}
        assert shown == {"n": "2024-01-15T06:00:00Z", "s": "2024-01-15T08:00:00Z"}
        found = records(client, "measurements", taken_at="2024-01-15T08:00:00+02:00")
        assert [r["station"] for r in found] == ["n"]
        imp = client.get(f"/v1/imports/{answer.json()['import_id']}").json()
        assert imp["created_at"].endswith("Z") and imp["finished_at"].endswith("Z")
