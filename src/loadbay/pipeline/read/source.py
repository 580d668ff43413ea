"""Bytes in: gzip, text encodings, and the translation of I/O failures.

Every reader gets its bytes from here. ``open_raw`` undoes gzip (by magic bytes, as
a stream: memory stays bounded, nothing goes to disk), counting the bytes it gives:
past ``expanded`` decompressed bytes it raises LimitExceeded (at once when the gzip
trailer says so), so a small file that expands to gigabytes is never expanded.
``open_utf8`` adds the text layer: it detects the encoding (BOM, UTF-8, BOM-less
UTF-16, else cp1252 or what charset-normalizer is sure of: ``guess_encoding``, which
says whether it is sure), strips the BOM, removes NUL characters (counted),
validates UTF-8 and transcodes anything else to UTF-8 on the fly, so
that downstream parsers only ever see valid UTF-8 bytes.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import charset_normalizer

from loadbay.errors import EncodingError, UnreadableFile
from loadbay.pipeline.read.limits import Limits, over

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

GZIP_MAGIC = b"\x1f\x8b"
SAMPLE_SIZE = 64 * 1024
_BLOCK = 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: single-byte encodings of non-Latin scripts: trusted when charset-normalizer finds a
#: language in the text decoded with them (else the file is read as cp1252)
_SCRIPT_ENCODINGS = frozenset(
    {
        "cp1251",
        "koi8_r",
        "koi8_u",
        "iso8859_5",
        "mac_cyrillic",
        "cp866",
        "cp1253",
        "iso8859_7",
        "cp1255",
        "iso8859_8",
        "cp1256",
        "iso8859_6",
        "cp874",
        "tis_620",
        "cp1258",
    }
)
#: multi-byte encodings: trusted only on enough evidence (``_MULTI_BYTE_EVIDENCE``)
_MULTI_BYTE = frozenset(
    {
        "shift_jis",
        "cp932",
        "euc_jp",
        "iso2022_jp",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "big5hkscs",
        "cp949",
        "euc_kr",
        "johab",
    }
)
#: non-ASCII bytes a multi-byte guess needs, and the share of the characters they decode
#: to that must be CJK ideographs, kana (not half-width) or hangul: a few accented Latin
#: letters decode to half-width katakana or stray ideographs, never to that much CJK text
_MULTI_BYTE_EVIDENCE = 12
_CJK_SHARE = 0.9


@contextmanager
def io_errors(path: Path) -> Iterator[None]:
    """Turn OS, gzip and zlib failures into UnreadableFile naming the file."""
    try:
        yield
    except FileNotFoundError:
        raise UnreadableFile(f"{path.name}: no such file", file=path.name) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"{path.name}: cannot be read ({exc})", file=path.name) from exc


#: decompressed bytes a compressed file may hold unless told otherwise
EXPANDED = Limits().expanded_bytes


class ByteCount:
    """How many bytes of a file (as stored: compressed ones for gzip) its reader has
    taken so far: an import's progress while the rows are not known yet."""

    def __init__(self) -> None:
        self.value = 0


class _Counted(io.RawIOBase):
    """A file whose reads add to a ``ByteCount``."""

    def __init__(self, raw: BinaryIO, count: ByteCount) -> None:
        super().__init__()
        self._raw = raw
        self._count = count

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        view[: len(data)] = data
        self._count.value += len(data)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_raw(path: Path, expanded: int = EXPANDED, count: ByteCount | None = None) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip (by magic bytes, not by name), at
    most ``expanded`` of them (LimitExceeded past that); ``count`` counts the bytes read
    of the file itself."""
    with open(path, "rb") as f:
        magic = f.read(2)
        if magic == GZIP_MAGIC and f.seek(0, io.SEEK_END) >= 6:
            f.seek(-4, io.SEEK_END)
            # the size of the last member, modulo 4 GiB: the content is at least that
            if int.from_bytes(f.read(4), "little") > expanded:
                raise _expanded(path.name, expanded)
    if magic == GZIP_MAGIC:
        if count is None:
            gz = cast(BinaryIO, gzip.open(path, "rb"))  # noqa: SIM115 (the caller closes it)
        else:
            counted = cast(BinaryIO, _Counted(open(path, "rb"), count))  # noqa: SIM115
            gz = cast(BinaryIO, gzip.GzipFile(fileobj=counted, mode="rb"))
            gz.myfileobj = counted  # type: ignore[attr-defined]  # closed with it
        return cast(BinaryIO, Bounded(gz, expanded, path.name))
    if count is not None:
        return cast(BinaryIO, _Counted(open(path, "rb"), count))
    return open(path, "rb")


def _expanded(source: str, limit: int) -> Exception:
    what = f"the compressed file expands to more than {limit:,} bytes"
    return over(source, what, "expanded_bytes", limit)


class Bounded(io.RawIOBase):
    """A stream that raises LimitExceeded once more than ``limit`` bytes came out of it
    (it never asks for more than one byte over)."""

    def __init__(self, raw: BinaryIO, limit: int, source: str) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._source = source
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        room = self._limit - self.count + 1
        data = self._raw.read(room if size < 0 else min(size, room))
        self.count += len(data)
        if self.count > self._limit:
            raise _expanded(self._source, self._limit)
        return data

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def peek(path: Path, size: int = SAMPLE_SIZE, expanded: int = EXPANDED) -> bytes:
    """The first ``size`` bytes of the (decompressed) content."""
    with open_raw(path, expanded) as f:
        return f.read(size)


def canonical(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return "utf-8" if name == "utf-8-sig" else name


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file, judged from its first bytes."""
    return guess_encoding(sample)[0]


def guess_encoding(sample: bytes) -> tuple[str, bool]:
    """The encoding of a file judged from its first bytes, and whether that is sure: a
    BOM, UTF-16 without BOM (every other byte NUL) and valid UTF-8 are; any other
    (single-byte or multi-byte) encoding is a guess."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name, True
    bomless = _bomless_utf16(sample)
    if bomless:
        return bomless, True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, False)
        return "utf-8", True
    except UnicodeDecodeError:
        return _not_utf8(sample), False


#: the share of high bytes that are NUL in UTF-16 without BOM (the rest: characters past
#: U+00FF, such as the curly quotes and the euro sign of Western text)
_UTF16_NULS = 0.6


def _bomless_utf16(sample: bytes) -> str | None:
    """UTF-16 without BOM: text where every other byte is NUL."""
    head = sample[:4096]
    if len(head) < 4 or head.count(0) < len(head) // 3:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > len(head) // 2 * _UTF16_NULS and even == 0:
        return "utf-16-le"
    if even > len(head) // 2 * _UTF16_NULS and odd == 0:
        return "utf-16-be"
    return None


def _not_utf8(sample: bytes) -> str:
    """A non-Latin script or a CJK encoding when the evidence is clear, else cp1252 (or
    latin-1, which reads every byte). Never an exotic encoding on thin evidence: a
    17-byte Latin-1 file with a ``©`` is not Japanese."""
    cjk: list[tuple[float, str]] = []  # (coherence, encoding): the most coherent wins
    for match in charset_normalizer.from_bytes(sample):
        if match.encoding in _SCRIPT_ENCODINGS and match.coherence > 0:
            return canonical(match.encoding)
        if match.encoding in _MULTI_BYTE and _cjk_text(sample, match.encoding):
            cjk.append((match.coherence, canonical(match.encoding)))
    if cjk:
        return max(cjk, key=lambda c: c[0])[1]  # the first of the most coherent
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _cjk_text(sample: bytes, encoding: str) -> bool:
    """Whether ``sample`` decodes in ``encoding`` to enough CJK text to trust it."""
    if sum(b > 0x7F for b in sample) < _MULTI_BYTE_EVIDENCE:
        return False
    text = sample.decode(encoding, errors="ignore")
    wide = [c for c in text if ord(c) > 0x7F]
    cjk = sum(
        "\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af"
        for c in wide
    )
    return bool(wide) and cjk >= _CJK_SHARE * len(wide)


#: characters that do not occur in text files (NUL aside: it is removed, see Utf8Stream)
_CONTROLS = frozenset(chr(c) for c in [*range(1, 9), 0x0B, *range(0x0E, 0x1A), *range(0x1C, 0x20)])
#: the share of control characters from which a file is binary, not text
_BINARY_SHARE = 0.01


def looks_binary(text: str) -> bool:
    """Whether decoded text is binary data: NUL bytes alone are not (they are removed
    with a warning), other control characters past ``_BINARY_SHARE`` of it are."""
    rest = text.replace("\x00", "")
    if not rest.strip():
        return len(rest) < len(text)  # nothing but NUL bytes
    controls = sum(1 for c in rest if c in _CONTROLS)
    return controls > _BINARY_SHARE * len(rest)


class Utf8Stream(io.RawIOBase):
    """A readable stream of valid UTF-8 bytes over a raw stream in any encoding.

    ``encoding=None`` detects it. A file detected as UTF-8 from an ASCII-only start
    that later turns out not to be UTF-8 switches to cp1252 (which agrees with ASCII
    on everything read so far). Undecodable bytes raise EncodingError with the line.
    """

    def __init__(
        self, raw: BinaryIO, encoding: str | None, source: str, reopen: Callable[[], BinaryIO]
    ) -> None:
        super().__init__()
        self._raw = raw
        self._source = source
        self._reopen = reopen
        first = raw.read(SAMPLE_SIZE)
        if encoding:
            self.encoding, self.sure = canonical(encoding), True
        else:
            self.encoding, self.sure = guess_encoding(first)
        self.nuls = 0  # NUL characters removed
        self._guessed = encoding is None
        self._may_switch = self._guessed and self.encoding == "utf-8" and first.isascii()
        self._decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        self._offset = 0  # raw bytes converted so far
        self._out = memoryview(self._convert(first, not first))
        if self.encoding == "utf-8" and bytes(self._out[:3]) == codecs.BOM_UTF8:
            self._out = self._out[3:]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (fewer is not the end; ``b""`` is). A read past what was
        converted goes to the raw stream in one piece: valid UTF-8 comes back as read,
        with no copy in between (``readinto``, used by a buffered reader, copies)."""
        if size < 0:
            return self.readall()
        if size == 0:
            return b""
        if self._out:
            out, self._out = bytes(self._out[:size]), self._out[size:]
            return out
        while True:
            chunk = self._raw.read(size)
            converted = self._convert(chunk, not chunk)
            if converted or not chunk:
                return converted

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._out:
            chunk = self._raw.read(_BLOCK)
            converted = self._convert(chunk, not chunk)
            if not chunk and not converted:
                return 0
            self._out = memoryview(converted)
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._out))
        view[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()

    def warnings(self) -> list[str]:
        """What the reading of the file should tell: a guessed encoding (and how to give
        the right one), NUL characters removed. Complete once the stream is read."""
        said = []
        if not self.sure:
            said.append(
                f"{self._source}: read as {self.encoding} text, a guess (the file is not "
                "UTF-8 and has no BOM); if some characters look wrong, give the file's "
                "encoding: --encoding on the command line, the option encoding over the API"
            )
        if self.nuls:
            said.append(
                f"{self._source}: {self.nuls:,} NUL character(s) removed (a NUL is not text: "
                "no database keeps one)"
            )
        return said

    def _convert(self, chunk: bytes, final: bool) -> bytes:
        while True:
            try:
                out = self._decode(chunk, final)
                break
            except UnicodeDecodeError as exc:
                if not self._fall_back():
                    raise self._error(exc) from None
        self._offset += len(chunk)
        if b"\x00" in out:
            cleaned = out.replace(b"\x00", b"")
            self.nuls += len(out) - len(cleaned)
            return cleaned
        return out

    def _decode(self, chunk: bytes, final: bool) -> bytes:
        if self.encoding != "utf-8":
            return self._decoder.decode(chunk, final).encode("utf-8")
        if chunk.isascii() and self._decoder.getstate()[0] == b"":
            return chunk  # ASCII is valid UTF-8: nothing to check
        self._decoder.decode(chunk, final)
        self._may_switch = False  # real UTF-8 seen: no going back to cp1252
        return chunk

    def _fall_back(self) -> bool:
        """Switch a guessed encoding that failed to one that agrees on what was read."""
        if self._may_switch and self.encoding == "utf-8":  # only ASCII so far
            self.encoding = "cp1252"
        elif self._guessed and self.encoding == "cp1252":  # latin-1 reads every byte
            self.encoding = "latin-1"
        else:
            return False
        self.sure = False
        self._may_switch = False
        self._decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        return True

    def _error(self, exc: UnicodeDecodeError) -> EncodingError:
        where = self._offset + exc.start
        line = self._line_at(where)
        return EncodingError(
            f"{self._source}: not valid {self.encoding} text at line {line} (byte {where}): "
            f"{exc.reason}; set the encoding option to the file's real encoding",
            file=self._source,
            encoding=self.encoding,
            line=line,
        )

    def _line_at(self, offset: int) -> int:
        """The line of a byte offset: counted again from the start, on errors only."""
        decoder = codecs.getincrementaldecoder(self.encoding)("replace")
        lines = 1
        with self._reopen() as f:
            while offset > 0:
                block = f.read(min(_BLOCK, offset))
                if not block:
                    break
                offset -= len(block)
                lines += decoder.decode(block).count("\n")
        return lines


def open_utf8(
    path: Path, encoding: str | None, expanded: int = EXPANDED, count: ByteCount | None = None
) -> io.BufferedReader:
    """The file as a buffered stream of valid UTF-8 bytes, without BOM."""
    stream = open_utf8_blocks(path, encoding, expanded, count)
    return io.BufferedReader(stream, buffer_size=_BLOCK)


def stream_warnings(stream: io.BufferedReader) -> list[str]:
    """The warnings of a stream of ``open_utf8`` (a guessed encoding, NUL removed)."""
    return cast(Utf8Stream, stream.raw).warnings()


def open_utf8_blocks(
    path: Path, encoding: str | None, expanded: int = EXPANDED, count: ByteCount | None = None
) -> Utf8Stream:
    """The file as an unbuffered stream of valid UTF-8 bytes, without BOM: for readers
    that read it in large blocks (each one then costs a single copy)."""
    raw = open_raw(path, expanded, count)
    try:
        return Utf8Stream(raw, encoding, path.name, lambda: open_raw(path, expanded))
    except BaseException:
        raw.close()
        raise
