"""The migration step of imports' kind and actors: the bulk requests recorded before it
become imports of kind ``bulk``, every other one ``file``; nobody is known to have done
anything to them (no actor is made up)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from loadbay.schema import Catalog
from loadbay.schema.builtin import BUILTIN_TABLES
from loadbay.store import migrations, system
from loadbay.store.engine import make_engine
from loadbay.store.migrations import baseline
from tests.store.baseline_db import create_baseline


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


def _old_import(import_id: str, notes: str | None) -> dict[str, object]:
    return {
        "id": import_id,
        "tenant_id": "default",
        "state": "succeeded",
        "tables": ["companies"],
        "mode": "upsert",
        "error_handling": "lenient",
        "dry_run": False,
        "request": {"sources": []},
        "notes": notes,
        "rows_total": 1,
        "rows_processed": 1,
        "created_at": datetime(2026, 12, 1, 9, 30),
    }


def test_old_bulk_requests_become_bulk_and_nobody_is_made_up(engine: Engine) -> None:
    with engine.begin() as conn:
        create_baseline(conn)
        conn.execute(
            sa.insert(baseline.imports),
            [
                _old_import("imp_bulk", "bulk records"),
                _old_import("imp_file", "weekly sync"),
                _old_import("imp_none", None),
            ],
        )
    migrations.upgrade(engine, Catalog(BUILTIN_TABLES))
    i = system.imports
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(i.c.id, i.c.kind, i.c.created_by, i.c.created_by_name).order_by(i.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("imp_bulk", "bulk", None, None),
        ("imp_file", "file", None, None),
        ("imp_none", "file", None, None),
    ]
