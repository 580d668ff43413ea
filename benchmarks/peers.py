"""The peer (g): dlt loading the same ``projects`` files into PostgreSQL (issue #20).

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
"""

from __future__ import annotations

import os
import shutil
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


def available() -> str | None:
    """None when dlt and pyarrow can be imported, else why not."""
    try:
        import dlt  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as exc:
        return f"dlt is not installed ({exc}); pip install -e '.[bench]'"
    return None


@dataclass
class PeerRun:
    path: str
    rows: int  # rows of the file
    seconds: float  # read + pipeline.run
    read_seconds: float  # of which reading the CSV into Arrow
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
