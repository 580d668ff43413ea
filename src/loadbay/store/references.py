"""Which values of a reference column no row has: the lookup of the references of rows
that failed validation (the plan resolves those of the staged rows, in its own join).

Set-based: one ``IN`` query per chunk of distinct values, against the referenced table and
the stages of the import's rows for that table (rows it is about to create count as
found).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.schema.model import Reference
from loadbay.store.columns import TENANT
from loadbay.store.dialect import q

#: values per ``IN`` list (SQLite allows 32,766 parameters)
_CHUNK = 5_000


def reference_words(ref: Reference) -> tuple[str, str]:
    """The message of an unknown reference, before and after its value (one wording for
    the plan's SQL and this lookup)."""
    return f"no {ref.table} row has {ref.column} '", "'"


def missing_values(
    conn: Connection,
    ref: Reference,
    tenant: str,
    values: Iterable[object],
    stages: Sequence[str] = (),
) -> set[object]:
    """The ``values`` no row of ``ref.table`` (of ``tenant``) has in ``ref.column``, nor
    any of ``stages`` (stage tables of that table holding that column)."""
    wanted = list(dict.fromkeys(v for v in values if v is not None))
    missing: set[object] = set()
    column = q(ref.column)
    sources = [f"SELECT {column} FROM {q(ref.table)} WHERE {TENANT} = :tenant AND {column} IN :v"]
    sources += [f"SELECT {column} FROM {q(s)} WHERE {column} IN :v" for s in stages]
    query = sa.text(" UNION ".join(sources)).bindparams(sa.bindparam("v", expanding=True))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found = {row[0] for row in conn.execute(query, {"tenant": tenant, "v": chunk})}
        missing.update(v for v in chunk if v not in found)
    return missing
