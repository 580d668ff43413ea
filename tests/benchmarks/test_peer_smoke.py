"""The peers of the benchmark (``benchmarks/peers.py``), (g) dlt on PostgreSQL and (h)
sqlite-utils on SQLite, at a tiny size: each stores the files' rows, its check catches a
row stored wrong, and the command measures it beside loadbay and the raw path. Needs the
``bench`` extra (``pip install -e '.[dev,bench]'``); each peer's tests are skipped without
it. Never a time.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from benchmarks import generate as gen
from benchmarks import peers
from loadbay.store.engine import normalise_url
from tests.benchmarks.command import run_command

KEY = peers.KEY

needs_dlt = pytest.mark.skipif(
    peers.available() is not None, reason=str(peers.available()) + " (the bench extra)"
)
needs_sqlite_utils = pytest.mark.skipif(
    peers.sqlite_utils_available() is not None,
    reason=str(peers.sqlite_utils_available()) + " (the bench extra)",
)

ROWS = 2_000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> gen.DataFiles:
    return gen.generate(ROWS, tmp_path_factory.mktemp("peer-data"))


def budget_of(pg_url: str, dataset: str, key: str) -> Decimal:
    engine = sa.create_engine(normalise_url(pg_url))
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(f'SELECT budget FROM "{dataset}".projects WHERE external_id = :k'),
                {"k": key},
            ).scalar_one()
    finally:
        engine.dispose()
    return Decimal(found)


@needs_dlt
def test_dlt_loads_and_merges_the_files_and_its_check_catches_a_wrong_row(
    pg_url: str, tmp_path: Path, files: gen.DataFiles
) -> None:
    dataset = peers.new_dataset()
    work = tmp_path / "dlt"
    m = files.manifest
    fresh = pl.read_csv(files.fresh, infer_schema=False)
    update = pl.read_csv(files.update, infer_schema=False)
    changed = update.join(fresh, on="external_id", suffix="_old").filter(
        pl.col("budget") != pl.col("budget_old")
    )
    assert changed.height == m.changed
    key, new_budget = changed.row(0, named=True)["external_id"], changed["budget"][0]
    try:
        first = peers.dlt_load(pg_url, dataset, work, files.fresh, fresh=True)
        assert (first.rows, first.stored, first.checked) == (ROWS, ROWS, peers.SAMPLE)
        assert first.disposition == "append"
        assert budget_of(pg_url, dataset, key) == Decimal(changed["budget_old"][0])

        second = peers.dlt_load(pg_url, dataset, work, files.update, fresh=False)
        assert (second.rows, second.stored) == (m.update_rows, m.update_rows)
        assert second.disposition == "merge"
        assert budget_of(pg_url, dataset, key) == Decimal(new_budget)

        # the check compares stored values with the file's: a row stored wrong fails it
        table = peers.read_arrow(files.update)
        sampled = table.column("external_id")[0].as_py()
        engine = sa.create_engine(normalise_url(pg_url))
        with engine.begin() as conn:
            conn.execute(
                sa.text(f'UPDATE "{dataset}".projects SET name = :n WHERE external_id = :k'),
                {"n": "not the file's", "k": sampled},
            )
        engine.dispose()
        with pytest.raises(RuntimeError, match="dlt stored"):
            peers.check(pg_url, dataset, table)
    finally:
        peers.drop_dataset(pg_url, dataset, work)
    assert not work.exists()


@needs_dlt
def test_the_command_measures_dlt_beside_loadbay_and_the_raw_path(
    pg_url: str, tmp_path: Path
) -> None:
    server = sa.engine.make_url(pg_url).set(query={}).render_as_string(hide_password=False)
    summary = run_command(tmp_path, 1_000, "postgres", "--parts", "bcdg", "--pg-url", server)
    pg = summary["databases"]["postgres"]
    assert (pg["g_fresh"]["stored"], pg["g_update"]["stored"]) == (1_000, 1_100)
    assert (pg["g_fresh"]["disposition"], pg["g_update"]["disposition"]) == ("append", "merge")
    assert pg["ratio_b_g"] > 0 and pg["ratio_c_g"] > 0
    figures = {t["figure"] for t in summary["targets"]}
    assert {"(b)/(g) fresh vs dlt", "(c)/(g) upsert vs dlt merge"} <= figures


def changed_budget(files: gen.DataFiles) -> tuple[str, str, str]:
    """A key whose budget the update file changes: (key, old budget, new budget)."""
    fresh = pl.read_csv(files.fresh, infer_schema=False)
    update = pl.read_csv(files.update, infer_schema=False)
    changed = update.join(fresh, on="external_id", suffix="_old").filter(
        pl.col("budget") != pl.col("budget_old")
    )
    assert changed.height == files.manifest.changed
    row = changed.row(0, named=True)
    return row["external_id"], row["budget_old"], row["budget"]


def sqlite_budget(db_path: Path, key: str) -> float:
    conn = sqlite3.connect(db_path)
    try:
        (found,) = conn.execute(
            "SELECT budget FROM projects WHERE external_id = ?", (key,)
        ).fetchone()
    finally:
        conn.close()
    return float(found)


@needs_sqlite_utils
def test_sqlite_utils_inserts_and_upserts_the_files_and_its_check_catches_a_wrong_row(
    tmp_path: Path, files: gen.DataFiles
) -> None:
    db_path = peers.new_sqlite_file(tmp_path)
    m = files.manifest
    key, old_budget, new_budget = changed_budget(files)

    first = peers.sqlite_utils_load(db_path, files.fresh, fresh=True)
    assert (first.rows, first.stored, first.checked) == (ROWS, ROWS, peers.SAMPLE)
    assert first.disposition == "insert"
    assert 0 < first.read_seconds < first.seconds
    assert sqlite_budget(db_path, key) == float(old_budget)

    second = peers.sqlite_utils_load(db_path, files.update, fresh=False)
    assert (second.rows, second.stored) == (m.update_rows, m.update_rows)
    assert second.disposition == "upsert"
    assert sqlite_budget(db_path, key) == float(new_budget)

    # the check compares stored values with the file's: a row stored wrong fails it, and
    # so does a key of the file that is missing
    rows = peers.read_rows(files.update)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "UPDATE projects SET name = ? WHERE external_id = ?", ("not the file's", rows[0][KEY])
        )
    conn.close()
    with pytest.raises(RuntimeError, match="sqlite-utils stored"):
        peers.check_sqlite(db_path, rows)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("DELETE FROM projects WHERE external_id = ?", (rows[1][KEY],))
    conn.close()
    with pytest.raises(RuntimeError, match="no row for 1 keys"):
        peers.check_sqlite(db_path, rows[1:2])
    peers.drop_sqlite_file(db_path)
    assert not list(tmp_path.iterdir())


@needs_sqlite_utils
def test_the_command_measures_sqlite_utils_beside_loadbay_and_the_raw_path(
    tmp_path: Path,
) -> None:
    summary = run_command(tmp_path, 1_000, "sqlite", "--parts", "bcdh")
    lite = summary["databases"]["sqlite"]
    assert (lite["h_fresh"]["stored"], lite["h_update"]["stored"]) == (1_000, 1_100)
    assert (lite["h_fresh"]["disposition"], lite["h_update"]["disposition"]) == (
        "insert",
        "upsert",
    )
    assert lite["ratio_b_h"] > 0 and lite["ratio_c_h"] > 0
    figures = {t["figure"] for t in summary["targets"]}
    assert {"(b)/(h) fresh vs sqlite-utils", "(c)/(h) upsert vs sqlite-utils"} <= figures
    assert not any((tmp_path / "work").iterdir()), "the peer's SQLite file is dropped"
