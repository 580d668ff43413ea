"""Retries with the same webhook-id, giving up, disabling, the sweep after a stop, and
the address checks at subscription and at delivery."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from loadbay.errors import InvalidWebhookUrl
from loadbay.jobs import Jobs
from loadbay.service import delivery
from loadbay.service import webhooks as webhook_service
from loadbay.service.context import Context
from loadbay.service.webhook_http import check_url, post
from loadbay.store import system
from loadbay.store.imports_sql import now
from tests.service.helpers import run, write
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_events import GOOD, deliver_all, subscribe


def attempts(ctx: Context, webhook_id: str) -> list[dict[str, object]]:
    page = webhook_service.page_deliveries(ctx, ctx.tenant, webhook_id, limit=200)
    return [webhook_service.delivery_view(d) for d in reversed(page.deliveries)]


def test_a_failing_receiver_gets_the_event_again_with_the_same_id(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    hook = subscribe(ctx, receiver)
    receiver.statuses = [500, 503, 500]
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    deliver_all(ctx)
    assert len(receiver.received) == 4
    assert len({m.headers["webhook-id"] for m in receiver.received}) == 1
    assert len({m.body for m in receiver.received}) == 1
    tried = attempts(ctx, hook["id"])
    assert [(a["attempt"], a["status"], a["response_status"]) for a in tried] == [
        (1, "failed", 500),
        (2, "failed", 503),
        (3, "failed", 500),
        (4, "succeeded", 200),
    ]
    assert all(a["event"] == "import.succeeded" for a in tried)
    assert all(a["next_attempt_at"] for a in tried[:3]) and tried[3]["next_attempt_at"] is None
    assert len(str(tried[0]["response_excerpt"])) == 1024  # the answer, cut at 1 KiB
    assert all(isinstance(a["duration_ms"], int) for a in tried)
    assert webhook_service.get_webhook(ctx, ctx.tenant, hook["id"]).enabled


def test_backoff_follows_the_schedule_then_gives_up(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    ctx.settings = dataclasses.replace(ctx.settings, webhook_retry_schedule=(0, 3600))
    hook = subscribe(ctx, receiver)
    receiver.statuses = [500] * 10
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    deliver_all(ctx)
    tried = attempts(ctx, hook["id"])
    assert [a["status"] for a in tried] == ["failed", "failed", "pending"]
    wait = tried[1]["next_attempt_at"]
    assert wait == tried[2]["scheduled_at"]  # an hour after the second attempt
    with ctx.engine.begin() as conn:  # the hour has passed
        d = system.webhook_deliveries
        conn.execute(sa.update(d).where(d.c.status == "pending").values(scheduled_at=now()))
    deliver_all(ctx)
    tried = attempts(ctx, hook["id"])
    assert [a["status"] for a in tried] == ["failed"] * 3
    assert "given up after 3 attempts" in str(tried[2]["error"])
    assert tried[2]["next_attempt_at"] is None and len(receiver.received) == 3


def test_a_day_of_failures_disables_the_subscription(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    hook = subscribe(ctx, receiver)
    receiver.statuses = [500] * 10
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    assert delivery.deliver_due(ctx, limit=1) == 1
    with ctx.engine.begin() as conn:  # failing since a day
        conn.execute(
            sa.update(system.webhooks).values(failing_since=now() - timedelta(days=1, seconds=1))
        )
    deliver_all(ctx)
    found = webhook_service.get_webhook(ctx, ctx.tenant, hook["id"])
    assert not found.enabled and found.disabled_at
    assert "every delivery failed since" in str(found.disabled_reason)
    assert "HTTP 500" in str(found.disabled_reason)
    assert len(receiver.received) == 2  # and nothing more is sent
    run(ctx, write(tmp_path, "b.csv", GOOD), table="companies")
    deliver_all(ctx)
    assert len(receiver.received) == 2


def test_an_event_left_by_a_stopped_process_is_sent_by_the_next_sweep(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    subscribe(ctx, receiver)
    # the state changed and the event was recorded; the process stopped before sending it
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    assert receiver.received == []
    jobs = Jobs(ctx.settings, ctx=ctx)  # the process started again
    try:
        jobs.reaper().sweep()
        task = jobs.huey.dequeue()
        assert task is not None and task.name == "deliver_webhooks"
        jobs.huey.execute(task)
    finally:
        jobs.close()
    assert [m.payload["type"] for m in receiver.received] == ["import.succeeded"]
    assert not delivery.has_due(ctx)


def test_a_delivery_taken_by_a_process_that_died_is_sent_again(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    hook = subscribe(ctx, receiver)
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    with ctx.engine.begin() as conn:  # claimed, then the process died mid-send
        conn.execute(
            sa.update(system.webhook_deliveries).values(
                status="sending", claimed_until=now() + timedelta(minutes=1)
            )
        )
    assert delivery.deliver_due(ctx) == 0  # still someone's
    with ctx.engine.begin() as conn:
        conn.execute(
            sa.update(system.webhook_deliveries).values(claimed_until=now() - timedelta(1))
        )
    assert delivery.deliver_due(ctx) == 1
    assert [a["status"] for a in attempts(ctx, hook["id"])] == ["succeeded"]


def test_redelivery_sends_the_event_again_with_its_id(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    hook = subscribe(ctx, receiver)
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    deliver_all(ctx)
    first = attempts(ctx, hook["id"])[0]
    queued: list[bool] = []
    again = webhook_service.redeliver(
        ctx, ctx.tenant, hook["id"], str(first["id"]), queue=lambda: queued.append(True)
    )
    assert again.status == "pending" and again.attempt == 2 and queued == [True]
    deliver_all(ctx)
    ids = [m.headers["webhook-id"] for m in receiver.received]
    assert len(ids) == 2 and ids[0] == ids[1] == first["event_id"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "https://10.1.2.3/hook",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_non_global_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match="non-global"):
        check_url(url, allow_private=False)
    check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///nohost", "no host"),
        ("http://user:pw@8.8.8.8/", "credentials"),
        ("http://8.8.8.8:99999/", "not a valid URL"),
        ("http://no-such-host.invalid/", "cannot be resolved"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match=why):
        check_url(url, allow_private=True)


def test_a_public_address_is_accepted() -> None:
    assert check_url("https://8.8.8.8/hooks", allow_private=False).port == 443


def test_private_subscription_refused_and_checked_again_at_delivery(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    strict = dataclasses.replace(ctx.settings, webhook_allow_private=False)
    with pytest.raises(InvalidWebhookUrl):
        webhook_service.create_webhook(dataclasses.replace(ctx, settings=strict), "t", receiver.url)
    hook = subscribe(ctx, receiver)  # allowed then; no longer when it is delivered
    ctx.settings = strict
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    assert delivery.deliver_due(ctx) == 1
    assert receiver.received == []
    tried = attempts(ctx, hook["id"])[0]
    assert tried["status"] == "failed" and "non-global" in str(tried["error"])


def test_redirects_are_not_followed(ctx: Context, tmp_path: Path, receiver: Receiver) -> None:
    hook = subscribe(ctx, receiver)
    receiver.statuses = [302, 200]
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    assert delivery.deliver_due(ctx) == 1
    first = attempts(ctx, hook["id"])[0]
    assert first["status"] == "failed" and first["response_status"] == 302
    assert len(receiver.received) == 1


def test_https_connects_to_the_checked_address_and_reports_a_tls_failure(
    receiver: Receiver,
) -> None:
    """The receiver speaks plain HTTP: the TLS handshake fails, and that is the answer."""
    url = receiver.url.replace("http://", "https://")
    answer = post(url, b"{}", {}, timeout=5, allow_private=True)
    assert answer.status is None and not answer.ok
    assert "SSL" in str(answer.error) and receiver.received == []
