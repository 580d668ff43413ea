"""``loadbay serve``: first-run setup, the API (uvicorn) and, by default, its workers
(child processes: an import that crashes its worker never takes down the API)."""

from __future__ import annotations

import logging
from typing import TextIO

import uvicorn

from loadbay.api import create_app
from loadbay.config import Settings
from loadbay.jobs import Jobs, run_worker
from loadbay.service import auth
from loadbay.service.auth import ADMIN_TOKEN_FILE
from loadbay.service.context import migrate
from loadbay.service.health import database_warnings
from loadbay.workers import Supervisor

log = logging.getLogger("loadbay.server")


def migrate_at_start(settings: Settings) -> None:
    """Bring the database to this loadbay's schema before anything uses it (under the
    schema lock: processes starting together migrate one at a time)."""
    for line in migrate(settings):
        log.info("migrate: %s", line)


def first_run(jobs: Jobs, out: TextIO) -> None:
    """Create the tenant and, when none exists, an admin token: shown once, kept in a file."""
    token = auth.bootstrap(jobs.context())
    if token is not None:
        path = jobs.settings.data_dir / ADMIN_TOKEN_FILE
        out.write(f"admin token (also saved in {path}):\n{token}\n")
        out.flush()


def serve(
    settings: Settings,
    host: str,
    port: int,
    out: TextIO,
    with_workers: bool = True,
    log_level: str = "info",
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    migrate_at_start(settings)
    jobs = Jobs(settings)
    first_run(jobs, out)
    for warning in database_warnings(jobs.context()):
        log.warning(warning)
    workers = Supervisor(jobs, settings.workers) if with_workers else None
    if workers is not None:
        workers.start()
    config = uvicorn.Config(create_app(settings, jobs), host=host, port=port, log_level=log_level)
    try:
        uvicorn.Server(config).run()
    finally:
        if workers is not None:
            workers.stop()
        jobs.close()
        jobs.context().close()


def worker(settings: Settings, workers: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    migrate_at_start(settings)
    run_worker(settings, workers)
