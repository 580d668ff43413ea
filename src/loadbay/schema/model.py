"""What a table is: columns with types and rules, a key, references."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from loadbay.errors import InvalidOption, InvalidSchema, UnknownTable

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: the prefix of loadbay's own names (its tables, and its columns in the data tables:
#: store/columns.py); every other valid identifier is the user's
RESERVED_PREFIX = "loadbay_"
#: column names a table may not use beyond the prefix: none since loadbay's columns took
#: it (``id``, ``created_at``… are the user's); kept for the table inference's naming
RESERVED: frozenset[str] = frozenset()
#: table-name prefixes the databases keep for their own catalogs (sqlite_master, pg_class…):
#: refused on both, so that a table never names (or is hidden by) one of theirs
DATABASE_PREFIXES = ("sqlite_", "pg_")
#: the most columns of a table: PostgreSQL holds 1,600 in a table (SQLite 2,000), and the
#: data and staging tables add loadbay's own
MAX_TABLE_COLUMNS = 1500


def check_identifier(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a safe SQL identifier, else raise InvalidSchema."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise InvalidSchema(
            f"{what} {name!r} is not valid: use lowercase letters, digits and _, "
            "starting with a letter, at most 63 characters"
        )
    if name.startswith(RESERVED_PREFIX):
        raise InvalidSchema(
            f"{what} {name!r} is not valid: the prefix {RESERVED_PREFIX} is reserved"
        )
    return name


#: the words of a boolean cell (in any case), in pairs: true/false, yes/no, 1/0, y/n, t/f;
#: validation, the records filters and the SQLite literals all read these
TRUE_WORDS = ("true", "yes", "1", "y", "t")
FALSE_WORDS = ("false", "no", "0", "n", "f")
BOOLEAN_WORDS = {word: True for word in TRUE_WORDS} | {word: False for word in FALSE_WORDS}


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    EMAIL = "email"
    CURRENCY = "currency"


@dataclass(frozen=True)
class Reference:
    """A column that points at a row of ``table`` by that table's natural key column."""

    table: str
    column: str


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    unique: bool = False
    default: str | None = None
    enum: tuple[str, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = None
    precision: int = 18
    scale: int = 2
    references: Reference | None = None
    description: str = ""
    #: date and datetime columns: a strftime format (``%d/%m/%Y``) their values may be in,
    #: read after the built-in forms (and before an import's own ``date_formats``)
    format: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.name, "column name")
        if self.format is not None and self.type not in (ColumnType.DATE, ColumnType.DATETIME):
            raise InvalidSchema(f"column {self.name!r}: only a date or datetime has a format")
        if self.type is ColumnType.ENUM and not self.enum:
            raise InvalidSchema(f"column {self.name!r}: an enum needs its values")
        if self.type is ColumnType.DECIMAL and not (0 <= self.scale <= self.precision <= 38):
            raise InvalidSchema(
                f"column {self.name!r}: decimal needs 0 <= scale <= precision <= 38"
            )
        if self.default is not None and not _holds(self, self.default):
            raise InvalidSchema(
                f"column {self.name!r}: default {self.default!r} is not a {self.type.value}"
                f"{'' if self.type is ColumnType.ENUM else ' value'} (written as the database "
                "takes it: 42, 12.50, true, 2024-01-31, 2024-01-31T09:30:00)"
            )


def _holds(column: Column, value: str) -> bool:
    """Whether the database takes ``value`` as a literal of ``column``'s type (a default
    is written into the SQL as it is, not read as a file's cell)."""
    try:
        if column.type is ColumnType.INTEGER:
            return -(2**63) <= int(value) < 2**63
        if column.type is ColumnType.DECIMAL:
            return Decimal(value).is_finite()
        if column.type is ColumnType.BOOLEAN:
            return value.strip().lower() in BOOLEAN_WORDS
        if column.type is ColumnType.DATE:
            date.fromisoformat(value)
        if column.type is ColumnType.DATETIME:
            datetime.fromisoformat(value)
        if column.type is ColumnType.ENUM:
            return value in column.enum
    except (ValueError, ArithmeticError):
        return False
    return True


@dataclass(frozen=True)
class Check:
    """A rule between two columns of one row: ``left op right`` (only ``>=`` for now)."""

    left: str
    op: str
    right: str
    message: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    description: str = ""
    _by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_identifier(self.name, "table name")
        if self.name.startswith(DATABASE_PREFIXES):
            raise InvalidSchema(
                f"table name {self.name!r} is not valid: the prefixes "
                f"{' and '.join(DATABASE_PREFIXES)} are reserved by the databases"
            )
        if len(self.columns) > MAX_TABLE_COLUMNS:
            raise InvalidSchema(
                f"table {self.name!r} has {len(self.columns)} columns: a table has at most "
                f"{MAX_TABLE_COLUMNS:,}"
            )
        by_name: dict[str, Column] = {}
        for col in self.columns:
            if col.name in by_name:
                raise InvalidSchema(f"table {self.name!r}: column {col.name!r} is defined twice")
            by_name[col.name] = col
        object.__setattr__(self, "_by_name", by_name)
        for name in self.key:
            if name not in by_name:
                raise InvalidSchema(f"table {self.name!r}: key column {name!r} is not a column")
        for check in self.checks:
            for name in (check.left, check.right):
                if name not in by_name:
                    raise InvalidSchema(f"table {self.name!r}: check names unknown column {name!r}")
            if check.op != ">=":
                raise InvalidSchema(f"table {self.name!r}: check operator {check.op!r} unsupported")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidSchema(f"table {self.name!r} has no column {name!r}") from None

    def has_column(self, name: str) -> bool:
        return name in self._by_name

    @property
    def references(self) -> list[Column]:
        return [c for c in self.columns if c.references is not None]

    def match_columns(self, key: Iterable[str] | None) -> tuple[str, ...]:
        """The columns rows are matched on: ``key`` if given (a unique column), else the key."""
        cols = tuple(key or ())
        if not cols or cols == self.key:
            return self.key
        if len(cols) == 1 and self.has_column(cols[0]) and self.column(cols[0]).unique:
            return cols
        uniques = [c.name for c in self.columns if c.unique]
        choices = ", ".join([f"the key ({', '.join(self.key) or 'none'})", *uniques])
        raise InvalidOption(
            f"table {self.name!r}: cannot match on {', '.join(cols)!r}; match on {choices}"
        )


class Catalog:
    """The tables known to one loadbay: built-in and custom."""

    def __init__(self, tables: Iterable[Table]) -> None:
        self._tables: dict[str, Table] = {}
        for table in tables:
            self._tables[table.name] = table
        for table in self._tables.values():
            for col in table.references:
                assert col.references is not None
                target = self._tables.get(col.references.table)
                if target is None:
                    raise InvalidSchema(
                        f"table {table.name!r}: column {col.name!r} references unknown table "
                        f"{col.references.table!r}"
                    )
                ref_col = target.column(col.references.column)
                if not (ref_col.unique or target.key == (ref_col.name,)):
                    raise InvalidSchema(
                        f"table {table.name!r}: column {col.name!r} must reference a key or "
                        f"unique column, {target.name}.{ref_col.name} is neither"
                    )

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __iter__(self) -> Iterator[Table]:
        return iter(self._tables.values())

    def names(self) -> list[str]:
        return list(self._tables)

    def get(self, name: str) -> Table:
        try:
            return self._tables[name]
        except KeyError:
            known = ", ".join(sorted(self._tables))
            raise UnknownTable(f"unknown table {name!r} (known tables: {known})") from None

    def dependency_order(self, names: Iterable[str]) -> list[str]:
        """Order ``names`` so that a referenced table comes before the tables referring to it."""
        wanted = list(dict.fromkeys(names))
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in ordered or name not in wanted:
                return
            if name in visiting:
                return  # a cycle: keep the order given
            visiting.add(name)
            for col in self.get(name).references:
                assert col.references is not None
                if col.references.table != name:
                    visit(col.references.table)
            visiting.discard(name)
            ordered.append(name)

        for name in wanted:
            visit(name)
        return ordered
