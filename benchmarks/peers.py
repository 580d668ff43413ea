"""The peers of issue #20: (g) dlt into PostgreSQL, (h) sqlite-utils into SQLite.

(g) dlt loading the same ``projects`` files into PostgreSQL.

dlt is what a data engineer picks today to load files into PostgreSQL with upserts
(``pip install "dlt[postgres]"``; here the ``bench`` extra: ``pip install -e '.[bench]'``).
It runs the way its documentation recommends for speed: the file read into an Arrow table
(``pyarrow.csv``, budget as decimal(14,2), dates as dates, empty cells as nulls), handed to
``pipeline.run`` with ``loader_file_format="csv"`` (dlt writes the Arrow table as CSV and
PostgreSQL ``COPY``s it in):

- fresh: ``write_disposition="append"`` into a new table with a unique key on
  ``external_id`` (dlt's ``unique`` hint, ``create_indexes=True``: a ``UNIQUE`` column);
- upsert: ``write_disposition="merge"`` with ``primary_key="external_id"`` (dlt's default
  merge strategy for PostgreSQL: the rows go to a staging dataset, then one transaction
  deletes the keys it holds from the table and inserts them).

Timed: reading the file and ``pipeline.run`` (extract, normalise, load), as loadbay's
import is timed from its file to its stored rows; not timed: importing dlt and the checks.
dlt does less than loadbay: no cell is checked against rules, references stay the file's
text (no lookup), no per-row outcome, no change log, no revert. So that the comparison is
honest, every run is checked after the timing: the table holds exactly the file's keys, and
a sample of rows holds the file's values (``check``).

Each dlt run gets a dataset (PostgreSQL schema) of its own and a pipelines folder of its
own; dlt's telemetry is off (no network but the database).

(h) sqlite-utils (``pip install sqlite-utils``, in the ``bench`` extra) loading the same
files into a SQLite file of its own, the way a user of its Python API loads a CSV: the rows
read with Python's ``csv`` module as dicts, typed as a user would (budget ``float``, dates
kept as text, empty cells ``None``), handed as a generator to
``sqlite_utils.Database(path)["projects"]``:

- fresh: ``insert_all(rows, pk="external_id", batch_size=1000)`` (creates the table, its
  columns typed from the first batch, ``external_id`` its primary key);
- upsert: ``upsert_all(rows, pk="external_id", batch_size=1000)``.

The database is opened with SQLite's defaults (sqlite-utils sets none: rollback journal,
``synchronous=FULL``), and sqlite-utils commits each batch of 1,000 rows (its default is
100). Timed: reading the file and the load (``read_seconds``: the part spent in the csv
reader and the typing, rows being read as they are loaded); checked after the timing like
dlt (``check_sqlite``). It does less than loadbay for the same reasons as dlt.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loadbay.store.engine import normalise_url

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # before dlt is imported

KEY = "external_id"
TABLE = "projects"
#: rows of the file whose stored values ``check`` compares (spread over the file)
SAMPLE = 25


#: rows sqlite-utils writes (and commits) at a time
SQLITE_UTILS_BATCH = 1000


def available() -> str | None:
    """None when dlt and pyarrow can be imported, else why not."""
    try:
        import dlt  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as exc:
        return f"dlt is not installed ({exc}); pip install -e '.[bench]'"
    return None


def sqlite_utils_available() -> str | None:
    """None when sqlite-utils can be imported, else why not."""
    try:
        import sqlite_utils  # noqa: F401
    except ImportError as exc:
        return f"sqlite-utils is not installed ({exc}); pip install -e '.[bench]'"
    return None


@dataclass
class PeerRun:
    path: str
    rows: int  # rows of the file
    seconds: float  # read + load (dlt: pipeline.run; sqlite-utils: insert_all/upsert_all)
    read_seconds: float  # of which reading the CSV (dlt: into Arrow; sqlite-utils: dicts)
    stored: int  # rows in the table afterwards
    checked: int  # sampled rows whose stored values equal the file's
    disposition: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def read_arrow(path: Path) -> Any:
    """The CSV as an Arrow table with the projects' types (what dlt is given)."""
    import pyarrow as pa
    from pyarrow import csv

    types = {
        "budget": pa.decimal128(14, 2),
        "start_date": pa.date32(),
        "end_date": pa.date32(),
    }
    convert = csv.ConvertOptions(column_types=types, strings_can_be_null=True)
    return csv.read_csv(path, convert_options=convert)


def dlt_load(pg_url: str, dataset: str, work: Path, path: Path, fresh: bool) -> PeerRun:
    """One dlt run of ``path`` into ``dataset.projects``; checked after the timing."""
    import dlt

    destination = dlt.destinations.postgres(
        credentials=dlt_credentials(pg_url), create_indexes=True
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"loadbay_bench_{dataset}",
        destination=destination,
        dataset_name=dataset,
        pipelines_dir=str(work),
        progress="log" if os.environ.get("LOADBAY_BENCH_DLT_LOG") else None,
    )
    hints: dict[str, Any] = {"columns": {KEY: {"unique": True, "nullable": False}}}
    if fresh:
        hints["write_disposition"] = "append"
    else:
        hints.update(write_disposition="merge", primary_key=KEY)
    started = time.perf_counter()
    table = read_arrow(path)
    read_seconds = time.perf_counter() - started
    pipeline.run(table, table_name=TABLE, loader_file_format="csv", **hints)
    seconds = time.perf_counter() - started
    stored, checked = check(pg_url, dataset, table)
    return PeerRun(
        str(path),
        table.num_rows,
        seconds,
        read_seconds,
        stored,
        checked,
        str(hints["write_disposition"]),
    )


def dlt_credentials(pg_url: str) -> str:
    """The server's URL for dlt, which asks for a password even when the server trusts the
    connection (the tests' server does): an unused one is added there."""
    url = sa.engine.make_url(pg_url)
    if url.password is None and url.username is not None:
        url = url.set(password="unused-under-trust")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


def check(pg_url: str, dataset: str, table: Any) -> tuple[int, int]:
    """The stored rows against the file: the same keys, and the sampled rows' values.

    Raises when they differ: a peer figure that stored something else is no figure."""
    names = [n for n in table.column_names]
    step = max(1, table.num_rows // SAMPLE)
    sample = table.take(list(range(0, table.num_rows, step))[:SAMPLE]).to_pylist()
    engine = sa.create_engine(normalise_url(pg_url))
    schema = '"' + dataset.replace('"', '""') + '"'
    cols = ", ".join(f'"{n}"' for n in names)
    try:
        with engine.connect() as conn:
            count, distinct = conn.execute(
                sa.text(f"SELECT count(*), count(DISTINCT {KEY}) FROM {schema}.{TABLE}")  # noqa: S608
            ).one()
            rows = conn.execute(
                sa.text(f"SELECT {cols} FROM {schema}.{TABLE} WHERE {KEY} = ANY(:keys)"),  # noqa: S608
                {"keys": [r[KEY] for r in sample]},
            ).all()
    finally:
        engine.dispose()
    if count != distinct:
        raise RuntimeError(f"dlt stored {count:,} rows but {distinct:,} keys in {dataset}")
    found = {r[0]: dict(zip(names, r, strict=True)) for r in rows}
    for want in sample:
        got = found.get(want[KEY])
        plain = {k: _plain(v) for k, v in want.items()}
        if got is None or {k: _plain(v) for k, v in got.items()} != plain:
            raise RuntimeError(f"dlt stored {got} for the file's row {plain}")
    return int(count), len(sample)


def drop_dataset(pg_url: str, dataset: str, work: Path) -> None:
    """The dataset and dlt's staging dataset beside it, and the pipelines folder."""
    engine = sa.create_engine(normalise_url(pg_url))
    try:
        with engine.begin() as conn:
            for name in (dataset, f"{dataset}_staging"):
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        engine.dispose()
    shutil.rmtree(work, ignore_errors=True)


def new_dataset() -> str:
    return f"bench_dlt_{uuid.uuid4().hex[:8]}"


# ---- (h) sqlite-utils ------------------------------------------------------------------------


def typed(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a sqlite-utils user types it: empty cells None, budget a float, the
    rest (dates included) text."""
    out: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items()}
    if out["budget"] is not None:
        out["budget"] = float(out["budget"])
    return out


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The file's rows as ``typed`` dicts (for the check; the timed load streams them)."""
    with path.open(newline="", encoding="utf-8") as f:
        return [typed(row) for row in csv.DictReader(f)]


def sqlite_utils_load(db_path: Path, path: Path, fresh: bool) -> PeerRun:
    """One sqlite-utils run of ``path`` into ``projects`` of the SQLite file ``db_path``;
    checked after the timing."""
    import sqlite_utils

    reading = [0.0]
    rows = [0]

    def stream(f: Any) -> Any:
        reader = csv.DictReader(f)
        while True:
            began = time.perf_counter()
            row = next(reader, None)
            if row is None:
                reading[0] += time.perf_counter() - began
                return
            out = typed(row)
            reading[0] += time.perf_counter() - began
            rows[0] += 1
            yield out

    db = sqlite_utils.Database(db_path)
    try:
        table = db.table(TABLE)
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as f:
            if fresh:
                table.insert_all(stream(f), pk=KEY, batch_size=SQLITE_UTILS_BATCH)
            else:
                table.upsert_all(stream(f), pk=KEY, batch_size=SQLITE_UTILS_BATCH)
        seconds = time.perf_counter() - started
    finally:
        db.close()
    stored, checked = check_sqlite(db_path, read_rows(path))
    return PeerRun(
        str(path), rows[0], seconds, reading[0], stored, checked, "insert" if fresh else "upsert"
    )


def check_sqlite(db_path: Path, file_rows: list[dict[str, Any]]) -> tuple[int, int]:
    """``check`` for (h): the stored rows against the file: no key twice, every key of the
    file there, and the sampled rows' values. Raises when they differ."""
    step = max(1, len(file_rows) // SAMPLE)
    sample = file_rows[::step][:SAMPLE]
    names = list(file_rows[0]) if file_rows else [KEY]
    cols = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in sample)
    conn = sqlite3.connect(db_path)
    try:
        count, distinct = conn.execute(
            f"SELECT count(*), count(DISTINCT {KEY}) FROM {TABLE}"  # noqa: S608
        ).fetchone()
        stored_keys = {k for (k,) in conn.execute(f"SELECT {KEY} FROM {TABLE}")}  # noqa: S608
        rows = conn.execute(
            f"SELECT {cols} FROM {TABLE} WHERE {KEY} IN ({marks})",  # noqa: S608
            [r[KEY] for r in sample],
        ).fetchall()
    finally:
        conn.close()
    if count != distinct:
        raise RuntimeError(f"sqlite-utils stored {count:,} rows but {distinct:,} keys")
    missing = {r[KEY] for r in file_rows} - stored_keys
    if missing:
        raise RuntimeError(f"sqlite-utils stored no row for {len(missing):,} keys of the file")
    found = {r[0]: dict(zip(names, r, strict=True)) for r in rows}
    for want in sample:
        got = found.get(want[KEY])
        if got != want:
            raise RuntimeError(f"sqlite-utils stored {got} for the file's row {want}")
    return int(count), len(sample)


def new_sqlite_file(work_dir: Path) -> Path:
    return work_dir / f"bench_sqlite_utils_{uuid.uuid4().hex[:8]}.db"


def drop_sqlite_file(db_path: Path) -> None:
    """The peer's SQLite file and its journal, if any."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
