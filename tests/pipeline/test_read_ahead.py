"""Reading ahead: same items, same errors, and nothing left open when the caller stops;
and the CSV chunks it reads: whole records, nothing lost."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadbay.errors import UnreadableFile
from loadbay.pipeline.read import ReadOptions, read_file
from loadbay.pipeline.read.ahead import read_ahead
from loadbay.pipeline.read.csv_chunks import count_quotes, record_chunks


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "loadbay-read-ahead"]


def test_items_come_out_in_order() -> None:
    assert list(read_ahead(iter(range(100)))) == list(range(100))


def test_an_empty_source_ends_at_once() -> None:
    assert list(read_ahead(iter([]))) == []


def test_an_error_is_raised_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken")

    got: list[int] = []
    with pytest.raises(ValueError, match="broken"):
        for item in read_ahead(source()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_and_ends_the_thread() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(1_000)
        finally:
            closed.set()

    items = read_ahead(source())
    assert next(items) == 0
    items.close()
    assert closed.is_set()
    assert not _workers()


def test_an_iterator_never_used_starts_no_thread() -> None:
    read_ahead(iter(range(3)))
    assert not _workers()


def test_a_file_read_in_part_is_closed(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(50)))
    batches = read_file(path, ReadOptions(batch_size=10))
    first = next(batches)
    assert first.frame.height == 10
    batches.close()  # type: ignore[attr-defined]
    assert not _workers()
    path.unlink()  # nothing holds it (on every platform)


def test_read_errors_still_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"missing\.csv"):
        list(read_file(tmp_path / "missing.csv", ReadOptions(format="csv")))


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(
        st.lists(st.sampled_from(["a", "", '"x,y"', '"line\nbreak"', '"q""q"', "zz"]), min_size=1),
        max_size=30,
    ),
    block=st.integers(min_value=1, max_value=40),
    pending=st.integers(min_value=0, max_value=10),
)
def test_chunks_are_whole_records_and_lose_nothing(
    records: list[list[str]], block: int, pending: int
) -> None:
    body = "".join(",".join(r) + "\n" for r in records).encode()
    stream = io.BytesIO(body[pending:])
    chunks = list(record_chunks(stream, body[:pending], block, "t.csv"))
    assert b"".join(chunks) == body
    for chunk in chunks:
        assert chunk.count(b'"') % 2 == 0  # no chunk ends inside a quoted value


def test_quotes_of_a_large_block_are_counted_exactly() -> None:
    block = b'x,"y ""z""",1\n' * 40_000 + b'"'  # large enough for polars to count
    assert len(block) > 256 * 1024
    assert count_quotes(block) == block.count(b'"') == 240_001
    assert count_quotes(block[:-1]) == 240_000
