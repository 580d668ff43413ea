"""On SQLite with a database file, an import stages into a file of its own (ADBC's ingest).

The stage file holds the stage tables while the import runs, outlives an interruption so a
resumed run plans from it (or stages again, if the ingest itself was interrupted), and is
deleted with the scratch file once the import is over.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadbay.config import Settings
from loadbay.domain.imports import Import
from loadbay.domain.json import JSONObject
from loadbay.errors import Abandoned
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import imports as import_service
from loadbay.service.context import Context, open_context
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import imports_sql
from loadbay.store.staging import stage_table_name
from tests.conftest import IMPORT_PATHS
from tests.service.helpers import rows, run, runner, write

ROWS = 25
CSV = "name,due_days\n" + "".join(f"Company {i},{i % 90}\n" for i in range(ROWS))


class Crash(Abandoned):
    """The process dies here (nothing catches it, as nothing survives a kill)."""


@pytest.fixture
def lite(tmp_path: Path, import_path: str) -> Iterator[Context]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'db' / 'loadbay.db'}",
        chunk_size=7,
        small_import_bytes=IMPORT_PATHS[import_path],
    )
    context = open_context(settings)
    yield context
    context.close()


def files(ctx: Context, kind: str) -> list[Path]:
    database = Path(str(ctx.engine.url.database))
    return sorted(database.parent.glob(f"{database.name}.*.{kind}"))


def tables(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def queued(ctx: Context, path: Path, **options: Any) -> str:
    request = ImportRequest(
        sources=(SourceSpec(path=str(path), name=path.name, table="companies"),), **options
    )
    return import_service.create_import(ctx, request)


def record(ctx: Context, import_id: str) -> Import:
    return import_service.get_import(ctx, import_id)


def checkpoint(ctx: Context, import_id: str) -> JSONObject:
    point = record(ctx, import_id).checkpoint
    return {} if point is None else point.to_json()


def test_the_stage_tables_are_in_the_stage_file_while_the_import_writes(
    lite: Context, tmp_path: Path
) -> None:
    seen: list[tuple[dict[str, int], dict[str, int]]] = []

    def look(phase: str, _done: int, _total: int | None) -> None:
        if phase == "write" and not seen:  # after the first chunk's commit
            [stage] = files(lite, "stage")
            seen.append((tables(Path(str(lite.engine.url.database))), tables(stage)))

    import_id = queued(lite, write(tmp_path, "c.csv", CSV), error_handling=ErrorHandling.LENIENT)
    done = runner(lite, import_id, look).run()
    assert done.state == "succeeded" and done.counts.created == ROWS
    main, stage = seen[0]
    assert not [n for n in main if n.startswith("loadbay_stage_")]
    assert stage == {stage_table_name(import_id, 0): ROWS}
    assert files(lite, "stage") == [] and files(lite, "scratch") == []


def test_an_import_interrupted_after_staging_plans_from_its_stage_file(
    lite: Context, tmp_path: Path
) -> None:
    def crash(phase: str, _done: int, _total: int | None) -> None:
        if phase == "write":  # the first chunk is committed
            raise Crash

    import_id = queued(lite, write(tmp_path, "c.csv", CSV), error_handling=ErrorHandling.LENIENT)
    with pytest.raises(Crash):
        runner(lite, import_id, crash).run()
    assert record(lite, import_id).state == "running"
    parts = checkpoint(lite, import_id)["parts"]
    assert [p["stage"].split(".")[0] for p in parts] == ["stage"]
    assert 0 < len(rows(lite, "companies")) < ROWS
    [stage] = files(lite, "stage")
    assert list(tables(stage).values()) == [ROWS]

    done = runner(lite, import_id, None).run()  # resumed: nothing is staged again
    assert done.state == "succeeded"
    assert done.counts.created == ROWS
    assert sorted(r["name"] for r in rows(lite, "companies")) == sorted(
        f"Company {i}" for i in range(ROWS)
    )
    assert files(lite, "stage") == [] and files(lite, "scratch") == []


def test_a_torn_scratch_file_does_not_stop_the_resumed_run(lite: Context, tmp_path: Path) -> None:
    """What a crash in the middle of a transaction on the scratch file may leave (as a
    rollback without a journal did): the resumed run starts a new one."""

    def crash(phase: str, _done: int, _total: int | None) -> None:
        if phase == "write":
            raise Crash

    import_id = queued(lite, write(tmp_path, "c.csv", CSV), error_handling=ErrorHandling.LENIENT)
    with pytest.raises(Crash):
        runner(lite, import_id, crash).run()
    [scratch] = files(lite, "scratch")
    scratch.write_bytes(bytes(8192))  # no SQLite header: "file is not a database"
    done = runner(lite, import_id, None).run()
    assert done.state == "succeeded" and done.counts.created == ROWS
    assert files(lite, "stage") == [] and files(lite, "scratch") == []


def test_an_import_interrupted_while_staging_stages_everything_again(
    lite: Context, tmp_path: Path
) -> None:
    batches = 0

    def crash(phase: str, _done: int, _total: int | None) -> None:
        nonlocal batches
        batches += phase == "read"
        if batches == 3:
            raise Crash

    import_id = queued(lite, write(tmp_path, "c.csv", CSV))
    with pytest.raises(Crash):
        runner(lite, import_id, crash, batch_size=4).run()
    assert "parts" not in checkpoint(lite, import_id)
    [stage] = files(lite, "stage")
    assert 0 < sum(tables(stage).values()) < ROWS  # some batches were staged

    done = runner(lite, import_id, None, batch_size=4).run()
    assert done.state == "succeeded"
    counts = done.counts.as_dict()
    assert counts == {**counts, "created": ROWS, "skipped": 0, "failed": 0}
    assert len(rows(lite, "companies")) == ROWS
    assert files(lite, "stage") == [] and files(lite, "scratch") == []


def test_a_cancelled_import_stops_between_batches_and_removes_its_files(
    lite: Context, tmp_path: Path
) -> None:
    import_id = queued(lite, write(tmp_path, "c.csv", CSV))
    staged: list[int] = []

    def cancel(phase: str, done: int, _total: int | None) -> None:
        if phase == "read" and not staged:
            staged.append(done)
            with lite.engine.begin() as conn:
                imports_sql.update_import(conn, lite.tenant, import_id, state="cancelled")

    done = runner(lite, import_id, cancel, batch_size=4).run()
    assert done.state == "cancelled"
    assert rows(lite, "companies") == []
    assert files(lite, "stage") == [] and files(lite, "scratch") == []


def test_a_failed_import_removes_its_files(lite: Context, tmp_path: Path) -> None:
    result = run(lite, write(tmp_path, "c.csv", "name,due_days\nA,x\nB,2\n"), table="companies")
    assert result.state == "failed"
    assert files(lite, "stage") == [] and files(lite, "scratch") == []


def test_sqlite_in_memory_stages_through_its_connection(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url="sqlite://", chunk_size=7)
    context = open_context(settings)
    try:
        result = run(context, write(tmp_path, "c.csv", CSV), table="companies")
        assert result.state == "succeeded" and result.counts.created == ROWS
        assert len(rows(context, "companies")) == ROWS
    finally:
        context.close()
    assert not list(tmp_path.rglob("*.stage"))
