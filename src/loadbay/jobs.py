"""The queue (huey) and the task that runs imports, and the reaper of dead workers' imports.

The queue carries only (tenant, import id); the import's row is the truth. Huey runs on
SQLite in the data folder by default (``queue.db``), or on PostgreSQL or Redis with
``LOADBAY_QUEUE_URL``. The queue's name is derived from the database, so deployments (and
test runs) sharing one Redis never take each other's work.
"""

from __future__ import annotations

import hashlib
import logging
import threading

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from loadbay.config import Settings
from loadbay.errors import InvalidOption
from loadbay.service import delivery
from loadbay.service.context import Context, open_context
from loadbay.service.leases import (
    LeaseLost,
    Leases,
    lost_messages,
    open_leases,
    reap,
    run_leased,
)

log = logging.getLogger("loadbay.jobs")

#: how long a stopping worker waits for its running imports (they are resumed later)
SHUTDOWN_SECONDS = 5.0


def queue_name(settings: Settings) -> str:
    digest = hashlib.sha256(settings.effective_database_url.encode()).hexdigest()[:12]
    return f"loadbay-{digest}"


def make_huey(settings: Settings) -> Huey:
    """Huey on SQLite (default), PostgreSQL (``postgresql://``) or Redis (``redis://``)."""
    url = settings.queue_url
    name = queue_name(settings)
    if not url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(settings.data_dir / "queue.db"), results=False)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresHuey(name, dsn=url, results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    raise InvalidOption(
        "LOADBAY_QUEUE_URL must start with postgresql:// or redis:// (or be unset for SQLite)"
    )


class _Embedded(Consumer):  # type: ignore[misc]
    """A consumer started inside another program (a worker process of ``loadbay serve``):
    it leaves signal handling to it."""

    def _set_signal_handlers(self) -> None:
        return None


class Jobs:
    """One process's side of the queue: it enqueues (the API) and runs (the workers)."""

    def __init__(
        self, settings: Settings, ctx: Context | None = None, leases: Leases | None = None
    ) -> None:
        self.settings = settings
        self.huey = make_huey(settings)
        self._ctx = ctx
        self._leases = leases
        self._lock = threading.Lock()
        self._task = self.huey.task(name="run_import")(self.run_import)
        self._deliver = self.huey.task(name="deliver_webhooks")(self.deliver_webhooks)

    def context(self) -> Context:
        with self._lock:
            if self._ctx is None:
                self._ctx = open_context(self.settings)
            return self._ctx

    def leases(self) -> Leases:
        with self._lock:
            if self._leases is None:
                self._leases = open_leases(self.settings)
            return self._leases

    def enqueue_import(self, tenant: str, import_id: str) -> None:
        self._task(tenant, import_id)

    def deliver_webhooks(self) -> None:
        """The task: send the webhook deliveries that are due (service/delivery.py)."""
        delivery.deliver_due(self.context())

    def sweep_webhooks(self) -> bool:
        """Queue ``deliver_webhooks`` when some delivery is due (events recorded by any
        process, a stopped one too); whether it did."""
        if not delivery.has_due(self.context()):
            return False
        self._deliver()
        return True

    def run_import(self, tenant: str, import_id: str) -> None:
        """The task: run (or resume) an import, unless it is finished or someone runs it."""
        try:
            run_leased(self.context(), self.leases(), tenant, import_id)
        except LeaseLost:
            log.warning("import %s was taken over by another worker", import_id)
        self.sweep_webhooks()  # its events go out now, not at the next sweep

    def waiting_imports(self) -> set[str]:
        """The ids of the imports whose message waits in the queue."""
        return {
            str(task.args[1])
            for task in self.huey.pending()
            if task.name == "run_import" and len(task.args) == 2
        }

    def ping(self) -> None:
        self.huey.storage.queue_size()

    def consumer(self, workers: int, embedded: bool = False) -> Consumer:
        cls = _Embedded if embedded else Consumer
        return cls(
            self.huey,
            workers=workers,
            periodic=False,
            max_delay=1.0,
            backoff=1.3,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )

    def reaper(self) -> Reaper:
        return Reaper(self)

    def close(self) -> None:
        if self._leases is not None:
            self._leases.close()


class Reaper(threading.Thread):
    """Every half lease: puts imports whose worker stopped renewing back on the queue, and
    imports left ``queued`` whose queue message was lost."""

    def __init__(self, jobs: Jobs) -> None:
        super().__init__(name="loadbay-reaper", daemon=True)
        self.jobs = jobs
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(self.jobs.settings.lease_seconds / 2, 0.2)
        while True:
            self.sweep()
            if self.stopped.wait(interval):
                return

    def sweep(self) -> list[tuple[str, str]]:
        try:
            ctx, leases = self.jobs.context(), self.jobs.leases()
            again = reap(ctx, leases)
            again += lost_messages(ctx, leases, self.jobs.waiting_imports)
            for tenant, import_id in again:
                self.jobs.enqueue_import(tenant, import_id)
            self.jobs.sweep_webhooks()
            return again
        except Exception:
            log.exception("looking for imports of dead workers failed")
            return []

    def stop(self) -> None:
        self.stopped.set()


def run_worker(settings: Settings, workers: int) -> None:
    """``loadbay worker``: run imports from the queue until SIGINT or SIGTERM."""
    jobs = Jobs(settings)
    jobs.context()
    reaper = jobs.reaper()
    reaper.start()
    try:
        jobs.consumer(workers).run()
    finally:
        reaper.stop()
        jobs.leases().hand_back()  # an import still running goes on elsewhere, not counted
        jobs.close()
