"""Real loadbay server processes for the tests: ``loadbay serve`` (or ``worker``) on a free port.

One server per test module (``module_server``), on SQLite or on PostgreSQL (a fresh schema
per module, as tests/conftest.py's ``pg_url`` makes one per test).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from loadbay.config import Settings
from loadbay.domain.imports import SETTLED
from loadbay.service import auth
from loadbay.service.context import open_context
from tests.conftest import pg_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'loadbay.db'}"
        return
    with pg_schema() as url:
        yield url


def base_env(data_dir: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env.update(
        {
            "LOADBAY_DATA_DIR": str(data_dir),
            "LOADBAY_DATABASE_URL": db_url,
            "LOADBAY_SCHEMA": str(EXAMPLES / "measurements.yaml"),
            "LOADBAY_RATE_LIMIT": "0",
            "LOADBAY_LEASE_SECONDS": "3",
            "LOADBAY_WORKERS": "2",
            "LOADBAY_CHUNK_SIZE": "7",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


def spawn(env: dict[str, str], *args: str, log: Path) -> Process:
    handle = open(log, "wb")  # noqa: SIM115 - owned by the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadbay", *args],
        env=env,
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return Process(proc, log)


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: Process
    admin_token: str
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def token(self, tenant: str = "default", scope: str = "admin") -> str:
        """A token of ``tenant`` with ``scope`` (made once, straight in the database)."""
        if (tenant, scope) not in self.tokens:
            ctx = open_context(self.settings)
            try:
                _, self.tokens[(tenant, scope)] = auth.create_token(ctx, tenant, scope, "test")
            finally:
                ctx.close()
        return self.tokens[(tenant, scope)]

    def http(self, tenant: str = "default", scope: str = "admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(tenant, scope)}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def wait(self, client: httpx.Client, import_id: str, until: tuple[str, ...] = ()) -> Any:
        """Poll an import until it settles (bounded: the test fails instead of hanging)."""
        done = until or tuple(SETTLED - {"reverted"})
        for _ in range(1200):
            body = client.get(f"/v1/imports/{import_id}").json()
            if body["state"] in done:
                return body
            time.sleep(0.05)
        raise AssertionError(f"import {import_id} did not finish: {body}\n{self.process.output()}")

    def wait_for(self, client: httpx.Client, import_id: str, test: Any) -> Any:
        """Poll an import until ``test(import)`` holds (bounded)."""
        for _ in range(1200):
            body = client.get(f"/v1/imports/{import_id}").json()
            if test(body):
                return body
            time.sleep(0.05)
        raise AssertionError(f"import {import_id} never got there: {body}")


def start_server(env: dict[str, str], *args: str, log: Path) -> Server:
    port = free_port()
    process = spawn(env, "serve", "--port", str(port), *args, log=log)
    url = f"http://127.0.0.1:{port}"
    token_file = Path(env["LOADBAY_DATA_DIR"]) / "admin-token"
    for _ in range(600):
        if process.proc.poll() is not None:
            raise AssertionError(f"the server stopped:\n{process.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=1).status_code == 200 and token_file.exists():
                return Server(url, env, process, token_file.read_text().strip())
        time.sleep(0.05)
    process.stop()
    raise AssertionError(f"the server did not start:\n{process.output()}")


@contextlib.contextmanager
def running_server(kind: str, folder: Path, *args: str, **extra: str) -> Iterator[Server]:
    with database(kind, folder) as db_url:
        env = base_env(folder / "data", db_url, **extra)
        server = start_server(env, *args, log=folder / "server.log")
        try:
            yield server
        finally:
            server.process.stop()
