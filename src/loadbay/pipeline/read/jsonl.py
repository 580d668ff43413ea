"""JSON Lines: one object per line.

Blank lines are skipped and not counted: ``ROW`` is the position of the record among
the non-blank lines. A line that is not valid JSON, or not an object, is an
``invalid_record`` row error; the other lines are read normally.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from loadbay.pipeline.read.base import Batch, ReadOptions
from loadbay.pipeline.read.records import RecordBatcher, invalid
from loadbay.pipeline.read.source import open_utf8


def read_jsonl(path: Path, options: ReadOptions) -> Iterator[Batch]:
    batcher = RecordBatcher(options.batch_size)
    decoder = json.JSONDecoder(parse_float=Decimal)
    row = 0
    with open_utf8(path, options.encoding) as stream:
        for line in stream:
            if not line.strip():
                continue
            row += 1
            text = line.decode("utf-8")
            try:
                record = decoder.decode(text)
            except ValueError as exc:
                batch = batcher.error(invalid(row, f"not valid JSON: {exc}", text))
            else:
                batch = batcher.add(row, record, text)
            if batch is not None:
                yield batch
    yield from batcher.finish()
