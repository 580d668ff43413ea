"""The Python client's side of issue 17: expand, totals, kinds and actors, PATCH."""

from __future__ import annotations

import base64

import pytest

import loadbay
from loadbay.client import ApiError
from tests.api.server import EXAMPLES, Server


def test_expand_count_kind_actor_and_update(server: Server) -> None:
    with loadbay.Client(server.url, server.token("cl-17", "write")) as lb:
        for name in ("companies", "people", "projects"):
            job = lb.create_import(upload_id=lb.upload(EXAMPLES / f"{name}.csv").id, table=name)
            assert lb.wait(job.id, poll=0.05).state == "succeeded"
            assert job.kind == "file" and job.created_by and job.created_by["name"] == "test"

        page = lb.records("projects", limit=1, expand=["customer"], count=True)
        assert page.total_count == 3 and page.data[0]["customer"]["name"] == "Acme Corporation"
        assert [r["contact"]["email"] for r in lb.iter_records("projects", expand=["contact"])][
            -1
        ] == "peter@initech.example"
        with pytest.raises(ApiError) as refused:
            lb.records("projects", expand=["budget"])
        assert (refused.value.status, refused.value.code) == (400, "unknown_expand")

        bulk = lb.bulk(
            "projects",
            [{"external_id": "P-300", "name": "Racks", "customer": "Initech"}],
            return_records=True,
            expand=["customer"],
        )
        record = bulk.results[0].record
        assert record is not None and record["customer"]["external_id"] == "C-003"
        bulks = lb.list_imports(kind="bulk", count=True)
        assert bulks.total_count == 1 and bulks.data[0].id == bulk.import_id
        assert bulks.data[0].kind == "bulk"
        mine = lb.list_imports(created_by=bulks.data[0].created_by["token_id"], count=True)
        assert mine.total_count == 4

        content = base64.b64encode(b"name,Days\nUmbrella,10\n").decode()
        dry = lb.create_import(
            table="companies", filename="u.csv", content_base64=content, dry_run=True
        )
        assert lb.wait(dry.id, poll=0.05).state == "validated"
        changed = lb.update_import(dry.id, mapping={"Days": "due_days"}, notes="mapped")
        assert (changed.state, changed.notes) == ("queued", "mapped")
        assert lb.wait(dry.id, poll=0.05).warnings == []
