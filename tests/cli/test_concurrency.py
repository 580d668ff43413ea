"""Two imports into the same table at once never interleave: the second plans after the first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli import ROOT

ROWS = 20_000


def test_two_processes_import_the_same_rows(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "companies.csv"
    data.write_text("name,due_days\n" + "".join(f"C{i},{i % 60}\n" for i in range(ROWS)))
    env = {**env, "LOADBAY_CHUNK_SIZE": "1000"}
    # create the database first, so both processes start on an existing schema
    subprocess.run(
        [sys.executable, "-m", "loadbay", "tables", "--json"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loadbay",
                "import",
                str(data),
                "--json",
                "--error-handling",
                handling,
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for handling in ("strict", "lenient")
    ]
    bodies = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
        bodies.append(json.loads(out))
    counts = sorted((b["counts"]["created"], b["counts"]["unchanged"]) for b in bodies)
    assert counts == [(0, ROWS), (ROWS, 0)]
