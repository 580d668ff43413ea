"""Named queries on uploads; every one is scoped to a tenant."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.domain.uploads import Upload
from loadbay.store import system

#: built once: the values are the parameters
_INSERT_UPLOAD = sa.insert(system.uploads)


def insert_upload(conn: Connection, upload: Upload) -> None:
    conn.execute(_INSERT_UPLOAD, system.known_values(system.uploads, dataclasses.asdict(upload)))


def get_upload(conn: Connection, tenant: str, upload_id: str) -> Upload:
    return upload_of(system.tenant_row(conn, system.uploads, tenant, upload_id, "upload"))


def upload_of(row: Mapping[str, Any]) -> Upload:
    """The upload a row of ``loadbay_uploads`` holds."""
    return system.record_of(Upload, row)
