"""One measurement in a fresh process, so its heap and its peak RSS are its own.

``python -m benchmarks.worker '<task as JSON>'`` prints the result as one JSON line (the
last line of stdout). ``run_task`` starts it (optionally under py-spy) and parses it.
Tasks: ``pipeline`` (a), ``loadbay`` (b, c, e: the files imported one after the other in
this one process), ``raw`` (d, and the raw control of e: the same, the raw way), ``dlt``
(g: the peer on PostgreSQL, ``benchmarks.peers``), ``sqlite_utils`` (h: the peer on
SQLite, the same module).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import experiments, harness
from loadbay.config import Settings
from loadbay.schema import load_catalog

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mib() -> float:
    """The peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _settings(task: dict[str, Any]) -> Settings:
    return Settings(
        data_dir=Path(task["data_dir"]),
        database_url=task["url"],
        tenant=task.get("tenant", "default"),
    )


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task here; the result includes this process's peak RSS."""
    baseline = peak_rss_mib()
    kind = task["task"]
    result: dict[str, Any] = {"task": kind, "baseline_rss_mib": baseline}
    if kind == "pipeline":
        run = harness.pipeline_only(Path(task["path"]), load_catalog(None))
        result.update(asdict(run), rows_per_s=run.rows / run.seconds)
    elif kind == "loadbay":
        experiments.apply(task.get("experiments", []))
        rss_after: list[float] = []
        runs = harness.loadbay_imports(
            _settings(task),
            [Path(p) for p in task["paths"]],
            sql_profile=bool(task.get("sql_profile")),
            after_each=lambda _run: rss_after.append(peak_rss_mib()),
        )
        result["runs"] = [
            {**asdict(r), "rows_per_s": r.rows_per_s, "peak_rss_mib": rss}
            for r, rss in zip(runs, rss_after, strict=True)
        ]
    elif kind == "dlt":
        from benchmarks import peers  # the bench extra: only this task needs it

        work = Path(task["work_dir"])
        result["runs"] = []
        for path, fresh in zip(task["paths"], task["fresh"], strict=True):
            peer = peers.dlt_load(task["url"], task["dataset"], work, Path(path), fresh)
            if peer.stored != peer.rows:  # every key of these files once, and no other
                raise RuntimeError(f"dlt stored {peer.stored:,} rows of {peer.rows:,}: {peer}")
            result["runs"].append({**asdict(peer), "rows_per_s": peer.rows_per_s})
    elif kind == "sqlite_utils":
        from benchmarks import peers  # the bench extra: only this task needs it

        result["runs"] = []
        for path, fresh in zip(task["paths"], task["fresh"], strict=True):
            peer = peers.sqlite_utils_load(Path(task["db_path"]), Path(path), fresh)
            if peer.stored != peer.rows:  # every key of these files once, and no other
                raise RuntimeError(
                    f"sqlite-utils stored {peer.stored:,} rows of {peer.rows:,}: {peer}"
                )
            result["runs"].append({**asdict(peer), "rows_per_s": peer.rows_per_s})
    elif kind == "raw":
        result["runs"] = []
        for path in task["paths"]:
            raw = harness.raw_load(_settings(task), Path(path))
            result["runs"].append({**asdict(raw), "rows_per_s": raw.rows_per_s})
    else:
        raise ValueError(f"unknown task {kind!r}")
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def run_task(task: dict[str, Any], profile: Path | None = None) -> dict[str, Any]:
    """Run ``task`` in a new Python process (under ``py-spy record`` with ``profile``)."""
    command = [sys.executable, "-m", "benchmarks.worker", json.dumps(task)]
    if profile is not None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        profile.parent.mkdir(parents=True, exist_ok=True)
        # --idle: time waiting on PostgreSQL counts too; raw = collapsed stacks (profile.py)
        command = [spy, "record", "--idle", "--rate", "50", "--format", "raw",
                   "--output", str(profile), "--", *command]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"benchmark worker failed ({done.returncode}) on {task}:\n{done.stderr[-4000:]}"
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"benchmark worker printed no result:\n{done.stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m benchmarks.worker '<task as JSON>'", file=sys.stderr)
        return 2
    print(json.dumps(execute(json.loads(argv[0]))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
