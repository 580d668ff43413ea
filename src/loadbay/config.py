"""Settings from LOADBAY_* environment variables (read only when asked, never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("loadbay-data")
    database_url: str | None = None
    schema_file: Path | None = None
    tenant: str = "default"
    chunk_size: int = 50_000
    batch_size: int = 100_000
    max_upload_bytes: int = 1 << 30  # LOADBAY_MAX_UPLOAD_BYTES
    bulk_max: int = 100  # LOADBAY_BULK_MAX: records in one synchronous bulk call
    rate_limit: int = 600  # LOADBAY_RATE_LIMIT: API requests per minute per tenant; 0 = off
    queue_url: str | None = None  # LOADBAY_QUEUE_URL: postgresql:// or redis://
    url: str | None = None  # LOADBAY_URL: a remote loadbay server for the CLI
    token: str | None = None  # LOADBAY_TOKEN: its bearer token (never logged)
    lease_seconds: float = 30.0  # LOADBAY_LEASE_SECONDS: a worker's hold on a running import
    workers: int = 2  # LOADBAY_WORKERS: worker threads of `loadbay serve` / `loadbay worker`
    #: LOADBAY_PG_WORK_MEM: PostgreSQL ``work_mem`` of loadbay's connections (the plan's
    #: join of the file with the table hashes in memory instead of spilling to disk)
    pg_work_mem: str = "256MB"

    @property
    def effective_database_url(self) -> str:
        """LOADBAY_DATABASE_URL, or the SQLite file ``loadbay.db`` in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'loadbay.db').resolve()}"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get("LOADBAY_DATA_DIR"):
            values["data_dir"] = Path(env["LOADBAY_DATA_DIR"])
        if env.get("LOADBAY_DATABASE_URL"):
            values["database_url"] = env["LOADBAY_DATABASE_URL"]
        if env.get("LOADBAY_SCHEMA"):
            values["schema_file"] = Path(env["LOADBAY_SCHEMA"])
        if env.get("LOADBAY_CHUNK_SIZE"):
            values["chunk_size"] = int(env["LOADBAY_CHUNK_SIZE"])
        values.update(_service_env(env))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


_INT_ENV = {
    "LOADBAY_MAX_UPLOAD_BYTES": "max_upload_bytes",
    "LOADBAY_BULK_MAX": "bulk_max",
    "LOADBAY_RATE_LIMIT": "rate_limit",
    "LOADBAY_WORKERS": "workers",
}
_TEXT_ENV = {
    "LOADBAY_QUEUE_URL": "queue_url",
    "LOADBAY_URL": "url",
    "LOADBAY_TOKEN": "token",
    "LOADBAY_PG_WORK_MEM": "pg_work_mem",
}


def _service_env(env: Mapping[str, str]) -> dict[str, object]:
    """The settings of the server, its workers and the remote command line."""
    values: dict[str, object] = {}
    for name, field in _INT_ENV.items():
        if env.get(name):
            values[field] = int(env[name])
    for name, field in _TEXT_ENV.items():
        if env.get(name):
            values[field] = env[name]
    if env.get("LOADBAY_LEASE_SECONDS"):
        values["lease_seconds"] = float(env["LOADBAY_LEASE_SECONDS"])
    return values
