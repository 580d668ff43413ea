"""An upload: a file kept as it came, with its hash and the format found when it came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Upload:
    """One stored file of a tenant (``upl_…``), immutable once made.

    ``format`` is the file's format as detected when it was received (None for an empty
    file): an import of the upload reads it as that, without detecting it again. ``path``
    is where storage keeps it; the API never shows it (``views.upload_view``).
    """

    id: str
    tenant_id: str
    filename: str
    size: int
    sha256: str
    format: str | None
    path: str
    created_at: datetime
