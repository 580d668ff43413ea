"""Messy text files as real tools write them: encodings, ragged rows, quoting, headers, NUL.

Every file here is written by a real writer: Python's ``codecs`` for the encodings,
``csv.writer`` with the dialect for the CSV.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadbay.errors import InvalidOption, UnreadableFile, UnsupportedFormat
from loadbay.pipeline.frames import ROW
from loadbay.pipeline.read import Batch, ReadOptions, headers, read_file


def batches(path: Path, **options: object) -> list[Batch]:
    return list(read_file(path, ReadOptions(**options)))  # type: ignore[arg-type]


def read(path: Path, **options: object) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    got = batches(path, **options)
    warnings = [w for b in got for w in b.warnings]
    return pl.concat([b.frame for b in got]), pl.concat([b.errors for b in got]), warnings


def written(
    tmp_path: Path, rows: list[list[str]], name: str = "data.csv", **dialect: object
) -> Path:
    out = io.StringIO()
    csv.writer(out, **dialect).writerows(rows)  # type: ignore[arg-type]
    path = tmp_path / name
    path.write_bytes(out.getvalue().encode())
    return path


def raw(tmp_path: Path, content: bytes | str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ---- encodings ----------------------------------------------------------------------

#: a header and lines of text in each script, as people write them
TEXTS = {
    "latin": ("name,note", ["René,café crème", "Zoë,naïve © 2024", "Jürgen,Größe ½"]),
    "western": ("name,note", ["René,café € 5", "Zoë,it’s “fine” – ok", "Œuvre,déjà vu"]),
    "cyrillic": ("имя,город", ["Иван,Москва", "Ольга,Санкт-Петербург", "Пётр,Новосибирск"]),
    "greek": ("όνομα,πόλη", ["Γιώργος,Αθήνα", "Μαρία,Θεσσαλονίκη", "Νίκος,Πάτρα"]),
    "hebrew": ("שם,עיר", ["דוד,ירושלים", "שרה,תל אביב", "משה,חיפה"]),
    "chinese": ("姓名,城市", ["张伟,北京", "王芳,上海", "李娜,广州"]),
    "traditional": ("姓名,城市", ["張偉,臺北", "王芳,高雄", "李娜,臺中"]),
    "japanese": ("名前,都市", ["田中,東京", "鈴木,大阪", "佐藤,名古屋"]),
    "korean": ("이름,도시", ["김민준,서울", "이서연,부산", "박지훈,대구"]),
    "central": ("name,city", ["Zażółć,gęślą jaźń", "Łukasz,Łódź", "Jiří,Přerov"]),
    "turkish": ("ad,şehir", ["Ayşe,İstanbul", "Çağrı,Ankara", "Güneş,İzmir"]),
}

#: (encoding, text, fewest lines from which the encoding must be found without a word)
DETECTED = [
    ("utf-8", "latin", 1),
    ("utf-8", "cyrillic", 1),
    ("utf-8-sig", "chinese", 1),
    ("utf-16", "greek", 1),  # with BOM
    ("utf-16-le", "western", 1),  # without BOM: every other byte NUL
    ("utf-32", "korean", 1),
    ("latin-1", "latin", 1),
    ("cp1252", "western", 1),
    ("cp1251", "cyrillic", 3),
    ("koi8-r", "cyrillic", 3),
    ("iso8859-7", "greek", 3),
    ("cp1253", "greek", 3),
    ("cp1255", "hebrew", 30),
    ("gb18030", "chinese", 1),
    ("big5", "traditional", 3),
    ("shift_jis", "japanese", 1),
    ("euc-kr", "korean", 1),
]
#: single-byte encodings that share their bytes with cp1252: read as cp1252, with a
#: warning; the encoding option reads them right
AMBIGUOUS = [("cp1250", "central"), ("iso8859-2", "central"), ("cp1254", "turkish")]
SURE = {"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"}


def _text(kind: str, lines: int) -> tuple[str, list[tuple[str, str]]]:
    header, body = TEXTS[kind]
    rows = [body[i % len(body)] for i in range(lines)]
    pairs = [tuple(r.split(",")) for r in rows]
    return header + "\n" + "\n".join(rows) + "\n", pairs  # type: ignore[return-value]


@pytest.mark.parametrize("lines", [1, 3, 30])
@pytest.mark.parametrize(("encoding", "kind", "fewest"), DETECTED)
def test_encodings_written_by_codecs_are_read_right(
    tmp_path: Path, encoding: str, kind: str, fewest: int, lines: int
) -> None:
    text, pairs = _text(kind, lines)
    path = raw(tmp_path, codecs_encode(text, encoding))
    frame, _, warnings = read(path)
    if lines >= fewest:
        assert frame.rows() == [(i, *p) for i, p in enumerate(pairs, 1)]
        assert frame.columns[1:] == TEXTS[kind][0].split(",")
    guessed = [w for w in warnings if "a guess" in w]
    if encoding in SURE:
        assert guessed == []
    else:  # never silent: the encoding used and how to give another
        assert len(guessed) == 1 and "--encoding" in guessed[0]
    again, _, _ = read(path, encoding=encoding)  # the option always reads it right
    assert again.rows() == [(i, *p) for i, p in enumerate(pairs, 1)]


def codecs_encode(text: str, encoding: str) -> bytes:
    import codecs

    return codecs.encode(text, encoding)


@pytest.mark.parametrize("lines", [1, 3, 30])
@pytest.mark.parametrize(("encoding", "kind"), AMBIGUOUS)
def test_ambiguous_single_byte_encodings_say_what_was_used(
    tmp_path: Path, encoding: str, kind: str, lines: int
) -> None:
    text, pairs = _text(kind, lines)
    path = raw(tmp_path, codecs_encode(text, encoding))
    _, _, warnings = read(path)
    assert any("read as cp1252 text, a guess" in w and "--encoding" in w for w in warnings)
    frame, _, warnings = read(path, encoding=encoding)
    assert frame.rows() == [(i, *p) for i, p in enumerate(pairs, 1)]
    assert warnings == []


def test_seventeen_byte_latin1_file_with_a_copyright_sign(tmp_path: Path) -> None:
    content = "name\nCopyright ©\n".encode("latin-1")
    assert len(content) == 17
    frame, _, warnings = read(raw(tmp_path, content))
    assert frame.rows() == [(1, "Copyright ©")]
    assert warnings and "cp1252" in warnings[0]


def test_short_windows_1252_file(tmp_path: Path) -> None:
    frame, _, _ = read(raw(tmp_path, "a,b\né,€ ’\n".encode("cp1252")))
    assert frame.rows() == [(1, "é", "€ ’")]


def test_utf8_file_with_cp1252_after_a_long_ascii_start_warns(tmp_path: Path) -> None:
    content = b"a,b\n" + b"x,y\n" * 20_000 + "é,€\n".encode("cp1252")
    frame, _, warnings = read(raw(tmp_path, content))
    assert frame.row(-1) == (20_001, "é", "€")
    assert any("read as cp1252 text, a guess" in w for w in warnings)


# ---- line breaks, NUL ----------------------------------------------------------------


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_a_carriage_return_inside_a_quoted_value_is_kept(tmp_path: Path, terminator: str) -> None:
    rows = [["id", "note"], ["1", "a\rb"], ["2", "plain"], ["3", "c\rd\re"]]
    frame, errors, _ = read(written(tmp_path, rows, lineterminator=terminator))
    assert frame.rows() == [(1, "1", "a\rb"), (2, "2", "plain"), (3, "3", "c\rd\re")]
    assert errors.height == 0


def test_nul_characters_are_removed_with_a_warning(tmp_path: Path) -> None:
    frame, _, warnings = read(raw(tmp_path, b"a,b\n1,x\x00y\n2,z\n\x00\x00"))
    assert frame.rows() == [(1, "1", "xy"), (2, "2", "z")]
    assert warnings == [
        "data.csv: 3 NUL character(s) removed (a NUL is not text: no database keeps one)"
    ]


def test_a_binary_file_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match="binary"):
        read(raw(tmp_path, bytes(range(256)) * 40, "data.bin"))


# ---- ragged rows ---------------------------------------------------------------------


def test_a_delimiter_at_the_end_of_every_line_is_not_a_column(tmp_path: Path) -> None:
    path = raw(tmp_path, "id,name,qty,\n1,Ann,3,\n2,Bob,4,\n3,Cy,5\n")
    frame, errors, warnings = read(path)
    assert frame.columns == [ROW, "id", "name", "qty"]
    assert frame.rows() == [(1, "1", "Ann", "3"), (2, "2", "Bob", "4"), (3, "3", "Cy", "5")]
    assert errors.height == 0 and warnings == []


def test_a_value_after_the_trailing_delimiter_is_a_row_error(tmp_path: Path) -> None:
    """The sample (64 KiB) saw only empty last fields: a later value there is an error."""
    path = raw(tmp_path, "id;name;\n" + "1;Ann;\n" * 10_000 + "2;Bob;x\n")
    frame, errors, _ = read(path)
    assert frame.columns == [ROW, "id", "name"] and frame.height == 10_000
    assert errors["row"].to_list() == [10_001] and errors["value"].to_list() == ["2;Bob;x"]


def test_short_rows_are_padded_and_counted_in_one_warning(tmp_path: Path) -> None:
    rows = [["id", "name", "note"], ["1", "Ann", "x"], ["2", "Bob"], ["3"], ["4", "Di", "y"]]
    frame, errors, warnings = read(written(tmp_path, rows))
    assert frame.rows() == [
        (1, "1", "Ann", "x"),
        (2, "2", "Bob", None),
        (3, "3", None, None),
        (4, "4", "Di", "y"),
    ]
    assert errors.height == 0
    assert warnings == ["data.csv: 2 record(s) shorter than the header padded with empty fields"]


def test_padding_is_counted_over_many_batches(tmp_path: Path) -> None:
    lines = "".join(f"{i},x\n" if i % 10 else f"{i}\n" for i in range(1, 1001))
    got = batches(raw(tmp_path, "id,v\n" + lines), batch_size=64)
    assert sum(b.frame.height for b in got) == 1000
    said = [w for b in got for w in b.warnings]
    assert said == ["data.csv: 100 record(s) shorter than the header padded with empty fields"]
    assert got[-1].warnings == said


# ---- quoting ---------------------------------------------------------------------------


def test_a_space_after_the_delimiter_before_a_quoted_field(tmp_path: Path) -> None:
    path = raw(tmp_path, 'id, name, city\n1, "Smith, J", Oslo\n2, "Doe, A", "Rome"\n')
    frame, errors, _ = read(path)
    assert frame.columns == [ROW, "id", "name", "city"]
    assert frame.rows() == [(1, "1", "Smith, J", "Oslo"), (2, "2", "Doe, A", "Rome")]
    assert errors.height == 0


def test_backslash_escapes_are_detected(tmp_path: Path) -> None:
    rows = [["id", "text"], ["1", 'say "hi"'], ["2", "a,b"], ["3", "plain"]]
    path = written(tmp_path, rows, escapechar="\\", doublequote=False, quoting=csv.QUOTE_NONE)
    assert b'\\"' in path.read_bytes() and b"\\," in path.read_bytes()
    frame, errors, _ = read(path)
    assert frame.rows() == [(1, "1", 'say "hi"'), (2, "2", "a,b"), (3, "3", "plain")]
    assert errors.height == 0


def test_escape_option(tmp_path: Path) -> None:
    rows = [["id", "text"], ["1", 'x "q" y'], ["2", "c:\\dir"]]
    path = written(tmp_path, rows, escapechar="\\", doublequote=False)
    frame, _, _ = read(path, escape="\\")
    assert frame.rows() == [(1, "1", 'x "q" y'), (2, "2", "c:\\dir")]


def test_escaped_file_over_many_batches_keeps_row_numbers(tmp_path: Path) -> None:
    rows = [["id", "text"]] + [[str(i), f'v "{i}", w'] for i in range(1, 501)]
    path = written(tmp_path, rows, escapechar="\\", doublequote=False, quoting=csv.QUOTE_NONE)
    got = batches(path, batch_size=70)
    frame = pl.concat([b.frame for b in got])
    assert frame.rows() == [(i, str(i), f'v "{i}", w') for i in range(1, 501)]


# ---- headers ---------------------------------------------------------------------------


def test_no_header(tmp_path: Path) -> None:
    path = written(tmp_path, [["1", "Ann", "Oslo"], ["2", "Bob", "Rome"]])
    frame, _, _ = read(path, header=False)
    assert frame.columns == [ROW, "column_1", "column_2", "column_3"]
    assert frame.rows() == [(1, "1", "Ann", "Oslo"), (2, "2", "Bob", "Rome")]
    assert headers(path, ReadOptions(header=False)) == ["column_1", "column_2", "column_3"]


def test_skip_lines_and_header_row(tmp_path: Path) -> None:
    content = "Sales report\nmade 2024-01-01\n\nid,qty\n1,5\n"
    path = raw(tmp_path, content)
    for options in ({"skip_lines": 2}, {"header_row": 4}, {"header_row": 3}):
        frame, _, _ = read(path, **options)
        assert frame.columns == [ROW, "id", "qty"]
        assert frame.rows() == [(1, "1", "5")]


def test_skip_lines_without_header(tmp_path: Path) -> None:
    frame, _, _ = read(raw(tmp_path, "title\n1,a\n2,b\n"), skip_lines=1, header=False)
    assert frame.rows() == [(1, "1", "a"), (2, "2", "b")]


def test_comment_lines(tmp_path: Path) -> None:
    content = "# exported by a tool\n# another note\nid,name\n1,Ann\n# a note, mid-file\n2,Bob\n"
    frame, errors, _ = read(raw(tmp_path, content), comment="#")
    assert frame.rows() == [(1, "1", "Ann"), (3, "2", "Bob")]
    assert errors.height == 0


def test_comment_lines_across_reads(tmp_path: Path) -> None:
    lines = "".join(f"# note {i} " + "x" * (i % 300) + f"\n{i},v\n" for i in range(3000))
    frame, errors, _ = read(raw(tmp_path, "id,v\n" + lines), comment="#")
    assert frame["id"].to_list() == [str(i) for i in range(3000)]
    assert errors.height == 0


@pytest.mark.parametrize(
    ("content", "advice"),
    [
        ("Sales report 2024\nid,name,qty\n1,a,2\n2,b,3\n", "--header-row 2"),
        ("Sales report 2024\nid;name;qty\n1;a;2\n2;b;3\n", "--header-row 2"),
        ("Sales report 2024\n\nid,name,qty\n1,a,2\n2,b,3\n", "--header-row 3"),
        ("# exported\nid,name,qty\n1,a,2\n2,b,3\n", "--comment '#'"),
        ("# exported\n# by a tool\nid;name\n1;a\n", "--comment '#'"),
        (",,\nid,name,qty\n1,a,2\n2,b,3\n", "--header-row 2"),
    ],
)
def test_a_junk_first_line_is_refused_with_the_option_that_reads_it(
    tmp_path: Path, content: str, advice: str
) -> None:
    with pytest.raises(UnreadableFile, match="does not look like the header") as caught:
        read(raw(tmp_path, content))
    assert advice in str(caught.value)


def test_duplicate_headers_are_kept_apart(tmp_path: Path) -> None:
    path = written(tmp_path, [["id", "amount", "amount", ""], ["1", "5", "6", "7"]])
    frame, _, warnings = read(path)
    assert frame.columns == [ROW, "id", "amount", "amount_2", "column_4"]
    assert frame.rows() == [(1, "1", "5", "6", "7")]
    assert len(warnings) == 1 and "'amount_2'" in warnings[0]


@pytest.mark.parametrize(
    "options",
    [
        {"skip_lines": -1},
        {"header_row": 0},
        {"header_row": 2, "header": False},
        {"header_row": 2, "skip_lines": 1},
        {"comment": "##"},
        {"escape": '"'},
        {"comment": ",", "delimiter": ","},
    ],
)
def test_bad_layout_options(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(InvalidOption):
        read(raw(tmp_path, "a\n1\n"), **options)


def test_json_lines_say_their_guessed_encoding_and_nul_removed(tmp_path: Path) -> None:
    content = '{"name": "Café"}\n{"name": "x\\u0000"}\n{"name": "Zoë\x00"}\n'
    got = batches(raw(tmp_path, content.encode("cp1252"), "data.jsonl"))
    frame = pl.concat([b.frame for b in got])
    assert frame["name"].to_list() == ["Café", "x\x00", "Zoë"]  # (an escaped NUL is data)
    said = [w for b in got for w in b.warnings]
    assert len(said) == 2 and "cp1252" in said[0] and "1 NUL" in said[1]


_cells = st.text(
    st.one_of(st.sampled_from(list(',;"\\\n ')), st.characters(codec="utf-8")), max_size=10
).map(lambda s: s.replace("\x00", "").replace("\ufeff", "").replace("\r", ""))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(_cells, min_size=3, max_size=3), min_size=1, max_size=15),
    batch_size=st.integers(1, 5),
)
def test_property_backslash_escaped_tables_read_back_exactly(
    tmp_path: Path, rows: list[list[str]], batch_size: int
) -> None:
    header = ["id", "text", "note"]
    path = written(
        tmp_path, [header, *rows], "esc.csv", escapechar="\\", doublequote=False,
        lineterminator="\n",
    )  # fmt: skip
    frame, errors, _ = read(path, escape="\\", format="csv", delimiter=",", batch_size=batch_size)
    expected = [(n, *[v or None for v in r]) for n, r in enumerate(rows, 1) if any(r)]
    assert frame.rows() == expected
    assert errors.height == 0


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(_cells, min_size=1, max_size=3), min_size=1, max_size=25),
    terminator=st.sampled_from(["\n", "\r\n"]),
    block=st.integers(1, 64),
)
def test_property_trailing_delimiter_and_short_rows_in_tiny_chunks(
    tmp_path: Path, rows: list[list[str]], terminator: str, block: int
) -> None:
    """Every line ends with a delimiter; records of 1 to 3 fields under a header of 3:
    read in tiny chunks, the same as csv.reader's records, padded."""
    from unittest import mock

    rows = [[v.replace("\r", "") for v in r] for r in rows]
    header = ["id", "text", "note"]
    out = io.StringIO()
    lines = [[*header, ""]] + [[*r, ""] for r in rows]
    csv.writer(out, lineterminator=terminator).writerows(lines)
    path = raw(tmp_path, out.getvalue(), "trail.csv")
    sample = len("id,text,note,") + len(terminator) + 1  # the header and no more
    with (
        mock.patch("loadbay.pipeline.read.csv_head.SAMPLE", sample),
        mock.patch("loadbay.pipeline.read.delimited._READ_BLOCK", block),
        mock.patch("loadbay.pipeline.read.delimited._MIN_BLOCK", 256),
    ):
        frame, errors, _ = read(path, format="csv", delimiter=",", batch_size=4, header_row=1)
    assert frame.columns == [ROW, *header]
    records = list(csv.reader(io.StringIO(out.getvalue(), newline="")))[1:]
    good = [
        (n, *[v or None for v in (r + [""] * 3)[:3]])
        for n, r in enumerate(records, 1)
        if any(r) and not any(r[3:])
    ]
    assert frame.rows() == good
    assert errors["row"].to_list() == [n for n, r in enumerate(records, 1) if any(r[3:])]


@pytest.mark.parametrize(
    "content",
    ['[{"name": "Café"}, {"name": "Zoë"}]', '{"a": {"name": "Café"}, "b": {"name": "Zoë"}}'],
)
def test_json_documents_say_their_guessed_encoding(tmp_path: Path, content: str) -> None:
    got = batches(raw(tmp_path, content.encode("cp1252") + b"\x00", "data.json"))
    frame = pl.concat([b.frame for b in got])
    assert frame["name"].to_list() == ["Café", "Zoë"]
    said = [w for b in got for w in b.warnings]
    assert len(said) == 2 and "cp1252" in said[0] and "1 NUL" in said[1]
