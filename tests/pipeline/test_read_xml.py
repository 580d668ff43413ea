"""XML: records, fields from child elements and attributes, and safe parsing."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import polars as pl
import pytest

from loadbay.errors import UnreadableFile
from loadbay.pipeline.frames import ROW
from loadbay.pipeline.read import Batch, ReadOptions, read_file


def batches(path: Path, **options: object) -> list[Batch]:
    return list(read_file(path, ReadOptions(**options)))  # type: ignore[arg-type]


def read(path: Path, **options: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    got = batches(path, **options)
    frame = pl.concat([b.frame for b in got], how="diagonal")
    return frame, pl.concat([b.errors for b in got])


def write(tmp_path: Path, content: str | bytes, name: str = "d.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_child_elements_and_attributes(tmp_path: Path) -> None:
    content = """<?xml version="1.0" encoding="UTF-8"?>
<people>
  <person id="1" status="active"><name>Ann</name><email>ann@x.org</email></person>
  <person id="2"><name>  Bob </name><email/><city>Oslo</city></person>
</people>"""
    frame, errors = read(write(tmp_path, content))
    assert frame.columns == [ROW, "id", "status", "name", "email", "city"]
    assert frame.rows() == [
        (1, "1", "active", "Ann", "ann@x.org", None),
        (2, "2", None, "  Bob ", None, "Oslo"),
    ]
    assert errors.height == 0


def test_child_element_wins_over_attribute(tmp_path: Path) -> None:
    frame, _ = read(write(tmp_path, '<r><i name="attr"><name>child</name></i><i/></r>'))
    assert frame.rows() == [(1, "child"), (2, None)]  # an empty record is still a record


def test_entities_cdata_and_namespaces(tmp_path: Path) -> None:
    content = (
        '<d:rows xmlns:d="urn:d" xmlns:x="urn:x">'
        '<d:row x:code="A&amp;B"><d:text><![CDATA[<b>bold</b>]]></d:text>'
        "<d:n>caf&#233;</d:n></d:row><d:row><d:n>2</d:n></d:row></d:rows>"
    )
    frame, _ = read(write(tmp_path, content))
    assert frame.rows() == [(1, "A&B", "<b>bold</b>", "café"), (2, None, None, "2")]
    assert frame.columns == [ROW, "code", "text", "n"]


def test_nested_child_gives_its_xml(tmp_path: Path) -> None:
    frame, _ = read(write(tmp_path, "<r><i><a><b>1</b></a></i><i><a>2</a></i></r>"))
    assert frame.rows() == [(1, "<a><b>1</b></a>"), (2, "2")]


def test_repeated_child_is_a_row_error(tmp_path: Path) -> None:
    frame, errors = read(write(tmp_path, "<r><i><t>1</t><t>2</t></i><i><t>3</t></i></r>"))
    assert frame.rows() == [(2, "3")]
    assert errors.select("row", "code", "value").rows() == [
        (1, "invalid_record", "<i><t>1</t><t>2</t></i>")
    ]


def test_records_are_the_repeated_children_of_the_root(tmp_path: Path) -> None:
    content = "<export><meta><v>9</v></meta><row><a>1</a></row><row><a>2</a></row><end/></export>"
    frame, _ = read(write(tmp_path, content))
    assert frame.rows() == [(1, "1"), (2, "2")]


def test_single_child_is_one_record(tmp_path: Path) -> None:
    frame, _ = read(write(tmp_path, "<root><item><a>1</a></item></root>"))
    assert frame.rows() == [(1, "1")]


def test_record_text_without_children(tmp_path: Path) -> None:
    frame, _ = read(write(tmp_path, "<emails><email>a@x</email><email>b@x</email></emails>"))
    assert frame.rows() == [(1, "a@x"), (2, "b@x")]


def test_record_tag_at_any_depth(tmp_path: Path) -> None:
    content = (
        "<doc><head><item><a>no</a></item></head>"
        "<body><rec><a>1</a></rec><group><rec><a>2</a></rec></group></body></doc>"
    )
    frame, _ = read(write(tmp_path, content), record_tag="rec")
    assert frame.rows() == [(1, "1"), (2, "2")]


def test_records_without_fields(tmp_path: Path) -> None:
    frame, _ = read(write(tmp_path, "<r><i/><i/></r>"))
    assert frame.columns == [ROW] and frame[ROW].to_list() == [1, 2]


def test_root_without_records_gives_one_empty_batch(tmp_path: Path) -> None:
    got = batches(write(tmp_path, "<root/>"))
    assert len(got) == 1 and got[0].frame.height == 0


def test_batches(tmp_path: Path) -> None:
    items = "".join(f"<i n='{k}'/>" for k in range(1, 8))
    got = batches(write(tmp_path, f"<r>{items}</r>"), batch_size=3)
    assert [b.frame[ROW].to_list() for b in got] == [[1, 2, 3], [4, 5, 6], [7]]
    assert got[-1].frame["n"].to_list() == ["7"]


def test_declared_encoding(tmp_path: Path) -> None:
    content = '<?xml version="1.0" encoding="windows-1252"?><r><i><n>Café</n></i></r>'
    frame, _ = read(write(tmp_path, content.encode("cp1252")))
    assert frame.rows() == [(1, "Café")]


@pytest.mark.parametrize("encoding", ["latin-1", "koi8_r", "cp1252"])
def test_forced_encoding_overrides_the_declaration(tmp_path: Path, encoding: str) -> None:
    content = '<?xml version="1.0" encoding="UTF-8"?><r><i><n>caf\u00e9 \u00e0</n></i></r>'
    if encoding == "koi8_r":
        content = content.replace("caf\u00e9 \u00e0", "\u0434\u0430")
    frame, _ = read(write(tmp_path, content.encode(encoding)), encoding=encoding)
    assert frame.rows() == [(1, content.split("<n>")[1].split("</n>")[0])]


def test_utf16_xml(tmp_path: Path) -> None:
    content = '<?xml version="1.0" encoding="UTF-16"?><r><i><n>Zoë</n></i></r>'
    frame, _ = read(write(tmp_path, content.encode("utf-16")))
    assert frame.rows() == [(1, "Zoë")]


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    content = "<rows>\n<row><a>1</a></row>\n<row><a>2</b></row>\n</rows>"
    with pytest.raises(UnreadableFile, match=r"bad\.xml: malformed XML at line 3"):
        read(write(tmp_path, content, "bad.xml"))


def test_gzip_xml(tmp_path: Path) -> None:
    path = write(tmp_path, gzip.compress(b"<r><i a='1'/><i a='2'/></r>"), "d.xml.gz")
    frame, _ = read(path)
    assert frame.rows() == [(1, "1"), (2, "2")]


def test_external_entity_does_not_leak_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    content = f"""<?xml version="1.0"?>
<!DOCTYPE rows [
  <!ENTITY passwd SYSTEM "file:///etc/passwd">
  <!ENTITY secret SYSTEM "{secret.as_uri()}">
]>
<rows><row><a>&passwd;</a><b>x&secret;y</b></row><row><a>ok</a></row></rows>"""
    frame, _ = read(write(tmp_path, content))
    cells = " ".join(str(v) for row in frame.rows() for v in row)
    assert "root:" not in cells and "TOP-SECRET" not in cells
    assert frame.rows() == [(1, "&passwd;", "x&secret;y"), (2, "ok", None)]


def test_network_entity_is_not_fetched(tmp_path: Path) -> None:
    content = """<?xml version="1.0"?>
<!DOCTYPE rows [<!ENTITY remote SYSTEM "http://192.0.2.1/evil.dtd">]>
<rows><row><a>&remote;</a></row><row><a>x</a></row></rows>"""
    started = time.monotonic()
    frame, _ = read(write(tmp_path, content))
    assert time.monotonic() - started < 5
    assert frame["a"].to_list() == ["&remote;", "x"]


def test_billion_laughs_is_not_expanded(tmp_path: Path) -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    content = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(levels)}]>'
        "<lolz><r><a>&lol9;</a></r><r><a>fine</a></r></lolz>"
    )
    started = time.monotonic()
    try:  # libxml2 >= 2.11 refuses the amplification outright; older ones leave &lol9; as is
        frame, _ = read(write(tmp_path, content))
    except UnreadableFile as exc:
        assert "d.xml" in exc.message
    else:
        assert frame["a"].to_list() == ["&lol9;", "fine"]
    assert time.monotonic() - started < 5


def test_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    content = (
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{dtd.as_uri()}"><r><i>&leak;</i><i>x</i></r>'
    )
    frame, _ = read(write(tmp_path, content))
    assert "LEAKED" not in " ".join(str(v) for v in frame.rows())
