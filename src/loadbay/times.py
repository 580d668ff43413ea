"""Times as loadbay keeps them: in UTC without a zone (naive) in the database, and as ISO
8601 with ``Z`` wherever they are shown. A time without a zone is taken as UTC already."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def utc_naive(moment: datetime) -> datetime: ...
@overload
def utc_naive(moment: None) -> None: ...
def utc_naive(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC without its zone, as the database keeps it (None: none)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def utc_now() -> datetime:
    """Now, as the database keeps it."""
    return utc_naive(datetime.now(UTC))


def iso_z(moment: datetime) -> str:
    """``moment`` as shown: ``2024-01-15T09:30:00.123456Z``."""
    return utc_naive(moment).isoformat() + "Z"
