"""What a table is: columns, types, keys, references; the built-in tables; schema files."""

from loadbay.schema.loader import load_catalog, parse_tables
from loadbay.schema.model import Catalog, Check, Column, ColumnType, Reference, Table

__all__ = [
    "Catalog",
    "Check",
    "Column",
    "ColumnType",
    "Reference",
    "Table",
    "load_catalog",
    "parse_tables",
]
