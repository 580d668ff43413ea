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
    workers: int = 2  # LOADBAY_WORKERS: worker processes of `serve`, threads of `worker`
    #: LOADBAY_MAX_ATTEMPTS: an import that stopped its worker this many times is given up
    max_attempts: int = 3
    #: LOADBAY_PG_WORK_MEM: PostgreSQL ``work_mem`` of loadbay's connections (the plan's
    #: join of the file with the table hashes in memory instead of spilling to disk)
    pg_work_mem: str = "256MB"
    #: limits of what a file may hold (hostile files end in limit_exceeded, not in a crash):
    #: LOADBAY_MAX_EXPANDED_BYTES caps the decompressed bytes of a compressed file (gzip,
    #: the parts of a workbook) at most 10 x max_upload_bytes (``expanded_limit``)
    max_expanded_bytes: int = 8 << 30
    max_line_bytes: int = 64 << 20  # LOADBAY_MAX_LINE_BYTES: a line / CSV record
    max_field_bytes: int = 16 << 20  # LOADBAY_MAX_FIELD_BYTES: one value
    max_columns: int = 10_000  # LOADBAY_MAX_COLUMNS: fields of a file (or table)
    max_json_depth: int = 64  # LOADBAY_MAX_JSON_DEPTH: nesting of arrays and objects
    #: LOADBAY_MAX_SHEET_CELLS: rows x columns of a sheet (about 100 bytes of memory each)
    max_sheet_cells: int = 10_000_000
    #: LOADBAY_SMALL_IMPORT_BYTES: files of an import together under this size take the
    #: small-import path (read and staged in the caller's thread; on PostgreSQL staged and
    #: planned in tables the connection keeps); the others are read ahead on threads
    small_import_bytes: int = 1 << 20
    #: LOADBAY_WEBHOOK_ALLOW_PRIVATE: let webhooks reach loopback, private and link-local
    #: addresses (development and tests; refused by default)
    webhook_allow_private: bool = False
    #: LOADBAY_WEBHOOK_RETRY_SCHEDULE: seconds before each retry of a failed delivery
    #: (comma-separated); after the last one it is given up
    webhook_retry_schedule: tuple[float, ...] = (5, 60, 300, 1800, 7200, 28800)
    webhook_timeout: float = 5.0  # LOADBAY_WEBHOOK_TIMEOUT: seconds per delivery attempt
    #: LOADBAY_WEBHOOK_DISABLE_AFTER: a subscription whose deliveries fail this long is disabled
    webhook_disable_after: float = 86400.0

    @property
    def effective_database_url(self) -> str:
        """LOADBAY_DATABASE_URL, or the SQLite file ``loadbay.db`` in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'loadbay.db').resolve()}"

    @property
    def expanded_limit(self) -> int:
        """The decompressed bytes a compressed file may hold: 10 x the upload limit, at
        most ``max_expanded_bytes``."""
        return min(10 * self.max_upload_bytes, self.max_expanded_bytes)

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
        values.update(_webhook_env(env))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


_INT_ENV = {
    "LOADBAY_MAX_UPLOAD_BYTES": "max_upload_bytes",
    "LOADBAY_BULK_MAX": "bulk_max",
    "LOADBAY_RATE_LIMIT": "rate_limit",
    "LOADBAY_WORKERS": "workers",
    "LOADBAY_SMALL_IMPORT_BYTES": "small_import_bytes",
    "LOADBAY_MAX_ATTEMPTS": "max_attempts",
    "LOADBAY_MAX_EXPANDED_BYTES": "max_expanded_bytes",
    "LOADBAY_MAX_LINE_BYTES": "max_line_bytes",
    "LOADBAY_MAX_FIELD_BYTES": "max_field_bytes",
    "LOADBAY_MAX_COLUMNS": "max_columns",
    "LOADBAY_MAX_JSON_DEPTH": "max_json_depth",
    "LOADBAY_MAX_SHEET_CELLS": "max_sheet_cells",
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


def _webhook_env(env: Mapping[str, str]) -> dict[str, object]:
    """The settings of webhook deliveries."""
    values: dict[str, object] = {}
    if env.get("LOADBAY_WEBHOOK_ALLOW_PRIVATE"):
        values["webhook_allow_private"] = env["LOADBAY_WEBHOOK_ALLOW_PRIVATE"].lower() in (
            "1",
            "true",
            "yes",
        )
    if env.get("LOADBAY_WEBHOOK_RETRY_SCHEDULE"):
        schedule = env["LOADBAY_WEBHOOK_RETRY_SCHEDULE"].split(",")
        values["webhook_retry_schedule"] = tuple(float(s) for s in schedule if s.strip())
    if env.get("LOADBAY_WEBHOOK_TIMEOUT"):
        values["webhook_timeout"] = float(env["LOADBAY_WEBHOOK_TIMEOUT"])
    if env.get("LOADBAY_WEBHOOK_DISABLE_AFTER"):
        values["webhook_disable_after"] = float(env["LOADBAY_WEBHOOK_DISABLE_AFTER"])
    return values


def debug_enabled(env: Mapping[str, str] | None = None) -> bool:
    """``LOADBAY_DEBUG=1``: the command line lets an unexpected error through, traceback
    and all, instead of its one-line message."""
    env = os.environ if env is None else env
    return env.get("LOADBAY_DEBUG", "").strip().lower() in ("1", "true", "yes")
