"""JsonGuard follows nesting, strings and records exactly, wherever its blocks are cut."""

from __future__ import annotations

import io
import json

import pytest

from loadbay.errors import LimitExceeded
from loadbay.pipeline.read.limits import JsonGuard, Limits

TRICKY = json.dumps(
    [
        {"a": [[[1]]], "s": '[[[[{{{{ "quoted" \\ back\\slash \\" ]]]]}}}}'},
        {"b": {"c": {"d": []}}, "t": "\\\\\\\\", "u": "é[\u2028]"},
        {"e": "", "f": "\\", "g": '"', "h": [{}, [], {"i": [[]]}]},
    ]
    * 20
).encode()


def scan(data: bytes, block: int, **limits: int) -> None:
    guard = JsonGuard(io.BytesIO(data), Limits(**limits), "t.json", record_depth=2)
    while guard.read(block):
        pass


@pytest.mark.parametrize("block", [1, 2, 3, 5, 7, 64, 1000, 1 << 20])
def test_no_false_alarm_wherever_the_blocks_are_cut(block: int) -> None:
    scan(TRICKY, block, json_depth=6)  # the deepest: [ { "h": [ { "i": [ [ (6)


@pytest.mark.parametrize("block", [1, 3, 7, 64, 1 << 20])
def test_one_level_more_is_found_wherever_the_blocks_are_cut(block: int) -> None:
    with pytest.raises(LimitExceeded, match="deeper than 5 levels"):
        scan(TRICKY, block, json_depth=5)


@pytest.mark.parametrize("block", [1, 7, 64])
def test_strings_and_records_are_measured_across_blocks(block: int) -> None:
    long_string = json.dumps([{"a": "x" * 300}]).encode()
    scan(long_string, block, field_bytes=400)
    with pytest.raises(LimitExceeded, match="a string is longer than 200 bytes"):
        scan(long_string, block, field_bytes=200)
    records = json.dumps([{"a": "x" * 50}] * 50).encode()
    scan(records, block, line_bytes=200)  # many small records: each one is small
    with pytest.raises(LimitExceeded, match="a record is longer than 200 bytes"):
        scan(json.dumps([{"a": ["x" * 50] * 5}]).encode(), block, line_bytes=200)
