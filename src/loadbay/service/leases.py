"""Workers' leases on imports: run an import under a lease, find imports of dead workers.

A worker takes the lease of an import before it runs it and renews it from a heartbeat
thread while it lives. When a worker dies, its lease expires; the reaper of any live
worker frees it and puts the import on the queue again, and the next worker resumes it
(the engine's runner resumes a lenient import after its last committed chunk and runs a
strict one again from the start: nothing is applied twice, nothing lost).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from loadbay.config import Settings
from loadbay.domain.imports import Import, State
from loadbay.errors import Abandoned, Cancelled, NotFound, WorkerCrashed
from loadbay.service import states
from loadbay.service.context import Context
from loadbay.service.imports import get_import, run_import
from loadbay.service.revert import reap_reverts
from loadbay.service.runner import written_stamp
from loadbay.store import imports_sql, leases_sql, migrations
from loadbay.store.engine import reading, statements_alone
from loadbay.store.imports_sql import now

log = logging.getLogger("loadbay.worker")

#: how often (at most) a running import's heartbeat looks for a cancel request, in seconds
CANCEL_POLL_SECONDS = 1.0


class LeaseLost(Abandoned):
    """Another worker took over this import (or its worker process handed it back when
    stopping): stop without touching its state."""


def worker_prefix(pid: int | None = None) -> str:
    """The start of the names of a worker process's threads (this process by default)."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}:"


def worker_name() -> str:
    return f"{worker_prefix()}{threading.get_ident()}"


class Leases:
    """The lease table, how long a lease lasts, and how many times an import may stop its
    worker before it is given up."""

    def __init__(self, engine: Engine, seconds: float, max_attempts: int = 3) -> None:
        self.engine = engine
        self.seconds = seconds
        self.max_attempts = max_attempts

    def _until(self) -> datetime:
        return now() + timedelta(seconds=self.seconds)

    def acquire(self, import_id: str, tenant: str, worker: str) -> Mapping[str, object] | None:
        # each statement on its own: a taken lease is found, and taken, with a condition
        with self.engine.connect() as conn, statements_alone(conn).begin():
            return leases_sql.acquire(conn, import_id, tenant, worker, now(), self._until())

    def renew(self, import_id: str, worker: str) -> Mapping[str, object] | None:
        with self.engine.connect() as conn, statements_alone(conn).begin():
            return leases_sql.renew(conn, import_id, worker, self._until())

    def get(self, import_id: str) -> Mapping[str, object] | None:
        with self.engine.connect() as conn, statements_alone(conn).begin():
            return leases_sql.get_lease(conn, import_id)

    def release(self, import_id: str, worker: str) -> None:
        with self.engine.connect() as conn, statements_alone(conn).begin():
            leases_sql.release(conn, import_id, worker)

    def drop(self, import_id: str) -> None:
        with self.engine.begin() as conn:
            leases_sql.delete_lease(conn, import_id)

    def request_cancel(self, import_id: str) -> bool:
        with self.engine.begin() as conn:
            return leases_sql.request_cancel(conn, import_id)

    def expired(self) -> Sequence[Mapping[str, object]]:
        with self.engine.begin() as conn:
            return leases_sql.expired(conn, now())

    def free(self, import_id: str) -> bool:
        with self.engine.begin() as conn:
            return leases_sql.free_expired(conn, import_id, now(), self._until())

    def expire_held(self, pid: int, reason: str) -> int:
        """The worker process ``pid`` died: its imports are free for the next worker now."""
        with self.engine.begin() as conn:
            return leases_sql.expire_held(conn, worker_prefix(pid), now(), reason)

    def hand_back(self) -> int:
        """This worker process stops when asked to: its imports go on elsewhere, and this
        attempt does not count against them."""
        with self.engine.begin() as conn:
            return leases_sql.hand_back(conn, worker_prefix(), now())

    def close(self) -> None:
        self.engine.dispose()


def open_leases(settings: Settings) -> Leases:
    engine = leases_sql.make_lease_engine(settings.effective_database_url)
    with engine.begin() as conn:  # the lease table where it lives, created if missing
        migrations.ensure_lease_table(conn)
    return Leases(engine, settings.lease_seconds, settings.max_attempts)


class Heartbeat(threading.Thread):
    """Renews a lease every third of its length and, every second in between, reads it:
    notes a cancel request or a lost lease (the runner stops at its next batch or chunk)."""

    def __init__(self, leases: Leases, import_id: str, worker: str) -> None:
        super().__init__(name=f"heartbeat-{import_id}", daemon=True)
        self.leases = leases
        self.import_id = import_id
        self.worker = worker
        self.stopped = threading.Event()
        self.cancel = False
        self.lost = False

    def run(self) -> None:
        every = self.leases.seconds / 3
        renewed = time.monotonic()
        while not self.stopped.wait(min(CANCEL_POLL_SECONDS, every)):
            due = time.monotonic() - renewed >= every * 0.99
            try:
                if due:
                    lease = self.leases.renew(self.import_id, self.worker)
                    renewed = time.monotonic()
                else:
                    lease = self.leases.get(self.import_id)
            except Exception:
                log.exception("renewing the lease of %s failed", self.import_id)
                continue
            if lease is None or lease["locked_by"] != self.worker:
                self.lost = True
                return
            self.cancel = bool(lease["cancel_requested"])

    def check(self, _phase: str = "", _done: int = 0, _total: int | None = None) -> None:
        """The runner's progress callback: stop at this batch or chunk when asked to."""
        if self.lost:
            raise LeaseLost(self.import_id)
        if self.cancel:
            raise Cancelled(f"import {self.import_id} was cancelled")

    def stop(self) -> None:
        self.stopped.set()


def run_leased(
    ctx: Context,
    leases: Leases,
    tenant: str,
    import_id: str,
    worker: str | None = None,
    recorded: Import | None = None,
) -> Import | None:
    """Run (or resume) an import under a lease; None when it is not this worker's to run.
    ``recorded``: the import's row as its caller has just recorded it (nobody else has
    its id yet), so it is not read again."""
    worker = worker or worker_name()
    lease = leases.acquire(import_id, tenant, worker)
    if lease is None:
        return None
    try:
        return _run_held(ctx, leases, tenant, import_id, worker, lease, recorded)
    finally:
        leases.release(import_id, worker)


def _run_held(
    ctx: Context,
    leases: Leases,
    tenant: str,
    import_id: str,
    worker: str,
    lease: Mapping[str, object],
    recorded: Import | None,
) -> Import | None:
    try:
        record = recorded or get_import(ctx, import_id, tenant)
    except NotFound:
        return None
    if record.state in states.SETTLED:
        return None
    if _attempts(lease, 1) > leases.max_attempts:
        return give_up(ctx, leases, tenant, import_id, lease)
    beat = Heartbeat(leases, import_id, worker)
    if lease.get("cancel_requested"):
        beat.cancel = True
    beat.start()
    try:
        # a queued import is moved on by the runner, with a compare-and-set: one
        # cancelled meanwhile is not run
        done = run_import(ctx, import_id, tenant, progress=beat.check, record=record)
    finally:
        beat.stop()
    if done.state == states.CANCELLED and (done.counts is None or done.checkpoint):
        # cancelled by the API while its last commit went in: the counts of what it wrote
        return _settle(ctx, tenant, import_id, [states.CANCELLED], states.CANCELLED)
    return done


def _attempts(lease: Mapping[str, object], default: int = 0) -> int:
    """How many times workers took the lease (``default`` when it says none)."""
    found = lease.get("attempts")
    return int(found) if isinstance(found, int) and found else default


def _settle(
    ctx: Context, tenant: str, import_id: str, sources: list[State], new: State, **values: object
) -> Import:
    """Move an import that stopped early to ``new`` (compare-and-set from ``sources``) with
    the counts of what its committed chunks wrote: they stay, and can be reverted."""
    with ctx.engine.begin() as conn:
        counts = imports_sql.count_outcomes(conn, import_id)
        record = imports_sql.get_import(conn, tenant, import_id)
        imports_sql.set_state_if(
            conn,
            tenant,
            import_id,
            sources,
            new,
            counts=counts,
            rows_processed=counts.total,
            checkpoint=None,
            write_stamp=written_stamp(record, counts) or record.write_stamp,
            **values,
        )
        return imports_sql.get_import(conn, tenant, import_id)


def give_up(
    ctx: Context, leases: Leases, tenant: str, import_id: str, lease: Mapping[str, object]
) -> Import:
    """Fail an import that keeps stopping its worker (a native crash in a reader, memory
    run out): it is not run again; the chunks its workers committed stay, revertible."""
    times = min(_attempts(lease), leases.max_attempts)
    last = lease.get("last_error") or "its worker stopped renewing its lease"
    error = WorkerCrashed(f"the import stopped its worker {times} times (last: {last}); given up")
    log.error("import %s: %s", import_id, error.message)
    done = _settle(
        ctx,
        tenant,
        import_id,
        [states.QUEUED, *states.ACTIVE],
        states.FAILED,
        error_code=error.code,
        error=error.message,
        finished_at=now(),
    )
    leases.drop(import_id)
    return done


def reap(ctx: Context, leases: Leases) -> list[tuple[str, str]]:
    """Free the expired leases of unfinished imports; (tenant, import id) to queue again.
    An import whose workers died ``max_attempts`` times is given up instead. Imports left
    ``reverting`` by a revert that died go back to the state they had (reap_reverts)."""
    reap_reverts(ctx)
    again = []
    for lease in leases.expired():
        import_id, tenant = str(lease["import_id"]), str(lease["tenant_id"])
        try:
            record = get_import(ctx, import_id, tenant)
        except NotFound:
            leases.drop(import_id)
            continue
        if record.state in states.SETTLED:
            if record.state == states.CANCELLED and record.checkpoint:
                # cancelled while its worker died: the counts of what it wrote
                _settle(ctx, tenant, import_id, [states.CANCELLED], states.CANCELLED)
            leases.drop(import_id)
            continue
        if _attempts(lease) >= leases.max_attempts:
            give_up(ctx, leases, tenant, import_id, lease)
            continue
        if leases.free(import_id):
            holder = lease["locked_by"] or "its worker"
            why = lease["last_error"] or f"{holder} stopped renewing its lease"
            log.warning("import %s lost its worker (%s); queued again", import_id, why)
            again.append((tenant, import_id))
    return again


def lost_messages(
    ctx: Context, leases: Leases, waiting: Callable[[], set[str]]
) -> list[tuple[str, str]]:
    """(tenant, import id) of the imports ``queued`` for longer than a lease whose queue
    message is gone: nobody holds their lease and ``waiting()`` (the ids the queue still
    holds, asked only when some import is a candidate) names none of them (a worker that
    took the message died before it took the lease, or the queue was emptied). They are to
    be queued again; a message too many does no harm, as a worker runs an import only under
    its lease and only while it is unfinished."""
    before = now() - timedelta(seconds=leases.seconds)
    with ctx.engine.connect() as conn, reading(conn).begin():
        queued = imports_sql.queued_since(conn, before)
    unleased = [(t, i) for t, i in queued if leases.get(i) is None]
    if not unleased:
        return []
    held = waiting()
    lost = [(tenant, import_id) for tenant, import_id in unleased if import_id not in held]
    for _, import_id in lost:
        log.warning("import %s was queued but its queue message is gone; queued again", import_id)
    return lost
