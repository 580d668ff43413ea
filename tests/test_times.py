"""Times in one place (issue 15): naive UTC in the database, ISO 8601 with Z when shown;
the store, the views, the remote CLI and the renderer all go through loadbay.times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from loadbay.client_models import _time as parsed
from loadbay.service.views import iso
from loadbay.store.dialect import Postgres
from loadbay.times import iso_z, utc_naive, utc_now

PARIS = timezone(timedelta(hours=2))


def test_a_zoned_time_is_converted_and_a_naive_one_is_utc_already() -> None:
    naive = datetime(2024, 1, 15, 9, 30, 0, 123456)
    assert utc_naive(naive) is naive
    assert utc_naive(datetime(2024, 1, 15, 11, 30, 0, 123456, tzinfo=PARIS)) == naive
    assert utc_naive(naive.replace(tzinfo=UTC)) == naive
    assert iso_z(naive) == "2024-01-15T09:30:00.123456Z"
    assert utc_now().tzinfo is None
    assert abs(utc_now() - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)


def test_every_place_shows_and_keeps_a_time_alike() -> None:
    zoned = "2024-01-15T11:30:00+02:00"  # was shown as 11:30Z by the views (zone dropped)
    assert iso(zoned) == iso("2024-01-15T09:30:00") == "2024-01-15T09:30:00Z"
    shown = datetime(2024, 1, 15, 9, 30)  # as the CLI prints a time of the client's models
    assert utc_naive(parsed("2024-01-15T09:30:00Z")) == utc_naive(parsed(zoned)) == shown
    assert utc_naive(None) is None
    assert Postgres().stamp(datetime(2024, 1, 15, 11, 30, tzinfo=PARIS)) == datetime(
        2024, 1, 15, 9, 30
    )
