"""An import whose queue message was lost (taken by a worker that died before it took the
import's lease, or a queue emptied by hand) is not left ``queued`` for ever: the reaper
queues it again, once, when no message of it is waiting and nobody holds its lease."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from loadbay.config import Settings
from loadbay.jobs import Jobs
from loadbay.service import imports as import_service
from loadbay.service.context import Context
from loadbay.service.requests import ImportRequest, SourceSpec
from tests.service.helpers import write


def _queued_import(ctx: Context, tmp_path: Path) -> str:
    path = write(tmp_path, "c.csv", "name\nAcme\nGlobex\n")
    source = SourceSpec(path=str(path), name=path.name, table="companies")
    return import_service.create_import(ctx, ImportRequest(sources=(source,)))


def _pending(jobs: Jobs) -> list[str]:
    return [task.args[1] for task in jobs.huey.pending()]


def test_a_queued_import_whose_message_was_lost_is_queued_again_once(
    settings: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(settings, lease_seconds=0.4)
    jobs = Jobs(settings)
    try:
        ctx = jobs.context()
        import_id = _queued_import(ctx, tmp_path)
        jobs.enqueue_import(ctx.tenant, import_id)
        reaper = jobs.reaper()
        assert reaper.sweep() == []  # its message waits: nothing to do
        assert _pending(jobs) == [import_id]
        jobs.huey.flush()  # the message is gone, as when its worker died holding it
        assert reaper.sweep() == []  # too young: a worker may be taking it right now
        time.sleep(0.5)
        assert reaper.sweep() == [(ctx.tenant, import_id)]
        assert _pending(jobs) == [import_id]
        assert reaper.sweep() == []  # not twice while the new message waits
        task = jobs.huey.dequeue()
        assert task is not None
        jobs.huey.execute(task)
        assert import_service.get_import(ctx, import_id).state == "succeeded"
        time.sleep(0.5)
        assert reaper.sweep() == [] and _pending(jobs) == []
    finally:
        jobs.close()
