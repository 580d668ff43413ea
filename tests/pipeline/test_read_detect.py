"""Format detection (content first, then the name), gzip, options and unreadable files."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from loadbay.errors import InvalidOption, UnreadableFile, UnsupportedFormat
from loadbay.pipeline.read import ReadOptions, detect_format, read_file


def frame_of(path: Path, **options: object) -> pl.DataFrame:
    got = list(read_file(path, ReadOptions(**options)))  # type: ignore[arg-type]
    return pl.concat([b.frame for b in got], how="diagonal")


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def xlsx_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "made.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["a", "b"])
    sheet.write_row(1, 0, ["x", 1])
    book.close()
    return path.read_bytes()


SAMPLES = {
    "csv": "a,b\nx,1\n",
    "tsv": "a\tb\nx\t1\n",
    "jsonl": '{"a": "x", "b": 1}\n{"a": "y", "b": 2}\n',
    "json": '[{"a": "x", "b": 1}]',
    "xml": "<rows><row><a>x</a><b>1</b></row><row><a>y</a><b>2</b></row></rows>",
}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("data.csv", '[{"a": 1}]', "json"),
        ("data.txt", "<r><i/></r>", "xml"),
        ("data.json", '{"a": 1}\n{"a": 2}\n', "jsonl"),
        ("data.xml", '  \n {"t": [{"a": 1}]}', "json"),
        ("data.json", "\ufeff<?xml version='1.0'?><r/>", "xml"),
        ("data.jsonl", '{"a": 1}\n', "jsonl"),
        ("data.json", '{"a": [1]}\n', "json"),
        ("data.csv", "[id],[name]\n1,x\n", "csv"),
        ("data.csv", "<5,>6\n1,2\n", "csv"),
        ("data.tsv", "a\tb\n", "tsv"),
        ("data.ndjson", "", "jsonl"),
        ("data", "a;b\n1;2\n", "csv"),
        ("data.unknown", "a;b\n1;2\n", "csv"),
        ("DATA.JSON", "", "json"),
    ],
)
def test_detect_by_content_then_name(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    assert detect_format(write(tmp_path, name, content), ReadOptions()) == expected


def test_xlsx_detected_by_content_with_a_misleading_name(tmp_path: Path) -> None:
    path = write(tmp_path, "report.csv", xlsx_bytes(tmp_path))
    assert detect_format(path, ReadOptions()) == "xlsx"
    assert frame_of(path).rows() == [(1, "x", "1")]


def test_json_with_a_misleading_name_is_read_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, "export.csv", '[{"a": "x"}]')
    assert frame_of(path).rows() == [(1, "x")]


def test_utf16_json_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path, "d.txt", '[{"a": "é"}]'.encode("utf-16"))
    assert detect_format(path, ReadOptions()) == "json"
    assert frame_of(path).rows() == [(1, "é")]


def test_forced_format_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "d.json", "a,b\n[1],2\n")
    assert detect_format(path, ReadOptions(format="CSV")) == "csv"
    assert frame_of(path, format="csv").rows() == [(1, "[1]", "2")]
    assert detect_format(path, ReadOptions(format="ndjson")) == "jsonl"


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_gzip_of_each_text_format(tmp_path: Path, fmt: str) -> None:
    plain = frame_of(write(tmp_path, f"d.{fmt}", SAMPLES[fmt]))
    packed = write(tmp_path, f"p.{fmt}.gz", gzip.compress(SAMPLES[fmt].encode()))
    assert detect_format(packed, ReadOptions()) == fmt
    assert frame_of(packed).rows() == plain.rows()
    assert plain.height >= 1


def test_gzip_detected_by_magic_without_gz_name(tmp_path: Path) -> None:
    path = write(tmp_path, "upload.bin", gzip.compress(SAMPLES["jsonl"].encode()))
    assert detect_format(path, ReadOptions()) == "jsonl"
    assert frame_of(path).height == 2


def test_gzip_xlsx(tmp_path: Path) -> None:
    path = write(tmp_path, "d.xlsx.gz", gzip.compress(xlsx_bytes(tmp_path)))
    assert detect_format(path, ReadOptions()) == "xlsx"
    assert frame_of(path).rows() == [(1, "x", "1")]


def test_large_gzip_csv_streams(tmp_path: Path) -> None:
    rows = "".join(f"{i},name {i}\n" for i in range(200_000))
    path = write(tmp_path, "big.csv.gz", gzip.compress(("id,name\n" + rows).encode()))
    got = list(read_file(path, ReadOptions(batch_size=50_000)))
    assert [b.frame.height for b in got] == [50_000] * 4
    assert got[-1].frame.row(-1) == (200_000, "199999", "name 199999")


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"%PDF-1.7\n...", "PDF"),
        (b"\x89PNG\r\n\x1a\n....", "PNG"),
        (b"\x00\x01\x02\x03\xff\xfe\x00\x00garbage" * 10, "binary"),
        (b"\x1f\x8b" + gzip.compress(b"x", mtime=0)[2:], "gzip"),
    ],
)
def test_non_data_files_are_unsupported(tmp_path: Path, content: bytes, kind: str) -> None:
    path = write(tmp_path, "upload.csv", content if kind != "gzip" else gzip.compress(content))
    with pytest.raises(UnsupportedFormat, match=f"upload.csv.*{kind}"):
        list(read_file(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"nope\.csv: no such file"):
        list(read_file(tmp_path / "nope.csv"))


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(("a,b\n" + "1,2\n" * 10_000).encode())
    path = write(tmp_path, "cut.csv.gz", data[: len(data) // 2])
    with pytest.raises(UnreadableFile, match=r"cut\.csv\.gz"):
        list(read_file(path))


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"format": "parquet"}, "format"),
        ({"delimiter": "ab"}, "delimiter"),
        ({"delimiter": '"'}, "delimiter"),
        ({"delimiter": "§"}, "delimiter"),
        ({"encoding": "klingon"}, "encoding"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options(tmp_path: Path, options: dict[str, object], name: str) -> None:
    path = write(tmp_path, "d.csv", "a\n1\n")
    with pytest.raises(InvalidOption, match=name):
        read_file(path, ReadOptions(**options))  # type: ignore[arg-type]
