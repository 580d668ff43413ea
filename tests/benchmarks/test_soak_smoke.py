"""The soak (benchmarks/soak.py) for a few seconds against a real ``loadbay serve``, on both
databases: mixed imports on both size paths, dry runs, cancels, reverts and bulk requests,
then no import stuck, no scratch file left, no 5xx answer. The real soak runs 30 minutes
(``python -m benchmarks.soak``); memory flatness means nothing over a few seconds, so it is
not checked here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import soak


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_short_soak_leaves_nothing_stuck(kind: str, tmp_path: Path) -> None:
    report = soak.run(kind, seconds=12, clients=2, big_rows=4_000, folder=tmp_path)
    problems = [p for p in report["problems"] if not p.startswith("memory grew")]
    assert problems == []
    assert report["client_errors"] == []
    assert report["imports"] > 0
