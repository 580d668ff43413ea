"""JSON documents and inline JSON records, in three shapes.

1. an array of objects: ``[{...}, {...}]``;
2. an object of objects keyed by client reference: ``{"1": {...}, "2": {...}}``, the
   key goes to the ``REF`` column;
3. an object of arrays keyed by table: ``{"companies": [...], "people": [...]}``, one
   or more batches per table with ``Batch.table`` set and rows numbered from 1 per
   table.

Shapes 2 and 3 are told apart by the first value (object or array). Files are
streamed with ijson, so none of the shapes needs the whole file in memory; its bytes
pass a ``JsonGuard`` first, so a value nested deeper than ``limits.json_depth``, a
string longer than ``limits.field_bytes`` or a record longer than
``limits.line_bytes`` stops the read (LimitExceeded) before it is built. An
element that is not an object is an ``invalid_record`` row error. An empty array or
object gives one empty batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import ijson

from loadbay.errors import InvalidInput, UnreadableFile
from loadbay.pipeline.read.base import Batch, ReadOptions
from loadbay.pipeline.read.limits import JsonGuard, Limits
from loadbay.pipeline.read.records import RecordBatcher
from loadbay.pipeline.read.source import open_utf8, stream_warnings

_SHAPES = (
    "expected an array of records, an object of records keyed by reference, "
    "or an object of arrays of records keyed by table"
)
_STARTS = ("start_map", "start_array")
_SHAPE_BUFFER = 1024


def read_json(path: Path, options: ReadOptions) -> Iterator[Batch]:
    size, limits, source = options.batch_size, options.limits, path.name
    try:
        with open_utf8(path, options.encoding, limits.expanded_bytes) as raw:
            shape = _shape(path.name, raw)
        with open_utf8(path, options.encoding, limits.expanded_bytes, options.count) as raw:
            stream = JsonGuard(raw, limits, source, record_depth=3 if shape == "tables" else 2)
            said = partial(stream_warnings, raw)  # (a file of one table: its last batch)
            if shape == "array":
                items = ijson.items(stream, "item", use_float=False)
                yield from array_batches(items, size, limits=limits, source=source, said=said)
            elif shape == "refs":
                pairs = ijson.kvitems(stream, "", use_float=False)
                yield from ref_batches(pairs, size, limits=limits, source=source, said=said)
            elif shape == "tables":
                yield from table_batches(_tables(source, stream), size, limits, source)
            else:
                yield from RecordBatcher(size).finish()
    except ijson.JSONError as exc:
        raise UnreadableFile(f"{path.name}: not valid JSON: {exc}", file=path.name) from exc


def read_records(
    records: list[Any] | dict[str, Any], table: str | None = None, batch_size: int = 100_000
) -> Iterator[Batch]:
    """Inline records from an API call, in the same three shapes as a JSON file."""
    if isinstance(records, list):
        yield from array_batches(records, batch_size, table)
    elif not isinstance(records, dict):
        raise InvalidInput(f"records: {_SHAPES}")
    elif not records:
        yield from RecordBatcher(batch_size, table).finish()
    elif isinstance(next(iter(records.values())), list):
        yield from table_batches(_inline_tables(records), batch_size)
    elif isinstance(next(iter(records.values())), dict):
        pairs = ((str(k), v) for k, v in records.items())
        yield from ref_batches(pairs, batch_size, table)
    else:
        raise InvalidInput(f"records: {_SHAPES}")


def array_batches(
    items: Iterable[object],
    batch_size: int,
    table: str | None = None,
    limits: Limits = Limits(),
    source: str = "records",
    said: Callable[[], list[str]] = list,
) -> Iterator[Batch]:
    """``said``: the warnings known at the end (the stream's), for the last batch."""
    batcher = RecordBatcher(batch_size, table, limits=limits, source=source)
    for row, item in enumerate(items, start=1):
        batch = batcher.add(row, item)
        if batch is not None:
            yield batch
    yield from batcher.finish(said())


def ref_batches(
    pairs: Iterable[tuple[str, object]],
    batch_size: int,
    table: str | None = None,
    limits: Limits = Limits(),
    source: str = "records",
    said: Callable[[], list[str]] = list,
) -> Iterator[Batch]:
    batcher = RecordBatcher(batch_size, table, refs=True, limits=limits, source=source)
    for row, (ref, item) in enumerate(pairs, start=1):
        batch = batcher.add(row, item, ref=ref)
        if batch is not None:
            yield batch
    yield from batcher.finish(said())


def table_batches(
    tables: Iterable[tuple[str, Iterable[object]]],
    size: int,
    limits: Limits = Limits(),
    source: str = "records",
) -> Iterator[Batch]:
    for name, items in tables:
        yield from array_batches(items, size, name, limits, source)


def _inline_tables(records: dict[str, Any]) -> Iterator[tuple[str, Iterable[object]]]:
    for name, items in records.items():
        if not isinstance(items, list):
            raise InvalidInput(f"records: the value of {name!r} is not an array; {_SHAPES}")
        yield str(name), items


def _shape(source: str, stream: Any) -> str:
    """``array``, ``refs``, ``tables`` or ``empty``, from the first events (read from a
    small buffer: ijson parses all of a buffer before it gives the first event, so the
    default 64 KiB would cost a bulk request of 100 records as much as its whole read)."""
    events = ijson.basic_parse(stream, use_float=False, buf_size=_SHAPE_BUFFER)
    first = next(events, None)
    if first is None:
        raise UnreadableFile(f"{source}: the file is empty", file=source)
    if first[0] == "start_array":
        return "array"
    if first[0] == "start_map":
        key = next(events)
        if key[0] == "end_map":
            return "empty"
        value = next(events)
        if value[0] == "start_map":
            return "refs"
        if value[0] == "start_array":
            return "tables"
    raise UnreadableFile(f"{source}: {_SHAPES}", file=source)


def _tables(source: str, stream: Any) -> Iterator[tuple[str, Iterator[object]]]:
    """(table, its records) from a stream; each table's records are read on demand."""
    events = ijson.basic_parse(stream, use_float=False)
    next(events)  # the top-level start_map
    for event, value in events:
        if event == "end_map":
            return
        if event != "map_key":
            continue
        kind, _ = next(events)
        if kind != "start_array":
            raise UnreadableFile(
                f"{source}: the value of {value!r} is not an array; {_SHAPES}", file=source
            )
        yield value, _elements(events)


def _elements(events: Iterator[tuple[str, Any]]) -> Iterator[object]:
    """The elements of an array whose start_array was just read."""
    for event, value in events:
        if event == "end_array":
            return
        yield _build(event, value, events) if event in _STARTS else value


def _build(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> object:
    """One object or array, from its start event on."""
    if event == "start_array":
        return list(_elements(events))
    obj: dict[str, object] = {}
    key = ""
    for ev, val in events:
        if ev == "map_key":
            key = val
        elif ev == "end_map":
            return obj
        else:
            obj[key] = _build(ev, val, events) if ev in _STARTS else val
    return obj
