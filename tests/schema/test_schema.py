"""The schema model: built-in tables, schema files, identifier rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbay.errors import InvalidSchema, UnknownTable
from loadbay.schema import ColumnType, load_catalog, parse_tables


def test_builtin_tables() -> None:
    catalog = load_catalog(None)
    assert catalog.names() == ["companies", "people", "projects"]
    projects = catalog.get("projects")
    assert projects.key == ("external_id",)
    assert projects.column("status").default == "planned"
    assert projects.column("budget").type is ColumnType.DECIMAL
    assert (projects.column("budget").precision, projects.column("budget").scale) == (14, 2)
    people = catalog.get("people")
    assert people.column("company").references is not None
    assert catalog.dependency_order(["projects", "people", "companies"]) == [
        "companies",
        "people",
        "projects",
    ]


def test_unknown_table_lists_known_ones() -> None:
    with pytest.raises(UnknownTable, match="known tables: companies, people, projects"):
        load_catalog(None).get("nope")


def test_schema_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("""
tables:
  measurements:
    key: [station, taken_at]
    columns:
      station: text
      taken_at: {type: datetime, required: true}
      owner: {references: people.email}
""")
    catalog = load_catalog(path)
    table = catalog.get("measurements")
    assert table.key == ("station", "taken_at")
    assert table.column("owner").references.table == "people"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"tables": [{"name": "Bad-Name", "columns": [{"name": "a"}]}]}, "not valid"),
        (
            {"tables": [{"name": "t", "columns": [{"name": "loadbay_id"}]}]},
            "'loadbay_id'.*reserved",
        ),
        ({"tables": [{"name": "loadbay_x", "columns": [{"name": "a"}]}]}, "reserved"),
        ({"tables": [{"name": "t", "columns": [{"name": "a", "type": "money"}]}]}, "unknown type"),
        ({"tables": [{"name": "t", "key": ["b"], "columns": [{"name": "a"}]}]}, "key column"),
        ({"tables": [{"name": "t", "columns": [{"name": "a", "type": "enum"}]}]}, "values"),
        ({"tables": [{"name": "t", "columns": [{"name": "a", "colour": 1}]}]}, "unknown fields"),
        ({"tables": [{"name": "t", "columns": [{"name": "a; drop table x"}]}]}, "not valid"),
    ],
)
def test_bad_schemas_are_refused(doc: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSchema, match=message):
        parse_tables(doc)


def test_reference_to_unknown_table(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        '{"tables": [{"name": "t", "columns": [{"name": "a", "references": "ghosts.name"}]}]}'
    )
    with pytest.raises(InvalidSchema, match="unknown table 'ghosts'"):
        load_catalog(path)
