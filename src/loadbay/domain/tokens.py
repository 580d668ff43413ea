"""An API token as loadbay keeps it: never its secret, which only its hash stands for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Token:
    """A token (``tok_…``) of a tenant, with one scope (``read``, ``write`` or ``admin``).
    ``revoked_at`` is None while it is valid."""

    id: str
    tenant_id: str
    name: str | None
    scope: str
    created_at: datetime
    revoked_at: datetime | None = None
