"""Saved import templates: CRUD, use in an import (with overrides), save an import as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from loadbay.client import ApiError, Client
from tests.api.helpers import assert_problem, records, submit
from tests.api.server import Server

CSV = b"Company,Ref,Currency\nInitech,T-001,EUR\nHooli,T-002,USD\n"
TEMPLATE = {
    "name": "companies-feed",
    "table": "companies",
    "mapping": {"Company": "name", "Ref": "external_id", "Currency": "default_currency"},
    "constants": {"description": "from the template", "due_days": 30},
    "options": {"delimiter": ","},
    "mode": "upsert",
    "error_handling": "strict",
    "key": ["external_id"],
    "notes": "the weekly feed",
}


def _create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/templates", json={**TEMPLATE, **body})
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _upload(client: httpx.Client) -> str:
    answer = client.post("/v1/uploads", params={"filename": "feed.csv"}, content=CSV)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_create_list_get_patch_delete(server: Server) -> None:
    with server.http("tpl-crud", "write") as client:
        made = _create(client)
        assert made["id"].startswith("tpl_") and made["tables"] == ["companies"]
        assert made["constants"] == {"description": "from the template", "due_days": "30"}
        assert made["options"] == {"delimiter": ","} and made["key"] == ["external_id"]
        assert client.get(f"/v1/templates/{made['id']}").json() == made
        assert client.get("/v1/templates/companies-feed").json() == made  # by name
        assert_problem(client.post("/v1/templates", json=TEMPLATE), 409, "conflict")
        other = _create(client, name="another")

        first = client.get("/v1/templates", params={"limit": 1}).json()
        assert [t["name"] for t in first["data"]] == ["another"] and first["next_cursor"]
        rest = client.get("/v1/templates", params={"cursor": first["next_cursor"]}).json()
        assert [t["name"] for t in rest["data"]] == ["companies-feed"]
        assert rest["next_cursor"] is None

        patched = client.patch(f"/v1/templates/{made['id']}", json={"mapping": {"A": "name"}})
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert body["mapping"] == {"A": "name"} and body["constants"] == made["constants"]
        assert body["name"] == "companies-feed" and body["updated_at"] >= made["updated_at"]
        taken = client.patch(f"/v1/templates/{made['id']}", json={"name": "another"})
        assert_problem(taken, 409, "conflict")

        gone = client.delete(f"/v1/templates/{other['id']}")
        assert gone.status_code == 200 and gone.json()["id"] == other["id"]
        assert_problem(client.get(f"/v1/templates/{other['id']}"), 404, "not_found")
        assert_problem(client.delete(f"/v1/templates/{other['id']}"), 404, "not_found")


def test_errors_and_tenant_isolation(server: Server) -> None:
    with server.http("tpl-errors", "write") as client:
        made = _create(client)
        no_table = client.post("/v1/templates", json={**TEMPLATE, "name": "x", "table": "nope"})
        assert "nope" in assert_problem(no_table, 422, "invalid_option")["detail"]
        patch_table = client.patch(f"/v1/templates/{made['id']}", json={"tables": ["nope"]})
        assert_problem(patch_table, 422, "invalid_option")
        bad_option = client.post("/v1/templates", json={"name": "y", "options": {"bogus": 1}})
        assert_problem(bad_option, 422)
        assert_problem(client.get("/v1/templates/tpl_0000000000000000"), 404, "not_found")
        for body in ({"name": "a\u0000b"}, {"name": "n", "mapping": {"A\u0000": "name"}}):
            assert_problem(client.post("/v1/templates", json=body), 400, "invalid_character")
        upload_id = _upload(client)
        unknown = client.post(
            "/v1/imports", json={"upload_id": upload_id, "template_id": "tpl_missing"}
        )
        assert_problem(unknown, 404, "not_found")
    with server.http("tpl-errors", "read") as reader:
        assert_problem(reader.post("/v1/templates", json={**TEMPLATE, "name": "r"}), 403)
        assert reader.get(f"/v1/templates/{made['id']}").status_code == 200
    with server.http("tpl-stranger", "write") as stranger:
        for answer in (
            stranger.get(f"/v1/templates/{made['id']}"),
            stranger.get("/v1/templates/companies-feed"),
            stranger.patch(f"/v1/templates/{made['id']}", json={"notes": "mine"}),
            stranger.delete(f"/v1/templates/{made['id']}"),
        ):
            assert_problem(answer, 404, "not_found")
        assert stranger.get("/v1/templates").json()["data"] == []
        mine = _create(stranger)  # the same name in another tenant
        assert mine["id"] != made["id"]


def test_import_with_template_overrides_save_and_filter(server: Server) -> None:
    with server.http("tpl-use", "write") as client:
        made = _create(client)
        job = submit(
            client,
            upload_id=_upload(client),
            template_id=made["id"],
            constants={"description": "overridden"},
        )
        assert job["template_id"] == made["id"]
        done = server.wait(client, job["id"])
        assert done["state"] == "succeeded", done
        assert done["tables"] == ["companies"] and done["counts"]["created"] == 2
        rows = {r["external_id"]: r for r in records(client, "companies")}
        assert rows["T-001"]["name"] == "Initech"
        assert rows["T-001"]["description"] == "overridden"  # the request's constant wins
        assert rows["T-002"]["due_days"] == 30  # the template's other constant stays

        # multipart, by name; a given mode overrides the template's
        files = [("file", ("feed.csv", CSV))]
        fields = {"template_id": "companies-feed", "mode": "update"}
        answer = client.post("/v1/imports", data=fields, files=files)
        assert answer.status_code == 202, answer.text
        second = server.wait(client, answer.json()["id"])
        assert (second["mode"], second["template_id"]) == ("update", made["id"])
        assert second["counts"]["updated"] == 2, second  # the template's constant again
        assert {r["description"] for r in records(client, "companies")} == {"from the template"}
        plain = submit(client, upload_id=_upload(client), **_plain_body())
        server.wait(client, plain["id"])

        listed = client.get("/v1/imports", params={"template_id": made["id"]}).json()
        assert {i["id"] for i in listed["data"]} == {job["id"], second["id"]}
        assert len(client.get("/v1/imports").json()["data"]) == 3

        saved = client.post(f"/v1/imports/{plain['id']}/template", json={"name": "saved"})
        assert saved.status_code == 201, saved.text
        body = saved.json()
        assert body["id"].startswith("tpl_") and body["name"] == "saved"
        assert body["tables"] == ["companies"] and body["key"] == ["external_id"]
        assert body["mapping"] == TEMPLATE["mapping"] and body["mode"] == "upsert"
        assert body["constants"] == {"description": "plain"} and body["notes"] is None
        assert body["options"]["delimiter"] == "," and body["error_handling"] == "lenient"
        again = client.post(f"/v1/imports/{plain['id']}/template", json={"name": "saved"})
        assert_problem(again, 409, "conflict")
        missing = client.post("/v1/imports/imp_0000000000000000/template", json={"name": "z"})
        assert_problem(missing, 404)
        unnamed = client.post(f"/v1/imports/{plain['id']}/template", json={})
        assert_problem(unnamed, 422, "invalid_option")
    with server.http("tpl-use-other", "write") as stranger:
        theirs = stranger.post(f"/v1/imports/{plain['id']}/template", json={"name": "x"})
        assert_problem(theirs, 404)
        foreign = stranger.post(
            "/v1/imports", json={"upload_id": _upload(stranger), "template_id": made["id"]}
        )
        assert_problem(foreign, 404, "not_found")


def _plain_body() -> dict[str, Any]:
    return {
        "table": "companies",
        "mapping": TEMPLATE["mapping"],
        "constants": {"description": "plain"},
        "key": ["external_id"],
        "error_handling": "lenient",
        "options": {"delimiter": ","},
    }


def test_python_client(server: Server, tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_bytes(CSV)
    with Client(server.url, server.token("tpl-client", "write")) as lb:
        made = lb.create_template(**TEMPLATE)
        assert made.id.startswith("tpl_") and made.tables == ["companies"]
        assert [t.id for t in lb.list_templates().data] == [made.id]
        assert lb.get_template("companies-feed") == made
        changed = lb.update_template(made.id, notes="changed")
        assert (changed.notes, changed.mapping) == ("changed", made.mapping)
        job = lb.import_files(feed, template_id="companies-feed")
        assert job.template_id == made.id
        done = lb.wait(job.id)
        assert done.state == "succeeded" and done.counts.created == 2
        listed = lb.list_imports(template_id=made.id).data
        assert [i.id for i in listed] == [job.id]
        saved = lb.save_template(job.id, "copy", notes="a copy")
        assert saved.mapping == made.mapping and saved.notes == "a copy"
        assert lb.delete_template(made.id).id == made.id
        with pytest.raises(ApiError) as missing:
            lb.get_template(made.id)
        assert (missing.value.status, missing.value.code) == (404, "not_found")
