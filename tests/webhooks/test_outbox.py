"""The outbox: an event exists if and only if its state change was committed, and it
costs a bulk request one cheap read when nobody is subscribed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from loadbay.service.bulk import bulk_records
from loadbay.service.context import Context
from loadbay.service.leases import open_leases
from loadbay.store import imports_sql, system
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_events import subscribe

RECORDS = [{"name": f"Company {n}", "due_days": n} for n in range(100)]


@contextmanager
def statements(ctx: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    sa.event.listen(ctx.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", note)


def bulk(ctx: Context) -> str:
    leases = open_leases(ctx.settings)
    try:
        answer = bulk_records(ctx, leases, ctx.tenant, "companies", RECORDS)
    finally:
        leases.close()
    assert not answer.failed
    return answer.import_id


def webhook_statements(seen: list[str]) -> list[str]:
    return [s for s in seen if "loadbay_webhook" in s]


def test_a_bulk_request_without_subscriptions_reads_the_subscriptions_once(ctx: Context) -> None:
    with statements(ctx) as seen:
        bulk(ctx)
    [read] = webhook_statements(seen)  # queued → validating → running: no event states
    assert read.lstrip().upper().startswith("SELECT") and "loadbay_webhooks" in read


def test_a_subscribed_bulk_request_records_one_event(ctx: Context, receiver: Receiver) -> None:
    subscribe(ctx, receiver)
    with statements(ctx) as seen:
        import_id = bulk(ctx)
    written = [s for s in webhook_statements(seen) if s.lstrip().upper().startswith("INSERT")]
    assert len(written) == 2  # the event, and its delivery
    with ctx.engine.connect() as conn:
        events = conn.execute(sa.select(system.webhook_events)).mappings().all()
    assert [(e["type"], e["import_id"]) for e in events] == [("import.succeeded", import_id)]
    assert events[0]["data"]["counts"]["created"] == 100


def test_a_state_change_rolled_back_leaves_no_event(ctx: Context, receiver: Receiver) -> None:
    subscribe(ctx, receiver)
    import_id = bulk(ctx)
    count = sa.select(sa.func.count()).select_from(system.webhook_events)
    with ctx.engine.connect() as conn:
        transaction = conn.begin()
        assert imports_sql.set_state_if(conn, ctx.tenant, import_id, ["succeeded"], "reverted")
        assert conn.execute(count).scalar_one() == 2  # succeeded, and reverted: not committed
        transaction.rollback()
        assert conn.execute(count).scalar_one() == 1  # the succeeded event only
