"""The benchmark command as the smoke tests run it: its data, work and output under the
test's own folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import run as bench_run


def run_command(tmp_path: Path, rows: int, db: str, *options: str) -> dict[str, Any]:
    """``benchmarks.run`` of ``rows`` on ``db`` (and ``options``), which must end well;
    the figures it wrote."""
    out = tmp_path / "latest.json"
    code = bench_run.main(
        [
            *("--rows", str(rows), "--db", db),
            *("--data-dir", str(tmp_path / "data"), "--work-dir", str(tmp_path / "work")),
            *("--out", str(out), *options),
        ]
    )
    assert code == 0
    summary: dict[str, Any] = json.loads(out.read_text())
    return summary
