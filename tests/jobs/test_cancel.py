"""A cancel answered ``cancelled`` is true: the import ends cancelled, whatever its run
was doing, with the counts of what its committed chunks wrote (revertible); a finished
import is not cancelled (409 with its state)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from loadbay.domain.imports import Import
from loadbay.errors import Cancelled, InvalidState
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import imports as import_service
from loadbay.service.auth import CLI
from loadbay.service.context import Context
from loadbay.service.leases import Heartbeat, Leases, open_leases, run_leased
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.service.revert import revert_import
from tests.service.helpers import by_key, write

ROWS = 20  # three chunks of 7


def lenient(ctx: Context, tmp_path: Path) -> str:
    path = write(tmp_path, "c.csv", "name\n" + "".join(f"Company {i}\n" for i in range(ROWS)))
    source = SourceSpec(path=str(path), name=path.name, table="companies")
    request = ImportRequest(sources=(source,), error_handling=ErrorHandling.LENIENT)
    return import_service.create_import(ctx, request)


@pytest.fixture
def leases(ctx: Context) -> Any:
    made = open_leases(ctx.settings)
    yield made
    made.close()


def test_a_cancel_answered_after_the_last_chunk_committed_still_ends_cancelled(
    ctx: Context, leases: Leases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_id = lenient(ctx, tmp_path)
    answers: list[Import] = []
    check = Heartbeat.check

    def cancel_after_last_chunk(
        beat: Heartbeat, phase: str = "", done: int = 0, total: int | None = None
    ) -> None:
        check(beat, phase, done, total)
        if phase == "write" and done == total and not answers:
            # the API answers a cancel between the last chunk's commit and the end
            answers.append(import_service.cancel(ctx, ctx.tenant, import_id, leases, actor=CLI))

    monkeypatch.setattr(Heartbeat, "check", cancel_after_last_chunk)
    record = run_leased(ctx, leases, ctx.tenant, import_id)
    assert [a.state for a in answers] == ["cancelled"]
    assert record is not None and record.state == "cancelled"
    assert record.counts.created == ROWS and record.write_stamp
    assert record.rows_processed == ROWS  # the rows whose outcome is known
    assert import_service.get_import(ctx, import_id).state == "cancelled"
    assert leases.get(import_id) is None
    revert_import(ctx, import_id)  # what it wrote can be undone
    assert by_key(ctx, "companies", "name") == {}


def test_a_finished_import_is_not_cancelled(ctx: Context, leases: Leases, tmp_path: Path) -> None:
    import_id = lenient(ctx, tmp_path)
    done = run_leased(ctx, leases, ctx.tenant, import_id)
    assert done is not None and done.state == "succeeded"
    with pytest.raises(InvalidState) as refused:
        import_service.cancel(ctx, ctx.tenant, import_id, leases, actor=CLI)
    assert refused.value.details == {"state": "succeeded"}
    assert import_service.get_import(ctx, import_id).state == "succeeded"


def test_a_running_imports_heartbeat_hears_a_cancel_within_a_second_or_two(
    ctx: Context, tmp_path: Path
) -> None:
    leases = Leases(open_leases(ctx.settings).engine, seconds=60)  # renewed every 20 s
    import_id = lenient(ctx, tmp_path)
    assert leases.acquire(import_id, ctx.tenant, "w") is not None
    beat = Heartbeat(leases, import_id, "w")
    beat.start()
    try:
        beat.check()  # not cancelled: goes on
        assert leases.request_cancel(import_id)
        for _ in range(50):  # polls of 0.1 s: well under the lease's renewal
            if beat.cancel:
                break
            time.sleep(0.1)
        with pytest.raises(Cancelled):
            beat.check("write", 7, 20)
    finally:
        beat.stop()
        leases.close()
