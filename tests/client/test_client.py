"""``loadbay.Client`` against a real server: typed answers, one exception type."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import loadbay
from loadbay.client import ApiError, Client, Import
from tests.api.server import EXAMPLES, Server


def _client(server: Server, tenant: str, scope: str = "admin") -> Client:
    return loadbay.Client(server.url, server.token(tenant, scope))


def test_upload_import_wait_results(server: Server) -> None:
    with _client(server, "cl1") as lb:
        seen: list[str] = []
        for name in ("companies.csv", "people.csv"):
            up = lb.upload(EXAMPLES / name)
            assert up.filename == name and up.format == "csv" and up.created_at is not None
            job = lb.create_import(upload_id=up.id, table=name.split(".")[0])
            assert isinstance(job, Import) and job.state == "queued"
            done = lb.wait(job.id, progress=lambda i: seen.append(i.state), poll=0.05)
            assert done.state == "succeeded" and done.counts.created == 3
        assert seen[-1] == "succeeded"
        assert lb.get_upload(up.id) == up
        same = lb.upload(b"name\nX\n", filename="x.csv", idempotency_key="k1")
        assert lb.upload(b"name\nX\n", filename="x.csv", idempotency_key="k1") == same

        job = lb.import_files(EXAMPLES / "projects.csv", error_handling="lenient", notes="n")
        done = lb.wait(job.id, poll=0.05)
        assert done.notes == "n" and done.counts.created == 3
        page = lb.results(done.id, limit=2)
        assert len(page.data) == 2 and page.next_cursor
        assert [r.outcome for r in lb.iter_results(done.id)] == ["created"] * 3
        assert next(i.id for i in lb.iter_imports()) == done.id
        assert lb.list_imports(limit=1, state="succeeded").data[0].id == done.id


def test_bulk_tables_records_export(server: Server) -> None:
    with _client(server, "cl2") as lb:
        answer = lb.bulk("companies", {"a": {"name": "A"}, "b": {"due_days": "x"}})
        assert answer.status_code == 207 and not answer.ok
        assert [(r.ref, r.outcome) for r in answer.results] == [("a", "created"), ("b", "failed")]
        assert answer.results[1].errors[0]["row"] == 2 and answer.warnings == []
        with pytest.raises(ApiError) as refused:
            lb.bulk("companies", [{"name": "C"}, {"due_days": "x"}], error_handling="strict")
        assert refused.value.code == "row_errors"
        ok = lb.bulk("companies", [{"name": "B"}], return_records=True, fields=["name"])
        assert ok.ok and ok.results[0].record == {"loadbay_id": ok.results[0].id, "name": "B"}
        assert "people" in [t.name for t in lb.tables()]
        assert lb.table("companies").key == ["name"]
        assert [r["name"] for r in lb.iter_records("companies")] == ["A", "B"]
        assert lb.records("companies", name="B").data[0]["name"] == "B"
        out = io.BytesIO()
        lb.export("companies", out, "csv")
        assert out.getvalue().decode().splitlines()[0].startswith("external_id,name")


def test_dry_run_start_cancel_revert_and_errors(server: Server, tmp_path: Path) -> None:
    with _client(server, "cl3") as lb:
        dry = lb.wait(
            lb.create_import(records=[{"name": "D"}], table="companies", dry_run=True).id,
            poll=0.05,
        )
        assert dry.state == "validated"
        lb.start(dry.id)
        done = lb.wait(dry.id, poll=0.05)
        assert done.state == "succeeded"
        with pytest.raises(ApiError) as caught:
            lb.cancel(done.id)
        assert caught.value.status == 409 and caught.value.code == "invalid_state"
        assert caught.value.problem["type"] == "urn:loadbay:problem:invalid_state"
        reverted = lb.revert(done.id)
        assert reverted.import_.state == "reverted" and reverted.reverted["deleted"] == 1
        with pytest.raises(ApiError) as caught:
            lb.get_import("imp_missing")
        assert caught.value.status == 404
        bad = lb.wait(lb.create_import(records=[{"due_days": "x"}], table="companies").id)
        assert b"error" in lb.error_report(bad.id).splitlines()[0]
        with pytest.raises(ApiError) as caught:
            lb.create_import(table="companies")
        assert caught.value.status == 422


def test_tokens_and_a_bad_token(server: Server) -> None:
    with _client(server, "cl4") as lb:
        token, secret = lb.create_token("read", "reader")
        assert token.scope == "read" and token.tenant == "cl4"
        with Client(server.url, secret) as reader:
            assert reader.list_imports().data == []
            with pytest.raises(ApiError) as caught:
                reader.bulk("companies", [{"name": "x"}])
            assert caught.value.status == 403
        assert lb.revoke_token(token.id).revoked_at is not None
        assert token.id in [t.id for t in lb.list_tokens()]
    with Client(server.url, "lb_wrong") as wrong, pytest.raises(ApiError) as caught:
        wrong.tables()
    assert caught.value.code == "unauthorized"
