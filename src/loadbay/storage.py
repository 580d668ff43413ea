"""Where upload bytes live: ``<data dir>/uploads/``, written as a stream, hashed on the way.

A file is written under a temporary name, hashed (sha256) and counted as it arrives; past
the size limit it is removed and :class:`PayloadTooLarge` raised, so nothing over the
limit is ever kept. ``commit`` gives it its final name; an upload is never changed after.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from loadbay.errors import PayloadTooLarge


@dataclass(frozen=True)
class StoredFile:
    path: Path
    size: int
    sha256: str


class UploadWriter:
    """One file being received. Use ``write`` for each chunk, then ``commit`` or ``abort``."""

    def __init__(self, folder: Path, limit: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        self._tmp = folder / f".incoming-{secrets.token_hex(8)}"
        self._file: BinaryIO | None = open(self._tmp, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise ValueError("the upload is closed")
        self.size += len(chunk)
        if self.size > self.limit:
            self.abort()
            raise PayloadTooLarge(
                f"the file is larger than the {self.limit:,} bytes allowed "
                "(LOADBAY_MAX_UPLOAD_BYTES)",
                limit=self.limit,
            )
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self, name: str) -> StoredFile:
        """Close the file and give it its final name (no path parts, no leading dot)."""
        if self._file is None:
            raise ValueError("the upload is closed")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        final = self.folder / name
        os.replace(self._tmp, final)
        return StoredFile(final, self.size, self._hash.hexdigest())

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)


class Storage:
    """The upload folder."""

    def __init__(self, data_dir: Path, limit: int) -> None:
        self.folder = data_dir / "uploads"
        self.limit = limit

    def writer(self) -> UploadWriter:
        return UploadWriter(self.folder, self.limit)

    def path_of(self, name: str) -> Path:
        return self.folder / name

    def remove(self, path: Path) -> None:
        if path.parent.resolve() == self.folder.resolve():
            path.unlink(missing_ok=True)
