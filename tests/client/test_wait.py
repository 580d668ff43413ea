"""``Client.wait`` follows the import's server-sent events (falling back to polling when
they cannot be had), and hands each change to ``progress``; ``error_summary``."""

from __future__ import annotations

from pathlib import Path

import httpx

from loadbay.client import Client, Import
from loadbay.service.progress import PHASES
from tests.api.server import Server


class Recording(httpx.HTTPTransport):
    """The paths asked; with ``refuse``, a path that fails as a network error would."""

    def __init__(self, refuse: str | None = None) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.refuse = refuse

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if self.refuse and request.url.path.endswith(self.refuse):
            raise httpx.ConnectError("refused", request=request)
        return super().handle_request(request)


def _projects(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "projects.csv"
    lines = ["external_id,name,budget"]
    lines += [f"P-{i},Project {i},{'lots' if i % 50 == 0 else i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_wait_follows_the_events(server: Server, tmp_path: Path) -> None:
    transport = Recording()
    with Client(server.url, server.token("wait1", "write"), transport=transport) as lb:
        up = lb.upload(_projects(tmp_path, 2_000))
        job = lb.create_import(upload_id=up.id, table="projects")
        seen: list[Import] = []
        done = lb.wait(job.id, progress=seen.append, poll=0.05)
    assert done.state == "failed" and done.counts.failed == 40  # strict
    assert done.progress is not None and done.progress["errors"] == 40
    assert f"/v1/imports/{job.id}/events" in transport.paths
    # one read before the stream, one after: no polling
    assert transport.paths.count(f"/v1/imports/{job.id}") == 2
    phases = [i.progress["phase"] for i in seen if i.progress and i.progress["phase"]]
    assert [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p] == list(PHASES)
    assert seen[-1].state == "failed"


def test_wait_polls_when_the_events_cannot_be_had(server: Server, tmp_path: Path) -> None:
    transport = Recording(refuse="/events")
    with Client(server.url, server.token("wait2", "write"), transport=transport) as lb:
        up = lb.upload(_projects(tmp_path, 20))
        job = lb.create_import(upload_id=up.id, table="projects", error_handling="lenient")
        states: list[str] = []
        done = lb.wait(job.id, progress=lambda i: states.append(i.state), poll=0.05)
        assert done.state == "partially_succeeded" and states[-1] == done.state
        assert transport.paths.count(f"/v1/imports/{job.id}") >= 2  # it polled
        groups = lb.error_summary(job.id)
    assert groups == [
        {
            "table": "projects",
            "column": "budget",
            "code": "invalid_decimal",
            "count": 1,
            "example": "lots",
            "message": groups[0]["message"],
        }
    ]
    assert "lots" in groups[0]["message"]
