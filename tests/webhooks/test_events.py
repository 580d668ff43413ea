"""Every import event reaches a subscribed receiver, signed as Standard Webhooks say,
recorded in the transaction of its state change (an outbox) and sent by the workers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from loadbay.errors import RevertConflict
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import delivery
from loadbay.service import imports as import_service
from loadbay.service import webhooks as webhook_service
from loadbay.service.auth import CLI
from loadbay.service.context import Context
from loadbay.service.leases import open_leases
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.service.revert import revert_import
from loadbay.service.views import import_view
from loadbay.store import system
from loadbay.store.webhooks_sql import EVENT_TYPES
from tests.service.helpers import run, write
from tests.webhooks.conftest import Receiver

GOOD = "name,due_days\nAcme,30\nGlobex,14\n"
BAD = "name,due_days\nAcme,30\nGlobex,soon\n"


def subscribe(ctx: Context, receiver: Receiver, events: list[str] | None = None) -> dict[str, Any]:
    made = webhook_service.create_webhook(ctx, ctx.tenant, receiver.url, events)
    return webhook_service.created_view(made)  # as the API answers it


def deliver_all(ctx: Context) -> None:
    while delivery.deliver_due(ctx):
        pass


def every_event(ctx: Context, tmp_path: Path) -> dict[str, str]:
    """One import ending in each event; event type → import id."""
    ok = run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    failed = run(ctx, write(tmp_path, "b.csv", BAD), table="companies")
    partial = run(
        ctx, write(tmp_path, "c.csv", BAD), table="companies", error_handling=ErrorHandling.LENIENT
    )
    dry = run(ctx, write(tmp_path, "d.csv", GOOD), table="companies", dry_run=True)
    dry_failed = run(ctx, write(tmp_path, "f.csv", BAD), table="companies", dry_run=True)
    source = SourceSpec(path=str(write(tmp_path, "e.csv", GOOD)), name="e.csv", table="companies")
    waiting = import_service.create_import(ctx, ImportRequest(sources=(source,)))
    leases = open_leases(ctx.settings)
    try:
        import_service.cancel(ctx, ctx.tenant, waiting, leases, actor=CLI)
    finally:
        leases.close()
    revert_import(ctx, partial.id)
    assert [failed.state, partial.state, dry.state, dry_failed.state] == [
        "failed",
        "partially_succeeded",
        "validated",
        "validation_failed",
    ]
    return {
        "import.succeeded": ok.id,
        "import.failed": failed.id,
        "import.partially_succeeded": partial.id,
        "import.validated": dry.id,
        "import.validation_failed": dry_failed.id,
        "import.cancelled": waiting,
        "import.reverted": partial.id,
    }


def test_every_event_arrives_signed_and_verifiable(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    hook = subscribe(ctx, receiver)
    assert hook["secret"].startswith("whsec_") and hook["events"] == list(EVENT_TYPES)
    expected = every_event(ctx, tmp_path)
    assert receiver.received == []  # nothing is sent in the import's request or transaction
    deliver_all(ctx)
    verifier = Webhook(hook["secret"])
    got: dict[str, dict[str, Any]] = {}
    for message in receiver.received:
        payload = verifier.verify(message.body, message.headers)
        assert message.headers["webhook-id"].startswith("msg_")
        got[payload["type"]] = payload
    assert set(got) == set(EVENT_TYPES)
    for event, import_id in expected.items():
        data = got[event]["data"]
        assert data["id"] == import_id and got[event]["timestamp"].endswith("Z")
        assert data["state"] == event.removeprefix("import."), event
        # the resource as GET /v1/imports/{id} renders it, at the moment of the event
        assert set(data) == set(import_view(import_service.get_import(ctx, import_id))), event
    assert got["import.succeeded"]["data"]["counts"]["created"] == 2
    succeeded = expected["import.succeeded"]  # unchanged since: the same as GET shows now
    assert got["import.succeeded"]["data"] == import_view(import_service.get_import(ctx, succeeded))
    assert got["import.partially_succeeded"]["data"]["counts"]["failed"] == 1
    # a tampered body is refused by the receiver's check
    tampered = receiver.received[0]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered.body + b" ", tampered.headers)


def test_no_subscription_records_no_event(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    with ctx.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(system.webhook_events))
        assert count.scalar_one() == 0


def test_only_the_subscribed_events_and_no_event_for_a_refused_revert(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    subscribe(ctx, receiver, ["import.succeeded"])
    first = run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    run(ctx, write(tmp_path, "b.csv", "name,due_days\nAcme,99\n"), table="companies")
    with pytest.raises(RevertConflict):  # back from reverting to succeeded: no new event
        revert_import(ctx, first.id)
    run(ctx, write(tmp_path, "c.csv", BAD), table="companies")  # failed: not subscribed
    deliver_all(ctx)
    assert [m.payload["type"] for m in receiver.received] == ["import.succeeded"] * 2


def test_a_cancelled_import_is_one_event_though_the_runner_sees_it_again(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    subscribe(ctx, receiver)
    source = SourceSpec(path=str(write(tmp_path, "e.csv", GOOD)), name="e.csv", table="companies")
    waiting = import_service.create_import(ctx, ImportRequest(sources=(source,)))
    seen = import_service.get_import(ctx, waiting)  # a worker has read it, queued
    leases = open_leases(ctx.settings)
    try:
        import_service.cancel(ctx, ctx.tenant, waiting, leases, actor=CLI)
    finally:
        leases.close()
    # the worker runs it: it finds it cancelled, and records it so again (same state)
    assert import_service.run_import(ctx, waiting, record=seen).state == "cancelled"
    deliver_all(ctx)
    assert [m.payload["type"] for m in receiver.received] == ["import.cancelled"]


def test_the_readme_receiver_verifies_a_delivery(
    ctx: Context, tmp_path: Path, receiver: Receiver
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Webhooks") :]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    hook = subscribe(ctx, receiver)
    found = run(ctx, write(tmp_path, "a.csv", GOOD), table="companies")
    deliver_all(ctx)
    scope: dict[str, Any] = {"secret": hook["secret"]}
    exec(code, scope)  # the README's receiver, as written
    [message] = receiver.received
    assert scope["on_delivery"](message.body, message.headers) == found.id
    with pytest.raises(WebhookVerificationError):
        scope["on_delivery"](message.body.replace(b"succeeded", b"failed"), message.headers)
