"""Names that belong to the user: a table whose columns are named as every column loadbay
uses for itself (in its data tables, change logs, results, staging and plan tables) is
created, imported into, updated, reverted and exported like any other."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from loadbay.config import Settings
from loadbay.errors import InvalidSchema
from loadbay.pipeline.frames import Mode
from loadbay.schema import parse_tables
from loadbay.service import tables as table_service
from loadbay.service.context import Context, open_context
from loadbay.service.revert import revert_import
from tests.service.helpers import by_key, run, write

#: every name loadbay used or uses for its own columns: the data tables' and change logs'
#: (before they took the prefix), results', errors', the stage's and the plan's (without
#: their leading _), the plan's prefixes, and its bind parameters
NAMES_SCHEMA = """
tables:
  - name: things
    key: [id]
    columns:
      - {name: id, type: integer, required: true}
      - {name: tenant_id}
      - {name: created_at, type: datetime}
      - {name: updated_at, type: date}
      - {name: import_id}
      - {name: action, unique: true}
      - {name: row, type: integer}
      - {name: src, type: integer}
      - {name: ref, references: companies.name}
      - {name: key}
      - {name: seq}
      - {name: outcome, type: enum, values: [won, lost]}
      - {name: record_id, type: integer}
      - {name: superseded_by}
      - {name: diff}
      - {name: table_name}
      - {name: column}
      - {name: code}
      - {name: message}
      - {name: value, type: decimal, precision: 10, scale: 2}
      - {name: error}
      - {name: target}
      - {name: changed, type: boolean}
      - {name: failed, type: boolean}
      - {name: state}
      - {name: tenant}
      - {name: stamp}
      - {name: e_0}
      - {name: o_id}
      - {name: n_id}
      - {name: f_id}
      - {name: r_id}
"""

FIRST = [
    {"id": "1", "tenant_id": "their-tenant", "created_at": "2024-01-02T03:04:05",
     "updated_at": "2024-02-03", "import_id": "imp_theirs", "action": "create", "row": "7",
     "src": "8", "ref": "Acme", "key": "k1", "seq": "s", "outcome": "won", "record_id": "99",
     "superseded_by": "x", "diff": "d", "table_name": "t", "column": "c", "code": "C",
     "message": "m", "value": "1.50", "error": "e", "target": "tg", "changed": "true",
     "failed": "false", "state": "st", "tenant": "tn", "stamp": "sp", "e_0": "e0",
     "o_id": "o", "n_id": "n", "f_id": "f", "r_id": "r"},
    {"id": "2", "tenant_id": "other", "action": "delete", "ref": "Globex", "value": "2.00",
     "outcome": "lost"},
]  # fmt: skip
#: an update of row 1 (its user columns named as loadbay's change-log columns) and a new row
SECOND = [
    {"id": "1", "action": "update", "import_id": "imp_changed", "updated_at": "2025-05-05",
     "tenant_id": "moved", "ref": "Globex", "value": "9.99"},
    {"id": "3", "action": "insert", "created_at": "2026-06-06T06:06:06", "ref": "Acme"},
]  # fmt: skip


def csv_text(rows: list[dict[str, str]]) -> str:
    header = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def names_ctx(settings: Settings, tmp_path: Path) -> Any:
    schema = write(tmp_path, "names.yaml", NAMES_SCHEMA)
    context = open_context(settings, schema)
    yield context
    context.close()


def _user_view(ctx: Context) -> dict[Any, dict[str, Any]]:
    """The rows of ``things`` by the user's ``id``, without loadbay's record id."""
    return {
        k: {n: v for n, v in r.items() if n != "loadbay_id"}
        for k, r in by_key(ctx, "things", "id").items()
    }


def test_every_internal_name_is_a_users_column(names_ctx: Context, tmp_path: Path) -> None:
    ctx = names_ctx
    run(ctx, write(tmp_path, "c.csv", "name\nAcme\nGlobex\n"), table="companies")
    created = run(ctx, write(tmp_path, "a.csv", csv_text(FIRST)), table="things", mode=Mode.CREATE)
    assert created.counts.created == 2, created
    stored = by_key(ctx, "things", "id")
    one = stored[1]
    assert one["tenant_id"] == "their-tenant" and one["import_id"] == "imp_theirs"
    assert one["created_at"] == "2024-01-02T03:04:05Z" and one["updated_at"] == "2024-02-03"
    assert (one["action"], one["row"], one["ref"], one["value"]) == ("create", 7, "Acme", "1.50")
    assert isinstance(one["loadbay_id"], int)  # loadbay's record id, beside the user's id
    before = _user_view(ctx)

    change = run(ctx, write(tmp_path, "b.csv", csv_text(SECOND)), table="things")
    assert (change.counts.created, change.counts.updated) == (1, 1), change
    after = by_key(ctx, "things", "id")
    assert (after[1]["action"], after[1]["tenant_id"], after[1]["ref"]) == (
        "update",
        "moved",
        "Globex",
    )
    assert after[1]["row"] == 7  # not in the file: kept
    assert after[3]["created_at"] == "2026-06-06T06:06:06Z"

    reverted = revert_import(ctx, change.id)
    assert reverted["reverted"] == {"deleted": 1, "restored": 1, "reinserted": 0}
    assert _user_view(ctx) == before

    out = io.StringIO()
    assert table_service.export_table(ctx, "things", out, "csv") == 2
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(exported[0]) == [c["name"] for c in _columns()]  # the user's names, no more
    assert exported[0]["id"] == "1" and exported[0]["action"] == "create"
    again = run(ctx, write(tmp_path, "e.csv", out.getvalue()), table="things")
    assert again.counts.unchanged == 2, again

    deleted = run(ctx, write(tmp_path, "d.csv", "id\n2\n"), table="things", mode=Mode.DELETE)
    assert deleted.counts.deleted == 1
    revert_import(ctx, deleted.id)  # the change log's before-image, put back
    assert _user_view(ctx) == before


def _columns() -> list[dict[str, Any]]:
    import yaml

    return list(yaml.safe_load(NAMES_SCHEMA)["tables"][0]["columns"])


@pytest.mark.parametrize("name", ["loadbay_id", "loadbay_action", "loadbay_"])
def test_a_name_with_loadbays_prefix_is_refused_naming_it(name: str) -> None:
    doc = {"tables": [{"name": "t", "columns": [{"name": "a"}, {"name": name}]}]}
    with pytest.raises(InvalidSchema, match=f"column name '{name}' is not valid: the prefix"):
        parse_tables(doc)
