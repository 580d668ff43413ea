"""``/v1/webhooks`` through the API: admin only, the secret once, problem documents."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loadbay.api.app import create_app
from loadbay.config import Settings
from loadbay.jobs import Jobs
from loadbay.service import auth
from loadbay.service.context import Context
from loadbay.service.pages import encode_cursor
from tests.api.helpers import assert_problem
from tests.service.helpers import run, write
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_events import GOOD, deliver_all


def client_for(settings: Settings, ctx: Context) -> Iterator[TestClient]:
    jobs = Jobs(settings, ctx=ctx)
    try:
        with TestClient(create_app(settings, jobs)) as client:
            yield client
    finally:
        jobs.close()


@pytest.fixture
def client(settings: Settings, ctx: Context) -> Iterator[TestClient]:
    yield from client_for(settings, ctx)


def bearer(ctx: Context, scope: str, tenant: str | None = None) -> dict[str, str]:
    _, secret = auth.create_token(ctx, tenant or ctx.tenant, scope)
    return {"Authorization": f"Bearer {secret}"}


def test_webhooks_need_the_admin_scope(client: TestClient, ctx: Context) -> None:
    body = {"url": "http://127.0.0.1:9/hook"}
    assert_problem(client.post("/v1/webhooks", json=body), 401, "unauthorized")
    for scope in ("read", "write"):
        headers = bearer(ctx, scope)
        assert_problem(client.post("/v1/webhooks", json=body, headers=headers), 403, "forbidden")
        assert_problem(client.get("/v1/webhooks", headers=headers), 403, "forbidden")
    assert client.post("/v1/webhooks", json=body, headers=bearer(ctx, "admin")).status_code == 201


def test_subscribe_look_deliveries_redeliver_unsubscribe(
    client: TestClient, ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    admin = bearer(ctx, "admin")
    made = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["import.succeeded"], "description": "CRM"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
    assert hook["events"] == ["import.succeeded"] and hook["description"] == "CRM"
    listed = client.get("/v1/webhooks", headers=admin).json()["data"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    one = client.get(f"/v1/webhooks/{hook['id']}", headers=admin).json()
    assert "secret" not in one and one["url"] == receiver.url
    # another tenant's admin does not see it
    other = bearer(ctx, "admin", tenant="other")
    assert_problem(client.get(f"/v1/webhooks/{hook['id']}", headers=other), 404, "not_found")

    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    deliver_all(ctx)
    page = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin).json()
    [sent] = page["data"]
    assert sent["status"] == "succeeded" and sent["response_status"] == 200
    assert sent["event"] == "import.succeeded" and page["next_cursor"] is None
    again = client.post(
        f"/v1/webhooks/{hook['id']}/deliveries/{sent['id']}/redeliver", headers=admin
    )
    assert again.status_code == 202, again.text
    assert again.json()["event_id"] == sent["event_id"] and again.json()["status"] == "pending"
    deliver_all(ctx)
    assert len(receiver.received) == 2
    first = client.get(
        f"/v1/webhooks/{hook['id']}/deliveries", params={"limit": 1}, headers=admin
    ).json()
    assert first["next_cursor"] and len(first["data"]) == 1
    rest = client.get(
        f"/v1/webhooks/{hook['id']}/deliveries",
        params={"limit": 1, "cursor": first["next_cursor"]},
        headers=admin,
    ).json()
    assert [d["id"] for d in rest["data"]] == [sent["id"]]

    gone = client.delete(f"/v1/webhooks/{hook['id']}", headers=admin)
    assert gone.status_code == 200 and gone.json()["id"] == hook["id"]
    assert_problem(client.get(f"/v1/webhooks/{hook['id']}", headers=admin), 404, "not_found")
    missing = client.post(f"/v1/webhooks/{hook['id']}/deliveries/dlv_x/redeliver", headers=admin)
    assert_problem(missing, 404, "not_found")


def test_bad_subscriptions_are_problem_documents(client: TestClient, ctx: Context) -> None:
    admin = bearer(ctx, "admin")
    for body in (
        {"url": "ftp://example.com/x"},
        {"url": "http://127.0.0.1:9/hook", "events": ["import.started"]},
        {"url": "http://127.0.0.1:9/hook", "events": []},
        {"url": "http://127.0.0.1:9/hook", "secret": "mine"},
    ):
        assert_problem(client.post("/v1/webhooks", json=body, headers=admin), 422)
    answer = client.post("/v1/webhooks", json={"url": "ftp://x/"}, headers=admin)
    assert_problem(answer, 422, "invalid_webhook_url")
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=admin).json()
    deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
    for cursor in ("!!", encode_cursor(["not a time", "x"])):
        answer = client.get(deliveries, params={"cursor": cursor}, headers=admin)
        assert_problem(answer, 422, "invalid_option")
    assert_problem(client.get("/v1/webhooks/wh_nope/deliveries", headers=admin), 404)


def test_a_private_url_is_refused_without_the_setting(
    settings: Settings, ctx: Context, receiver: Receiver
) -> None:
    strict = dataclasses.replace(settings, webhook_allow_private=False)
    own = dataclasses.replace(ctx, settings=strict)
    for client in client_for(strict, own):
        answer = client.post(
            "/v1/webhooks", json={"url": receiver.url}, headers=bearer(own, "admin")
        )
        body = assert_problem(answer, 422, "invalid_webhook_url")
        assert "127.0.0.1" in body["detail"] and "LOADBAY_WEBHOOK_ALLOW_PRIVATE" in body["detail"]
