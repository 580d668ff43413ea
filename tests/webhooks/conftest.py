"""A real HTTP receiver on 127.0.0.1, and settings that let webhooks reach it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from loadbay.config import Settings
from loadbay.service.context import Context, open_context


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses`` (then 200); keeps what it got."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.append(Received(headers, body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            answer = (b"nope " * 1000) if status >= 400 else b"ok"
            self.send_response(status)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks?x=1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Private addresses allowed (the receiver is on 127.0.0.1); retries without waiting."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        chunk_size=7,
        webhook_allow_private=True,
        webhook_retry_schedule=(0, 0, 0, 0, 0, 0),
    )


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(settings)
    yield context
    context.close()
