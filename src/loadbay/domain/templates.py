"""A saved import template: what an import would otherwise resend every time.

``Template`` is built once, from its row, in ``store/templates_sql``; the service passes
it on (``service/templates``, ``service/web_support``) and the adapters render it with
``template_view``, the one JSON form of a template (the API's answer, the command line's
``--json``, the web pages' values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from loadbay.times import iso_z

#: what an import takes from a template (``service/requests.merge_template`` merges them)
TEMPLATE_FIELDS = ("tables", "mode", "error_handling", "key", "mapping", "constants", "options")


@dataclass(frozen=True)
class Template:
    """A tenant's template (``tpl_…``); an import naming it takes its fields as defaults.

    ``mode`` and ``error_handling`` are the choices' values (``upsert``, ``lenient``), or
    None when the template leaves them to the import. Times are naive UTC.
    """

    id: str
    tenant_id: str
    name: str
    tables: tuple[str, ...]
    mode: str | None
    error_handling: str | None
    key: tuple[str, ...]
    mapping: Mapping[str, str]
    constants: Mapping[str, object]
    options: Mapping[str, object]
    notes: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Template:
        """The template of a ``loadbay_templates`` row (its JSON columns decoded)."""
        return cls(
            id=str(row["id"]),
            tenant_id=str(row["tenant_id"]),
            name=str(row["name"]),
            tables=_texts(row["tables"]),
            mode=_text_or_none(row["mode"]),
            error_handling=_text_or_none(row["error_handling"]),
            key=_texts(row["key"]),
            mapping={str(k): str(v) for k, v in _object(row["mapping"]).items()},
            constants=_object(row["constants"]),
            options=_object(row["options"]),
            notes=_text_or_none(row["notes"]),
            created_at=_moment(row["created_at"]),
            updated_at=_moment(row["updated_at"]),
        )

    def row(self) -> dict[str, object]:
        """The ``loadbay_templates`` row of the template."""
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "tables": list(self.tables),
            "mode": self.mode,
            "error_handling": self.error_handling,
            "key": list(self.key),
            "mapping": dict(self.mapping),
            "constants": dict(self.constants),
            "options": dict(self.options),
            "notes": self.notes,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def fields(self) -> dict[str, object]:
        """The fields an import takes from it (``TEMPLATE_FIELDS``), for
        ``requests.merge_template``."""
        row = self.row()
        return {name: row[name] for name in TEMPLATE_FIELDS}

    def fits(self, table: str) -> bool:
        """Whether an import into ``table`` may use it (it names that table, or none)."""
        return not self.tables or self.tables == (table,)


@dataclass(frozen=True)
class TemplatePage:
    """A page of templates by name; ``next_cursor`` (None: the last page) follows it."""

    data: tuple[Template, ...]
    next_cursor: str | None


def template_view(template: Template) -> dict[str, object]:
    """The template as the API answers it (``api.schemas.Template``)."""
    return {
        "id": template.id,
        "name": template.name,
        "tables": list(template.tables),
        "mode": template.mode,
        "error_handling": template.error_handling,
        "key": list(template.key),
        "mapping": dict(template.mapping),
        "constants": dict(template.constants),
        "options": dict(template.options),
        "notes": template.notes,
        "created_at": iso_z(template.created_at),
        "updated_at": iso_z(template.updated_at),
    }


def page_view(page: TemplatePage) -> dict[str, object]:
    """A page of templates as the API answers it (``api.schemas.TemplatePage``)."""
    return {"data": [template_view(t) for t in page.data], "next_cursor": page.next_cursor}


def _texts(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"a list of texts, not {value!r}")
    return tuple(str(v) for v in value)


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _object(value: object) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"a JSON object, not {value!r}")
    return {str(k): v for k, v in value.items()}


def _moment(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
