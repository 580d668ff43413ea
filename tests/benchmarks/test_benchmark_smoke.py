"""The benchmark code at a small size: the files it generates, that both load paths
(loadbay, and the database's own bulk path) put the same, right rows in the table, and
that the bulk requests of (f) store the records they send.

Only correctness is checked here, never a time: the measurement is
``.venv/bin/python -m benchmarks.run`` (see benchmarks/run.py).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from benchmarks import bulk_latency, databases, harness, worker
from benchmarks import generate as gen
from benchmarks import run as bench_run
from loadbay.config import Settings
from loadbay.schema import load_catalog
from loadbay.schema.builtin import PROJECTS
from loadbay.store.engine import normalise_url
from tests.benchmarks.command import run_command

ROWS = 20_000

#: the stored projects of one tenant as the file spells them (references by natural key)
STORED = """
SELECT p.external_id, p.name, c.name AS customer, ct.email AS contact, o.email AS owner,
       p.status, CAST(p.budget AS TEXT) AS budget, p.currency,
       CAST(p.start_date AS TEXT) AS start_date, CAST(p.end_date AS TEXT) AS end_date,
       p.description, p.notes
FROM projects p
LEFT JOIN companies c ON c.loadbay_id = p.customer
LEFT JOIN people ct ON ct.loadbay_id = p.contact
LEFT JOIN people o ON o.loadbay_id = p.owner
WHERE p.loadbay_tenant_id = :tenant
ORDER BY p.external_id
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> gen.DataFiles:
    return gen.generate(ROWS, tmp_path_factory.mktemp("bench-data"))


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False).sort("external_id")


def stored(url: str, tenant: str) -> pl.DataFrame:
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(STORED), {"tenant": tenant}).all()
    finally:
        engine.dispose()
    schema = dict.fromkeys(PROJECTS.column_names, pl.String)
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def test_files_are_deterministic_realistic_and_resolvable(
    files: gen.DataFiles, tmp_path: Path
) -> None:
    again = gen.generate(ROWS, tmp_path, force=True)
    for name in ("companies", "people", "fresh", "update", "variant"):
        assert getattr(again, name).read_bytes() == getattr(files, name).read_bytes(), name
    m = files.manifest
    assert (m.new, m.update_rows) == (ROWS // 10, ROWS + ROWS // 10)
    assert 0.27 < m.changed / ROWS < 0.33
    assert 0.27 < m.variant_changed / m.update_rows < 0.33

    fresh, companies, people = read(files.fresh), read(files.companies), read(files.people)
    assert fresh.columns == PROJECTS.column_names
    assert (companies.height, people.height, fresh.height) == (1_000, 2_000, ROWS)
    assert companies["name"].n_unique() == 1_000
    assert people["email"].n_unique() == 2_000
    assert fresh["external_id"].n_unique() == ROWS
    for column in ("external_id", "name", "customer", "contact", "status", "budget"):
        assert fresh[column].null_count() == 0, column
    assert 0.15 < fresh["end_date"].null_count() / ROWS < 0.25
    assert 0.02 < fresh["owner"].null_count() / ROWS < 0.08
    assert fresh["description"].str.contains(",").all()
    assert fresh["description"].str.contains('"').all()
    assert fresh["budget"].str.contains(r"^[0-9]+\.[0-9]{2}$").all()
    assert fresh["customer"].is_in(companies["name"].implode()).all()
    for column in ("contact", "owner"):
        assert fresh[column].drop_nulls().is_in(people["email"].implode()).all()
    dated = fresh.drop_nulls("end_date")
    assert (dated["end_date"] >= dated["start_date"]).all()


def test_update_and_variant_change_what_the_manifest_says(files: gen.DataFiles) -> None:
    fresh, update, variant = read(files.fresh), read(files.update), read(files.variant)
    assert update.height == variant.height == files.manifest.update_rows
    old = update.join(fresh, on="external_id", how="semi")
    assert old.height == ROWS  # every project of the fresh file is in the update file
    assert not fresh.equals(old)
    differs = old.join(fresh, on="external_id", suffix="_old").filter(
        pl.col("budget") != pl.col("budget_old")
    )
    assert differs.height == files.manifest.changed
    assert (variant["budget"] != update["budget"]).sum() == files.manifest.variant_changed
    # no cell goes from a value to empty: an upsert that keeps stored values could not undo it
    for column in PROJECTS.column_names:
        assert (update[column].is_null() & variant[column].is_not_null()).sum() == 0, column
        assert (variant[column].is_null() & update[column].is_not_null()).sum() == 0, column


def test_pipeline_alone_validates_every_row(files: gen.DataFiles) -> None:
    run = harness.pipeline_only(files.fresh, load_catalog(None), batch_size=7_000)
    assert (run.rows, run.good, run.errors, run.batches) == (ROWS, ROWS, 0, 3)


def test_loadbay_and_the_raw_path_load_the_same_rows(
    db_url: str, tmp_path: Path, files: gen.DataFiles
) -> None:
    ours = Settings(data_dir=tmp_path / "data", database_url=db_url, tenant="loadbay")
    raw = Settings(data_dir=tmp_path / "data", database_url=db_url, tenant="raw")
    for settings in (ours, raw):
        harness.load_references(settings, files.companies, files.people)
    m = files.manifest

    (fresh,) = harness.loadbay_imports(ours, [files.fresh], sql_profile=True)
    assert (fresh.state, fresh.rows, fresh.counts["created"]) == ("succeeded", ROWS, ROWS)
    assert set(fresh.timings) >= {"read_validate_stage", "plan_write"}
    assert fresh.sql, "the statement profile saw the plan and write statements"
    assert harness.raw_load(raw, files.fresh).affected == ROWS
    expected = read(files.fresh)
    assert stored(db_url, "loadbay").equals(expected)
    assert stored(db_url, "raw").equals(expected)

    (update,) = harness.loadbay_imports(ours, [files.update])
    assert update.rows == m.update_rows
    assert {k: update.counts[k] for k in ("created", "updated", "unchanged", "failed")} == {
        "created": m.new,
        "updated": m.changed,
        "unchanged": ROWS - m.changed,
        "failed": 0,
    }
    raw_update = harness.raw_load(raw, files.update)
    assert (raw_update.rows, raw_update.affected) == (m.update_rows, m.new + m.changed)
    expected = read(files.update)
    assert stored(db_url, "loadbay").equals(expected)
    assert stored(db_url, "raw").equals(expected)

    # (e): variant and update in turn, in one process: each run updates the same rows
    runs = harness.loadbay_imports(ours, [files.variant, files.update])
    for run in runs:
        assert (run.counts["created"], run.counts["updated"]) == (0, m.variant_changed)
    assert stored(db_url, "loadbay").equals(expected)


def test_bulk_requests_to_a_server_store_what_they_send(
    db_url: str, tmp_path: Path, files: gen.DataFiles
) -> None:
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    db = databases.Database(kind, db_url, tmp_path)
    tenant = bulk_latency.own_tenant()
    harness.load_references(db.settings(tenant), files.companies, files.people)

    found = bulk_latency.measure(db, tenant, requests=5, warmup=1)

    sent = bulk_latency.request_frames(6)  # new, changed, new, changed, new, changed
    assert [f.height for f in sent] == [100] * 6
    pairs = zip(sent[::2], sent[1::2], strict=True)
    changed = sum(old.row(i) != new.row(i) for old, new in pairs for i in range(100))
    assert 0 < changed < 300
    assert found["counts"] == {"created": 200, "unchanged": 300 - changed, "updated": changed}
    assert (found["requests"], found["rows"], len(found["latencies_ms"])) == (5, 500, 5)
    assert set(found["median_ms_by_kind"]) == {"create", "update"}
    expected = pl.concat(sent).unique("external_id", keep="last").sort("external_id")
    assert stored(db_url, tenant).equals(expected)


def test_a_worker_measures_in_its_own_process(files: gen.DataFiles) -> None:
    result = worker.run_task({"task": "pipeline", "path": str(files.fresh)})
    assert (result["rows"], result["good"], result["errors"]) == (ROWS, ROWS, 0)
    assert result["peak_rss_mib"] >= result["baseline_rss_mib"] > 0


def test_the_command_writes_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = run_command(tmp_path, 2_000, "sqlite", "--bulk-requests", "2", "--bulk-warmup", "0")
    sqlite = summary["databases"]["sqlite"]
    assert sqlite["b"]["counts"]["created"] == 2_000
    assert sqlite["c"]["counts"]["created"] == 200
    assert sqlite["d_update"]["affected"] == 200 + summary["meta"]["files"]["manifest"]["changed"]
    assert len(sqlite["e"]["runs"]) == 5
    assert {r["counts"]["updated"] for r in sqlite["e"]["runs"]} == {
        summary["meta"]["files"]["manifest"]["variant_changed"]
    }
    assert sqlite["f"]["requests"] == 2
    assert sqlite["f"]["counts"]["created"] == 100  # a new batch, then the same one changed
    assert sum(sqlite["f"]["counts"].values()) == 200
    figures = {t["figure"] for t in summary["targets"]}
    assert figures >= {"(a) rows/s", "(b)/(d)", "(c)/(d)", "(f) bulk median ms"}
    assert "targets met:" in capsys.readouterr().out
    assert not any((tmp_path / "work").iterdir()), "the benchmark databases are dropped"


def test_settling_postgres_vacuums_the_catalogs_when_autovacuum_is_off(pg_url: str) -> None:
    db = databases.Database("postgres", pg_url, Path("."))
    engine = sa.create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    last = sa.text(
        "SELECT last_vacuum FROM pg_stat_sys_tables "
        "WHERE relid = 'pg_catalog.pg_attribute'::regclass"
    )
    try:
        with engine.connect() as conn:
            for table in ("companies", "people", "projects"):
                conn.exec_driver_sql(f'CREATE TABLE "{table}" (a INT)')
            before = conn.execute(last).scalar_one()
            off = not bench_run.autovacuum(conn)
            bench_run.settle(db)
            after = conn.execute(last).scalar_one()
    finally:
        engine.dispose()
    if off:
        assert after is not None and (before is None or after > before)
    else:
        assert after == before  # autovacuum looks after the catalogs
