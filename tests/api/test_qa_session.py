"""Fresh-eyes QA of the session's new routes, through a real server on SQLite and
PostgreSQL: hostile definitions and requests get a clear 4xx problem, never a database
failure (503) or a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbay.config import Settings
from loadbay.schema.model import MAX_TABLE_COLUMNS
from loadbay.service.requests import SourceSpec
from loadbay.service.tables import infer_sources
from tests.api.helpers import assert_problem
from tests.api.server import Server


@pytest.mark.parametrize(
    "name", ["sqlite_master", "sqlite_sequence", "sqlite_stats", "pg_class", "pg_tables"]
)
def test_a_table_named_as_a_database_s_own_is_refused(server: Server, name: str) -> None:
    """The names SQLite and PostgreSQL keep for their catalogs (sqlite_*, pg_*) are refused
    on both databases alike, before the database (it answered 503 database_error)."""
    columns = [{"name": "id", "type": "integer"}]
    with server.http("qa") as client:
        body = assert_problem(
            client.post("/v1/tables", json={"name": name, "columns": columns}),
            422,
            "invalid_schema",
        )
        assert name in body["detail"] and "reserved" in body["detail"]
        assert name not in [t["name"] for t in client.get("/v1/tables").json()["data"]]


def test_a_table_wider_than_the_databases_take_is_refused(server: Server) -> None:
    """A definition (or a PATCH) with more columns than a data table can hold is 422 naming
    the limit (it was 503: PostgreSQL stops at 1,600 columns, SQLite at 2,000)."""
    many = [{"name": f"c{i}", "type": "text"} for i in range(2001)]
    with server.http("qa") as client:
        body = assert_problem(
            client.post("/v1/tables", json={"name": "wide", "columns": many}),
            422,
            "invalid_schema",
        )
        assert "2001 columns" in body["detail"] and "at most" in body["detail"]
        made = client.post("/v1/tables", json={"name": "narrow", "columns": many[:1]})
        assert made.status_code == 201, made.text
        body = assert_problem(
            client.patch("/v1/tables/narrow", json={"columns": many}), 422, "invalid_schema"
        )
        assert "at most" in body["detail"]


def _settled_import(server: Server, tenant: str) -> str:
    with server.http(tenant) as client:
        answer = client.post(
            "/v1/imports",
            files={"file": ("visits.csv", b"station,note\ns1,hi\n", "text/csv")},
            data={"table": "visits", "mode": "append"},
        )
        assert answer.status_code == 202, answer.text
        import_id = str(answer.json()["id"])
        server.wait(client, import_id)
    return import_id


@pytest.mark.parametrize("header", ["99999999999999999999999", "1_000", "+5", "5 0"])
def test_a_last_event_id_never_sent_is_no_resume(server: Server, header: str) -> None:
    """A Last-Event-ID the server never sent (above its newest, or not a plain number) is
    read as none: the client gets the import's events up to its final state, instead of an
    empty stream that never says how the import ended."""
    import_id = _settled_import(server, "qa")
    with server.http("qa") as client:
        answer = client.get(f"/v1/imports/{import_id}/events", headers={"Last-Event-ID": header})
        assert answer.status_code == 200, answer.text
        events = [line for line in answer.text.splitlines() if line.startswith("data: ")]
        assert events, answer.text
        final = client.get(f"/v1/imports/{import_id}").json()["state"]
        assert f'"state": "{final}"' in events[-1]


def test_a_file_wider_than_a_table_is_refused_by_infer(server: Server) -> None:
    """Inferring a table from a file of more columns than a table may have is 422 naming
    the limit, before the summary query (3,000 columns took minutes of the server's CPU
    and the client timed out)."""
    width = MAX_TABLE_COLUMNS + 1
    content = ",".join(f"c{i}" for i in range(width)) + "\n" + ",".join(["1"] * width) + "\n"
    with server.http("qa") as client:
        made = client.post("/v1/uploads", params={"filename": "wide.csv"}, content=content)
        assert made.status_code == 201, made.text
        answer = client.post("/v1/tables/infer", json={"upload_id": made.json()["id"]})
        body = assert_problem(answer, 422, "invalid_schema")
        assert f"{width:,} columns" in body["detail"], body


def test_a_wide_file_is_inferred_column_by_column(tmp_path: Path) -> None:
    """A file wider than one summary query (its columns are summarised in parts) gets
    each column's own type, on either side of every part's edge."""
    kinds = [("integer", "7"), ("decimal", "1.25"), ("date", "2024-01-31"), ("text", "abc")]
    width = 3 * 64 + 5
    header = [f"c{i}" for i in range(width)]
    cells = [kinds[i % len(kinds)][1] for i in range(width)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(header) + "\n" + ",".join(cells) + "\n")
    found = infer_sources(Settings(data_dir=tmp_path), [SourceSpec(path=str(path), name="w.csv")])
    types = [c.type.value for c in found[0].table.columns]
    assert types == [kinds[i % len(kinds)][0] for i in range(width)]


@pytest.mark.parametrize(
    ("kind", "default"),
    [("integer", "abc"), ("integer", "1" + "0" * 30), ("date", "notadate"), ("boolean", "maybe")],
)
def test_a_default_not_of_its_column_s_type_is_refused(
    server: Server, kind: str, default: str
) -> None:
    """A default the column's type cannot hold is 422 when the table is defined (it was
    taken, then every write of a row without that column failed: 500 on SQLite, 503 on
    PostgreSQL; or, for a boolean on SQLite, stored silently as false)."""
    columns = [{"name": "k", "type": "text"}, {"name": "x", "type": kind, "default": default}]
    with server.http("qa") as client:
        answer = client.post("/v1/tables", json={"name": "defaults", "columns": columns})
        body = assert_problem(answer, 422, "invalid_schema")
        assert "'x'" in body["detail"] and default in body["detail"], body
        good = [{"name": "k", "type": "text"}, {"name": "x", "type": kind}]
        made = client.post(
            "/v1/tables", json={"name": f"fine_{kind}_{len(default)}", "columns": good}
        )
        assert made.status_code == 201, made.text


@pytest.mark.parametrize("param", ["state", "kind"])
def test_an_unknown_filter_value_of_the_imports_list_is_refused(server: Server, param: str) -> None:
    """``state=bogus`` listed nothing with 200, as if no import were in that state."""
    with server.http("filters", "read") as client:
        body = assert_problem(client.get("/v1/imports", params={param: "bogus"}), 422)
        assert "bogus" in body["detail"] or body["errors"]
        assert client.get("/v1/imports", params={"state": "succeeded"}).status_code == 200


def test_a_lenient_bulk_whose_every_record_failed_answers_each(server: Server) -> None:
    """207 with each record's errors, while its import says why it wrote nothing."""
    with server.http("allfail", "write") as client:
        bad = [{"name": "A", "due_days": "soon"}, {"name": "B", "due_days": "later"}]
        answer = client.post("/v1/tables/companies/records/bulk", json={"records": bad})
        assert answer.status_code == 207, answer.text
        body = answer.json()
        assert [r["outcome"] for r in body["results"]] == ["failed", "failed"]
        done = client.get(f"/v1/imports/{body['import_id']}").json()
        assert done["state"] == "failed"
        assert done["error"]["code"] == "row_errors"
        assert done["error"]["message"] == "2 rows failed; nothing was written"
