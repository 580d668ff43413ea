"""Staging notes whether a key repeats, across batches, and a resumed import remembers it."""

from __future__ import annotations

import polars as pl

from loadbay.pipeline.frames import Mode
from loadbay.pipeline.map import ColumnMap
from loadbay.schema import load_catalog
from loadbay.service.ingest import Part
from loadbay.service.repeats import RepeatedKeys


def test_a_key_repeated_in_a_later_batch_is_found() -> None:
    keys = RepeatedKeys(("a", "b"))
    keys.add(pl.DataFrame({"a": ["x", "x"], "b": [1, 2]}))
    keys.add(pl.DataFrame({"a": ["y"], "b": [1]}))
    keys.add(pl.DataFrame({"a": ["x"], "b": [2]}))
    assert keys.found()


def test_keys_differing_in_one_column_are_not_repeats() -> None:
    keys = RepeatedKeys(("a", "b"))
    keys.add(pl.DataFrame({"a": ["x", "x"], "b": [1, 2]}))
    keys.add(pl.DataFrame({"a": ["y", None], "b": [1, 2]}))
    assert not keys.found()


def test_a_repeat_within_one_batch_is_found() -> None:
    keys = RepeatedKeys(("a",))
    keys.add(pl.DataFrame({"a": ["x", "y", "x"]}))
    assert keys.found()


def test_without_key_columns_nothing_repeats() -> None:
    keys = RepeatedKeys(())
    keys.add(pl.DataFrame({"a": ["x", "x"]}))
    assert not keys.found()


def test_a_checkpointed_part_keeps_whether_keys_repeat() -> None:
    catalog = load_catalog(None)
    table = catalog.get("companies")
    cmap = ColumnMap("companies", {"name": "name"}, {}, ())
    for repeats in (True, False):
        part = Part(0, 0, "c.csv", table, Mode.UPSERT, ("name",), cmap, "s", "p")
        part.duplicates = repeats
        assert Part.from_json(part.to_json(), catalog).duplicates is repeats
    old = Part(0, 0, "c.csv", table, Mode.UPSERT, ("name",), cmap, "s", "p").to_json()
    del old["duplicates"]  # a checkpoint written before this was kept: dedupe, to be safe
    assert Part.from_json(old, catalog).duplicates is True
