"""Throughput of loadbay against the database's own bulk path, in one command.

    .venv/bin/python -m benchmarks.run [--rows N] [--db sqlite|postgres|both] [--repeat R]
                                       [--parts abcdefgh] [--memory-check] [--profile]

For each database, and ``--repeat`` times (the median is reported):

(b) a fresh database (made by ``open_context``), companies and people imported (not
    timed), then a loadbay import of ``projects-N.csv`` (strict, upsert) in a new process;
(c) a loadbay upsert of the update file over (b), in another new process;
(d) another fresh database, the same references, and the raw bulk path on the fresh file,
    then on the update file (each in a new process; only the load is timed);
(g) PostgreSQL only, with the ``bench`` extra installed: dlt, the peer, on the same files
    (fresh with a unique key, then a merge of the update file; ``benchmarks.peers``);
(h) SQLite only, with the ``bench`` extra installed: sqlite-utils, the peer, on the same
    files into a SQLite file of its own (``insert_all`` of the fresh file with
    ``external_id`` as primary key, then ``upsert_all`` of the update file).

Before every timed step the database settles (PostgreSQL: ``VACUUM ANALYZE`` of the data
tables, of the system catalogs too when the server runs without autovacuum, and a
``CHECKPOINT``, what autovacuum and the checkpointer would do between imports of a service;
SQLite: a WAL checkpoint), the same for loadbay and the raw path.
Then (a) read + map + validate of the fresh file without a database, and (e): on the
database of the last (c), one process imports variant, update, variant, update, variant:
every run changes the same ~30 % of the 1.1 x N rows (``generate`` explains why), so a
slower later run is the process or the database, not the work. As a control, the raw bulk
path does the same five upserts in one process on the database of the last (d): drift in
both is the database's (PostgreSQL without vacuum between the runs: table and index bloat),
drift in loadbay's alone is loadbay's. (f): on another fresh database with the same
references, ``loadbay serve`` answers ``--bulk-requests`` synchronous bulk requests of 100
records, one after the other (``bulk_latency``): median and p95 latency, records/s.
``--memory-check`` runs (b) at 1M and 5M
rows (``--memory-sizes``) and compares the peak RSS. Figures go to stdout as a table and
to ``benchmarks/out/latest.json``.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

import loadbay
from benchmarks import bulk_latency, peers, report
from benchmarks.databases import (
    DEFAULT_PG_URL,
    WORK_DIR,
    Database,
    drop_database,
    fresh_database,
    postgres_problem,
    server_version,
)
from benchmarks.generate import DEFAULT_DIR, DataFiles, generate
from benchmarks.harness import TABLE, load_references
from benchmarks.worker import ROOT, run_task
from loadbay.store.engine import normalise_url

OUT_DIR = Path(__file__).resolve().parent / "out"
#: set for a run on a snapshot of a commit (``--source``): the commit
SOURCE_ENV = "LOADBAY_BENCH_SOURCE"
_STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="projects in the fresh file")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1, help="runs of (a)-(d); the median counts")
    parser.add_argument(
        "--parts",
        default="abcdefgh",
        help="which of a b c d e f g h to measure (g: dlt, PostgreSQL; h: sqlite-utils, SQLite)",
    )
    parser.add_argument(
        "--bulk-requests", type=int, default=bulk_latency.REQUESTS, help="(f) timed requests"
    )
    parser.add_argument(
        "--bulk-warmup", type=int, default=bulk_latency.WARMUP, help="(f) untimed requests first"
    )
    parser.add_argument("--memory-check", action="store_true", help="(b) at two sizes: RSS flat?")
    parser.add_argument("--memory-sizes", default="1000000,5000000", help="rows, comma-separated")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="the PostgreSQL server")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the first (b) and (c): out/profile-*.txt"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "latest.json")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="SQLite files go here")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument(
        "--source",
        metavar="REV",
        help="measure the engine of this git revision (a snapshot of its src/), not the "
        "working tree, so edits made while the benchmark runs cannot mix versions",
    )
    parser.add_argument(
        "--experiment",
        action="append",
        default=[],
        help="what-if for the loadbay imports (see benchmarks/experiments.py); repeatable",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.rows < 10:
        parser.error("--repeat must be at least 1 and --rows at least 10")
    if args.bulk_requests < 1 or args.bulk_warmup < 0:
        parser.error("--bulk-requests must be at least 1 and --bulk-warmup at least 0")
    return args


# ---- tasks -----------------------------------------------------------------------------------


def loadbay_task(db: Database, paths: list[Path], experiments: list[str]) -> dict[str, Any]:
    return {
        "task": "loadbay",
        "url": db.url,
        "data_dir": str(db.data_dir),
        "paths": [str(p) for p in paths],
        "sql_profile": True,
        "experiments": experiments,
    }


def raw_task(db: Database, paths: list[Path]) -> dict[str, Any]:
    return {
        "task": "raw",
        "url": db.url,
        "data_dir": str(db.data_dir),
        "paths": [str(p) for p in paths],
    }


#: the system catalogs that creating and dropping tables leaves dead rows in (every import
#: makes and drops its stage and plan tables)
CATALOGS = (
    "pg_class",
    "pg_attribute",
    "pg_type",
    "pg_depend",
    "pg_attrdef",
    "pg_index",
    "pg_constraint",
    "pg_sequence",
    "pg_statistic",
    "pg_init_privs",
)


def settle(db: Database) -> None:
    """The same starting line for every timed step: statistics fresh, dirty pages written;
    on a PostgreSQL server with autovacuum off, the system catalogs vacuumed too."""
    engine = sa.create_engine(normalise_url(db.url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if db.kind == "postgres":
                for table in ("companies", "people", TABLE):
                    conn.exec_driver_sql(f'VACUUM ANALYZE "{table}"')
                if not autovacuum(conn):
                    vacuum_catalogs(conn)
                conn.exec_driver_sql("CHECKPOINT")
            else:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all()
    finally:
        engine.dispose()


def autovacuum(conn: sa.Connection) -> bool:
    return str(conn.exec_driver_sql("SHOW autovacuum").scalar_one()) == "on"


def vacuum_catalogs(conn: sa.Connection) -> None:
    """What autovacuum would do for the catalogs: without it (this machine's PostgreSQL runs
    with ``autovacuum = off``), the dead rows of every table created and dropped before, by
    the test suite or earlier runs, stay; each new table then costs more, and (f), which
    makes four per request, measured 86 ms where the same code with the catalogs vacuumed
    took 54."""
    names = ", ".join(f"pg_catalog.{name}" for name in CATALOGS)
    try:
        conn.exec_driver_sql(f"VACUUM {names}")
    except sa.exc.DBAPIError as exc:  # not the catalogs' owner
        log(f"cannot vacuum the system catalogs ({exc.orig}); (f) may be slowed by their bloat")


def one_run(result: dict[str, Any]) -> dict[str, Any]:
    """The figure of a worker that ran one import (loadbay or raw)."""
    (run,) = result["runs"]
    rss = {key: result[key] for key in ("peak_rss_mib", "baseline_rss_mib")}
    return {**run, **rss}


def prepared(
    kind: str, label: str, files: DataFiles, args: argparse.Namespace, tenant: str = "default"
) -> Database:
    db = fresh_database(kind, label, args.pg_url, args.work_dir)
    load_references(db.settings(tenant), files.companies, files.people)
    settle(db)
    return db


def profile_path(args: argparse.Namespace, kind: str, part: str, repeat: int) -> Path | None:
    if not args.profile or repeat:
        return None
    return OUT_DIR / f"profile-{kind}-{part}-{args.rows}.txt"


# ---- measurements ------------------------------------------------------------------------------


def measure_pipeline(files: DataFiles, repeat: int) -> list[dict[str, Any]]:
    found = []
    for r in range(repeat):
        log(f"(a) read+map+validate {files.fresh.name}, run {r + 1}/{repeat}")
        found.append(run_task({"task": "pipeline", "path": str(files.fresh)}))
    return found


def measure_loadbay(
    kind: str, files: DataFiles, args: argparse.Namespace, r: int, measured: dict[str, Any]
) -> Database:
    """(b) and (c) on a fresh database, each import in a new process; returns the database."""
    db = prepared(kind, "loadbay", files, args)
    measured["version"] = server_version(db)
    log(f"{kind} (b) loadbay fresh import, run {r + 1}/{args.repeat}")
    b = run_task(loadbay_task(db, [files.fresh], args.experiment), profile_path(args, kind, "b", r))
    measured["b"].append(one_run(b))
    settle(db)
    if {"c", "e"} & set(args.parts):
        log(f"{kind} (c) loadbay upsert of the update file, run {r + 1}/{args.repeat}")
        c = run_task(
            loadbay_task(db, [files.update], args.experiment), profile_path(args, kind, "c", r)
        )
        measured["c"].append(one_run(c))
        settle(db)
    return db


def measure_raw(
    kind: str, files: DataFiles, args: argparse.Namespace, r: int, measured: dict[str, Any]
) -> Database:
    """(d) on a fresh database: the fresh file, then the update file; returns the database."""
    db = prepared(kind, "raw", files, args)
    log(f"{kind} (d) raw bulk path, fresh then update, run {r + 1}/{args.repeat}")
    measured["d_fresh"].append(one_run(run_task(raw_task(db, [files.fresh]))))
    settle(db)
    measured["d_update"].append(one_run(run_task(raw_task(db, [files.update]))))
    settle(db)
    return db


def measure_peer(
    files: DataFiles, args: argparse.Namespace, r: int, measured: dict[str, Any]
) -> None:
    """(g) dlt on the same files (``benchmarks.peers``), a dataset of its own: the fresh file
    (append, unique key), then the update file (merge), each in a new process."""
    dataset = peers.new_dataset()
    work = args.work_dir / dataset
    try:
        for key, path, fresh in (("g_fresh", files.fresh, True), ("g_update", files.update, False)):
            log(f"postgres (g) dlt {'fresh' if fresh else 'merge'}, run {r + 1}/{args.repeat}")
            task = {
                "task": "dlt",
                "url": args.pg_url,
                "dataset": dataset,
                "work_dir": str(work),
                "paths": [str(path)],
                "fresh": [fresh],
            }
            measured[key].append(one_run(run_task(task)))
            settle_peer(args.pg_url, dataset)
    finally:
        if not args.keep:
            peers.drop_dataset(args.pg_url, dataset, work)


def settle_peer(pg_url: str, dataset: str) -> None:
    """``settle`` for dlt's table: statistics fresh, dirty pages written."""
    engine = sa.create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'VACUUM ANALYZE "{dataset}"."{peers.TABLE}"')
            conn.exec_driver_sql("CHECKPOINT")
    finally:
        engine.dispose()


def measure_sqlite_peer(
    files: DataFiles, args: argparse.Namespace, r: int, measured: dict[str, Any]
) -> None:
    """(h) sqlite-utils on the same files (``benchmarks.peers``), a SQLite file of its own:
    the fresh file (``insert_all``, primary key), then the update file (``upsert_all``),
    each in a new process. No settling: sqlite-utils leaves SQLite's rollback journal on,
    so every commit is in the file already (nothing to checkpoint)."""
    args.work_dir.mkdir(parents=True, exist_ok=True)
    db_path = peers.new_sqlite_file(args.work_dir.resolve())  # the worker runs in ROOT
    try:
        for key, path, fresh in (("h_fresh", files.fresh, True), ("h_update", files.update, False)):
            how = "insert_all" if fresh else "upsert_all"
            log(f"sqlite (h) sqlite-utils {how}, run {r + 1}/{args.repeat}")
            task = {
                "task": "sqlite_utils",
                "db_path": str(db_path),
                "paths": [str(path)],
                "fresh": [fresh],
            }
            measured[key].append(one_run(run_task(task)))
    finally:
        if not args.keep:
            peers.drop_sqlite_file(db_path)


def measure_bulk(
    kind: str, files: DataFiles, args: argparse.Namespace, r: int, measured: dict[str, Any]
) -> None:
    """(f) on a fresh database with the references: a server answering bulk requests."""
    tenant = bulk_latency.own_tenant()
    db = prepared(kind, "bulk", files, args, tenant)
    measured.setdefault("version", server_version(db))
    log(f"{kind} (f) bulk requests to loadbay serve, run {r + 1}/{args.repeat}")
    try:
        found = bulk_latency.measure(
            db,
            tenant,
            args.bulk_requests,
            args.bulk_warmup,
            progress=lambda m: log(f"{kind} (f) {m}"),
        )
        measured["f"].append(found)
    finally:
        if not args.keep:
            drop_database(db)


def measures(
    part: str, database: str, kind: str, args: argparse.Namespace, missing: Callable[[], str | None]
) -> bool:
    """Whether peer ``part`` runs here: on its ``database``, asked for, and installed
    (``missing()`` is None; else it says why, and the part is skipped)."""
    if part not in args.parts or kind != database:
        return False
    if why := missing():
        log(f"({part}) skipped: {why}")
        return False
    return True


def measure_database(kind: str, files: DataFiles, args: argparse.Namespace) -> dict[str, Any]:
    measured: dict[str, Any] = {
        "b": [],
        "c": [],
        "d_fresh": [],
        "d_update": [],
        "f": [],
        "g_fresh": [],
        "g_update": [],
        "h_fresh": [],
        "h_update": [],
    }
    peer_measures = [  # (g), (h): the peers that run on this database
        measure
        for measure, wanted in (
            (measure_peer, measures("g", "postgres", kind, args, peers.available)),
            (
                measure_sqlite_peer,
                measures("h", "sqlite", kind, args, peers.sqlite_utils_available),
            ),
        )
        if wanted
    ]
    ours: Database | None = None
    raw: Database | None = None
    for r in range(args.repeat):  # loadbay and raw in turn, so drift hits both alike
        if {"b", "c", "e"} & set(args.parts):
            if ours is not None and not args.keep:
                drop_database(ours)
            ours = measure_loadbay(kind, files, args, r, measured)
        if "d" in args.parts:
            if raw is not None and not args.keep:
                drop_database(raw)
            raw = measure_raw(kind, files, args, r, measured)
        for measure in peer_measures:
            measure(files, args, r, measured)
        if "f" in args.parts:
            measure_bulk(kind, files, args, r, measured)
    sequence = [files.variant, files.update, files.variant, files.update, files.variant]
    if "e" in args.parts and ours is not None:
        log(f"{kind} (e) five upserts in one process: {', '.join(p.name for p in sequence)}")
        measured["e"] = run_task(loadbay_task(ours, sequence, args.experiment))
    if "e" in args.parts and raw is not None:
        log(f"{kind} (e) control: the same five upserts by the raw bulk path, in one process")
        measured["e_raw"] = run_task(raw_task(raw, sequence))
    for leftover in (ours, raw):
        if leftover is not None and not args.keep:
            drop_database(leftover)
    return measured


def memory_check(kinds: list[str], args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    sizes = [int(s) for s in args.memory_sizes.split(",") if s.strip()]
    points: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for size in sizes:
        log(f"memory check: files of {size:,} rows")
        files = generate(size, args.data_dir)
        for kind in kinds:
            db = prepared(kind, f"memory{size}", files, args)
            log(f"memory check: {kind} (b) at {size:,} rows")
            fig = one_run(run_task(loadbay_task(db, [files.fresh], args.experiment)))
            points[kind].append({key: fig[key] for key in ("rows", "seconds", "peak_rss_mib")})
            if not args.keep:
                drop_database(db)
    return points


def git(*words: str) -> str:
    done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def source_state() -> dict[str, Any]:
    """Which engine is measured: a snapshot of a commit, or the working tree (its commit
    and the files of src/ changed since)."""
    snapshot = os.environ.get(SOURCE_ENV)
    where = str(Path(loadbay.__file__).parent)
    if snapshot:
        return {"commit": snapshot, "snapshot": where, "src_changed": []}
    changed = git("status", "--porcelain", "--", "src").splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "src_changed": changed}


def run_from_snapshot(rev: str, argv: Sequence[str]) -> None:
    """Export ``rev``'s src/ and start this command again on it (never returns)."""
    commit = git("rev-parse", "--short", rev)
    if not commit:
        raise SystemExit(f"--source: {rev!r} is not a git revision here")
    target = Path(tempfile.gettempdir()) / f"loadbay-bench-src-{commit}"  # outside the tree
    if not (target / "src" / "loadbay").is_dir():
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "src"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    env = {**os.environ, "PYTHONPATH": str(target / "src"), SOURCE_ENV: commit}
    log(f"measuring the engine of {commit} (snapshot in {target})")
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks.run", *argv], env)


def meta(args: argparse.Namespace, files: DataFiles, argv: Sequence[str] | None) -> dict[str, Any]:
    return {
        "source": source_state(),
        "rows": args.rows,
        "repeat": args.repeat,
        "experiments": args.experiment,
        "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "sqlite_library": sqlite3.sqlite_version,
        "files": {
            "fresh": files.fresh.name,
            "update": files.update.name,
            "variant": files.variant.name,
            "manifest": vars(files.manifest),
        },
        "e_sequence": "variant, update, variant, update, variant over the state after (c)",
        "f_requests": f"{args.bulk_warmup} untimed, then {args.bulk_requests} timed upserts of "
        f"{bulk_latency.SIZE} projects each to {bulk_latency.ENDPOINT}, one after the other, "
        "by httpx over loopback to `loadbay serve` (embedded workers, rate limit off); "
        "pairs of new projects, then the same ones with ~30 % changed",
        "raw_path": "references resolved to ids and rows shaped before the timing; PostgreSQL "
        "COPY into a temp table + INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE IS DISTINCT "
        "FROM; SQLite executemany of the same upsert (tuples from iter_rows, timed), one "
        "transaction",
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.source and not os.environ.get(SOURCE_ENV):
        run_from_snapshot(args.source, list(sys.argv[1:] if argv is None else argv))
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and (problem := postgres_problem(args.pg_url)):
        print(problem, file=sys.stderr)
        return 1
    log(f"generating {args.rows:,} projects into {args.data_dir}")
    files = generate(args.rows, args.data_dir)
    measured: dict[str, Any] = {"meta": meta(args, files, argv), "databases": {}}
    if "a" in args.parts:
        measured["pipeline"] = measure_pipeline(files, args.repeat)
    for kind in kinds:
        measured["databases"][kind] = measure_database(kind, files, args)
    if args.memory_check:
        measured["memory_check"] = memory_check(kinds, args)
    measured["meta"]["source_at_end"] = source_state()
    summary = report.summarise(measured)
    print(report.render(summary))
    report.write_json(summary, args.out)
    log(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
