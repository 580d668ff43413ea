"""Custom tables from a YAML or JSON schema file.

The file holds ``tables``, a list (or a mapping by name) of tables::

    tables:
      - name: measurements
        key: [station, taken_at]          # optional: no key means append only
        columns:
          - {name: station, type: text, required: true}
          - {name: taken_at, type: datetime, required: true}
          - {name: value, type: decimal, precision: 10, scale: 3, min: 0}
          - {name: kind, type: enum, values: [rain, wind]}
          - {name: company, references: companies.name}
          - {name: signed_on, type: date, format: "%d/%m/%Y"}   # besides yyyy-MM-dd

``table_spec`` writes a table back in this form (``loadbay tables infer`` prints it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from loadbay.errors import InvalidSchema
from loadbay.schema.builtin import BUILTIN_TABLES
from loadbay.schema.model import Catalog, Check, Column, ColumnType, Reference, Table

_COLUMN_FIELDS = {
    "name",
    "type",
    "required",
    "unique",
    "default",
    "values",
    "enum",
    "min",
    "max",
    "max_length",
    "precision",
    "scale",
    "references",
    "description",
    "format",
}


def load_catalog(schema_file: str | Path | None) -> Catalog:
    """The built-in tables plus those of ``schema_file`` (if any)."""
    tables = list(BUILTIN_TABLES)
    if schema_file:
        custom = load_tables(Path(schema_file))
        builtin_names = {t.name for t in tables}
        for table in custom:
            if table.name in builtin_names:
                raise InvalidSchema(f"table {table.name!r} is built in and cannot be redefined")
        tables.extend(custom)
    return Catalog(tables)


def load_tables(path: Path) -> list[Table]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidSchema(f"cannot read schema file {str(path)!r}: {exc.strerror}") from exc
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidSchema(f"schema file {str(path)!r} is not valid: {exc}") from exc
    return parse_tables(doc)


def parse_tables(doc: Any) -> list[Table]:
    if not isinstance(doc, Mapping) or "tables" not in doc:
        raise InvalidSchema("a schema file needs a top-level 'tables' entry")
    raw = doc["tables"]
    if isinstance(raw, Mapping):
        raw = [{"name": name, **(spec or {})} for name, spec in raw.items()]
    if not isinstance(raw, list):
        raise InvalidSchema("'tables' must be a list or a mapping of tables")
    return [_parse_table(item) for item in raw]


def parse_table(spec: Any) -> Table:
    """One table of a schema file (a mapping: name, columns, key…; as ``table_spec`` gives)."""
    return _parse_table(spec)


def table_spec(table: Table) -> dict[str, Any]:
    """``table`` as a schema file writes it (what ``parse_table`` reads back; the fields at
    their default left out)."""
    spec: dict[str, Any] = {"name": table.name}
    if table.description:
        spec["description"] = table.description
    if table.key:
        spec["key"] = list(table.key)
    spec["columns"] = [column_spec(c) for c in table.columns]
    if table.checks:
        spec["checks"] = [
            {
                "left": c.left,
                "op": c.op,
                "right": c.right,
                **({"message": c.message} if c.message else {}),
            }
            for c in table.checks
        ]
    return spec


def column_spec(column: Column) -> dict[str, Any]:
    """One column as a schema file writes it (the fields at their default left out)."""
    spec: dict[str, Any] = {"name": column.name, "type": column.type.value}
    if column.required:
        spec["required"] = True
    if column.unique:
        spec["unique"] = True
    if column.default is not None:
        spec["default"] = column.default
    if column.enum:
        spec["values"] = list(column.enum)
    for name in ("min", "max"):
        bound = getattr(column, name)
        if bound is not None:
            spec[name] = str(bound)
    if column.max_length is not None:
        spec["max_length"] = column.max_length
    if column.type is ColumnType.DECIMAL:
        spec["precision"], spec["scale"] = column.precision, column.scale
    if column.format is not None:
        spec["format"] = column.format
    if column.references is not None:
        spec["references"] = f"{column.references.table}.{column.references.column}"
    if column.description:
        spec["description"] = column.description
    return spec


def _parse_table(spec: Any) -> Table:
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise InvalidSchema("each table needs a name")
    name = spec["name"]
    cols = spec.get("columns")
    if isinstance(cols, Mapping):
        cols = [
            {"name": n, **(c if isinstance(c, Mapping) else {"type": c})} for n, c in cols.items()
        ]
    if not isinstance(cols, list) or not cols:
        raise InvalidSchema(f"table {name!r} needs a list of columns")
    key = spec.get("key") or ()
    if isinstance(key, str):
        key = (key,)
    checks = tuple(
        Check(str(c["left"]), str(c.get("op", ">=")), str(c["right"]), str(c.get("message", "")))
        for c in spec.get("checks", ())
    )
    return Table(
        name=str(name),
        columns=tuple(_parse_column(str(name), c) for c in cols),
        key=tuple(str(k) for k in key),
        checks=checks,
        description=str(spec.get("description", "")),
    )


def _decimal(table: str, col: str, what: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidSchema(
            f"table {table!r}, column {col!r}: {what} {value!r} is not a number"
        ) from None


def _parse_column(table: str, spec: Any) -> Column:
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise InvalidSchema(f"table {table!r}: each column needs a name")
    name = str(spec["name"])
    unknown = set(spec) - _COLUMN_FIELDS
    if unknown:
        raise InvalidSchema(f"table {table!r}, column {name!r}: unknown fields {sorted(unknown)}")
    try:
        ctype = ColumnType(str(spec.get("type", "text")))
    except ValueError:
        allowed = ", ".join(t.value for t in ColumnType)
        raise InvalidSchema(
            f"table {table!r}, column {name!r}: unknown type {spec.get('type')!r} (use {allowed})"
        ) from None
    ref = None
    if spec.get("references"):
        target, _, target_col = str(spec["references"]).partition(".")
        if not target_col:
            raise InvalidSchema(
                f"table {table!r}, column {name!r}: references must be 'table.column'"
            )
        ref = Reference(target, target_col)
    values = spec.get("values", spec.get("enum")) or ()
    default = spec.get("default")
    return Column(
        name=name,
        type=ctype,
        required=bool(spec.get("required", False)),
        unique=bool(spec.get("unique", False)),
        default=None if default is None else str(default),
        enum=tuple(str(v) for v in values),
        min=_decimal(table, name, "min", spec.get("min")),
        max=_decimal(table, name, "max", spec.get("max")),
        max_length=spec.get("max_length"),
        precision=int(spec.get("precision", 18)),
        scale=int(spec.get("scale", 2)),
        references=ref,
        description=str(spec.get("description", "")),
        format=None if spec.get("format") is None else str(spec["format"]),
    )
