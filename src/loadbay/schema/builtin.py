"""The tables every loadbay has: companies, people, projects."""

from __future__ import annotations

from decimal import Decimal

from loadbay.schema.model import Check, Column, ColumnType, Reference, Table

COMPANIES = Table(
    name="companies",
    key=("name",),
    columns=(
        Column("external_id", unique=True),
        Column("name", required=True),
        Column("default_currency", ColumnType.CURRENCY),
        Column("description"),
        Column("due_days", ColumnType.INTEGER, min=Decimal(0)),
    ),
)

PEOPLE = Table(
    name="people",
    key=("email",),
    columns=(
        Column("external_id", unique=True),
        Column("first_name", required=True),
        Column("last_name", required=True),
        Column("email", ColumnType.EMAIL, required=True),
        Column("title"),
        Column("company", references=Reference("companies", "name")),
    ),
)

PROJECTS = Table(
    name="projects",
    key=("external_id",),
    columns=(
        Column("external_id", required=True),
        Column("name", required=True),
        Column("customer", references=Reference("companies", "name")),
        Column("contact", references=Reference("people", "email")),
        Column("owner", references=Reference("people", "email")),
        Column(
            "status",
            ColumnType.ENUM,
            enum=("planned", "active", "on_hold", "done", "cancelled"),
            default="planned",
        ),
        Column("budget", ColumnType.DECIMAL, precision=14, scale=2, min=Decimal(0)),
        Column("currency", ColumnType.CURRENCY),
        Column("start_date", ColumnType.DATE),
        Column("end_date", ColumnType.DATE),
        Column("description"),
        Column("notes"),
    ),
    checks=(Check("end_date", ">=", "start_date", "the end date is before the start date"),),
)

BUILTIN_TABLES: tuple[Table, ...] = (COMPANIES, PEOPLE, PROJECTS)
