"""Progress over HTTP: ``GET /v1/imports/{id}`` carries it, ``/events`` streams it (every
phase in order, then the final state), a late client gets it at once, Last-Event-ID resumes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from loadbay.service.progress import PHASES
from tests.api.helpers import submit, upload
from tests.api.server import Server

ROWS = 300_000


def events(client: httpx.Client, import_id: str, after: str | None = None) -> list[Any]:
    """(id, data) of every event of the stream, until the server ends it."""
    headers = {"Last-Event-ID": after} if after is not None else {}
    found: list[Any] = []
    with client.stream("GET", f"/v1/imports/{import_id}/events", headers=headers) as answer:
        assert answer.status_code == 200, answer.read()
        number = None
        for line in answer.iter_lines():
            if line.startswith("id: "):
                number = line[len("id: ") :]
            elif line.startswith("data: "):
                found.append((number, json.loads(line[len("data: ") :])))
    return found


def phases_seen(found: list[Any]) -> list[str]:
    order: list[str] = []
    for _, data in found:
        phase = (data["progress"] or {}).get("phase")
        if phase and (not order or order[-1] != phase):
            order.append(phase)
    return order


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "projects.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("external_id,name\n")
        out.writelines(f"P-{i},Project {i}\n" for i in range(ROWS))
    return path


@pytest.mark.slow
def test_the_events_of_a_big_import_show_every_phase_and_end_with_its_state(
    server: Server, big_file: Path
) -> None:
    client = server.http()
    upload_id = upload(client, big_file)["id"]
    created = submit(client, upload_id=upload_id, table="projects", mode="create")
    found = events(client, created["id"])
    ids = [int(n) for n, _ in found]
    assert ids == sorted(set(ids))  # ids only grow
    assert phases_seen(found) == list(PHASES)
    last = found[-1][1]
    assert last["state"] == "succeeded" and last["counts"]["created"] == ROWS
    assert last["progress"]["rows_written"] == ROWS
    assert last["progress"]["bytes_read"] == big_file.stat().st_size

    # the import resource carries the same object
    shown = client.get(f"/v1/imports/{created['id']}").json()
    assert shown["progress"] == last["progress"]

    # a client that comes late gets every phase and the end at once
    late = events(client, created["id"])
    assert phases_seen(late) == list(PHASES) and late[-1][1] == last
    # one that saw some events resumes after them
    middle = found[len(found) // 2][0]
    resumed = events(client, created["id"], after=middle)
    assert [n for n, _ in resumed] == [n for n, _ in late if int(n) > int(middle)]
    assert resumed[-1][1] == last
    # one that saw the end gets nothing more
    assert events(client, created["id"], after=found[-1][0]) == []


def test_a_queued_import_streams_from_its_state_now(server: Server, tmp_path: Path) -> None:
    client = server.http()
    path = tmp_path / "projects.csv"
    path.write_text("external_id,name\nP-1,One\n", encoding="utf-8")
    created = submit(client, upload_id=upload(client, path)["id"], table="projects", dry_run=True)
    found = events(client, created["id"])
    assert found[-1][1]["state"] == "validated"
    assert found[-1][1]["progress"]["rows_read"] == 1
    assert client.get(f"/v1/imports/{created['id']}").json()["progress"]["phase"] == "reporting"
