"""JSON Lines: one object per line.

Blank lines are skipped and not counted: ``ROW`` is the position of the record among
the non-blank lines. A line that is not valid JSON, or not an object, is an
``invalid_record`` row error; the other lines are read normally. A line longer than
``limits.line_bytes``, nested deeper than ``limits.json_depth`` or with a string
longer than ``limits.field_bytes`` stops the read (LimitExceeded, with its line):
it is found before it is held whole or parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from loadbay.pipeline.read.base import Batch, ReadOptions
from loadbay.pipeline.read.limits import Limits, check_depth, over
from loadbay.pipeline.read.records import RecordBatcher, invalid
from loadbay.pipeline.read.source import open_utf8, stream_warnings


def read_jsonl(path: Path, options: ReadOptions) -> Iterator[Batch]:
    limits = options.limits
    batcher = RecordBatcher(options.batch_size, limits=limits, source=path.name)
    decoder = json.JSONDecoder(parse_float=Decimal)
    row = number = 0
    longest, deepest = limits.line_bytes, limits.json_depth
    with open_utf8(path, options.encoding, limits.expanded_bytes, options.count) as stream:
        readline = stream.readline
        while line := readline(longest + 1):  # never more than one limit in memory
            number += 1
            if len(line) > longest and line[-1:] != b"\n":
                what = f"line {number} is longer than {longest:,} bytes"
                raise over(path.name, what, "line_bytes", longest)
            if not line.strip():
                continue
            row += 1
            if line.count(b"[") + line.count(b"{") > deepest:  # else it cannot be deeper
                check_depth(line, deepest, path.name, f"line {number}")
            text = line.decode("utf-8")
            try:
                record = decoder.decode(text)
            except ValueError as exc:
                batch = batcher.error(invalid(row, f"not valid JSON: {exc}", text))
            else:
                if len(line) > limits.field_bytes:
                    _check_strings(record, limits, path.name, number)
                batch = batcher.add(row, record, text)
            if batch is not None:
                yield batch
        said = stream_warnings(stream)
    yield from batcher.finish(said)


def _check_strings(record: object, limits: Limits, source: str, line: int) -> None:
    """Raise for a string longer than the limit, in a record of a long line."""
    stack = [record]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and len(value.encode("utf-8")) > limits.field_bytes:
            what = f"line {line} has a value longer than {limits.field_bytes:,} bytes"
            raise over(source, what, "field_bytes", limits.field_bytes)
