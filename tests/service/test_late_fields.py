"""A field that first appears after the first batch of a JSON file is imported, not lost."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loadbay.errors import speak
from loadbay.service.context import Context, open_context
from tests.service.helpers import by_key, run


@contextmanager
def imported(
    ctx: Context, tmp_path: Path, lines: list[dict[str, Any]], batch_size: int
) -> Iterator[tuple[Context, dict[str, Any]]]:
    """Import ``lines`` as JSON Lines into companies, ``batch_size`` records a batch."""
    small = open_context(dataclasses.replace(ctx.settings, batch_size=batch_size))
    try:
        path = tmp_path / "companies.jsonl"
        path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
        yield small, run(small, path, table="companies")
    finally:
        small.close()


def test_a_field_first_seen_in_a_later_batch_is_imported(ctx: Context, tmp_path: Path) -> None:
    lines: list[dict[str, Any]] = [{"name": f"C{i}"} for i in range(5)]
    lines += [{"name": "Late", "due_days": 45, "description": "seen late"}]
    with imported(ctx, tmp_path, lines, batch_size=3) as (small, result):
        assert result.state == "succeeded", result
        assert result.counts.created == 6
        stored = by_key(small, "companies", "name")
    assert stored["Late"]["due_days"] == 45
    assert stored["Late"]["description"] == "seen late"
    assert stored["C0"]["due_days"] is None


def test_a_late_unknown_field_is_reported(ctx: Context, tmp_path: Path) -> None:
    lines = [{"name": "A"}, {"name": "B"}, {"name": "C", "colour": "red"}]
    with imported(ctx, tmp_path, lines, batch_size=2) as (_, result):
        assert result.state == "succeeded", result
        assert any("colour" in w for w in result.warnings), result.warnings


def test_a_late_field_that_would_remap_an_earlier_one_is_refused(
    ctx: Context, tmp_path: Path
) -> None:
    lines = [{"Name": "A"}, {"Name": "B"}, {"Name": "C", "name": "c"}]
    with imported(ctx, tmp_path, lines, batch_size=2) as (_, result):
        assert result.state == "failed"
        assert "'name' first appear after row 2" in result.error, result.error
        assert "(--map)" in speak(result.error, api=False)  # the command line's words
        assert "(mapping)" in speak(result.error, api=True)  # the API's
