"""The runner trusts the import's row, not a copy read before it started."""

from __future__ import annotations

from pathlib import Path

from loadbay.service import imports as import_service
from loadbay.service import states
from loadbay.service.context import Context
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import imports_sql
from tests.service.helpers import results, rows, write


def test_an_import_cancelled_after_a_worker_read_it_is_not_run(
    ctx: Context, tmp_path: Path
) -> None:
    path = write(tmp_path, "projects.csv", "external_id,name\nP-1,One\nP-2,Two\n")
    request = ImportRequest(sources=(SourceSpec(path=str(path), name=path.name),))
    import_id = import_service.create_import(ctx, request)
    seen = import_service.get_import(ctx, import_id)  # queued, as the worker read it
    with ctx.engine.begin() as conn:  # cancelled by a user just then
        assert imports_sql.set_state_if(
            conn, ctx.tenant, import_id, [states.QUEUED], states.CANCELLED
        )
    record = import_service.run_import(ctx, import_id, record=seen)
    assert record.state == "cancelled"
    assert record.started_at is None
    assert rows(ctx, "projects") == []
    assert results(ctx, import_id) == []
