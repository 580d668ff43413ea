"""Does any key repeat among the staged rows? 8 bytes per row, one check at the end.

The plan needs its dedupe pass (a window over the staged rows) only when a key repeats, so
staging notes it: each batch adds the 64-bit hashes of its keys, and once staging is done
one sort of all of them answers. That is 8 bytes a row (40 MB for 5M rows) and one
O(n log n) pass — where a hash set probed and grown per batch cost seconds and hundreds of
MiB at 5M rows. A hash collision only costs the dedupe pass, never a wrong result.
"""

from __future__ import annotations

import polars as pl


class RepeatedKeys:
    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self._hashes: list[pl.Series] = []

    def add(self, frame: pl.DataFrame) -> None:
        if self.columns and frame.height:
            key = pl.struct(list(self.columns)).hash().alias("h")
            self._hashes.append(frame.select(key).to_series())

    def found(self) -> bool:
        """Whether any key was added twice; frees what it kept."""
        if not self._hashes:
            return False
        hashes = pl.concat(self._hashes, rechunk=True).sort()
        self._hashes = []
        return bool((hashes == hashes.shift(1)).any())
