"""A 1,000,000-row CSV through the web importer in a real browser: upload → check → run →
result, while the server's memory (its process and every worker under it) is sampled.

Opt-in, not a test (it takes minutes):

    .venv/bin/python -m benchmarks.web_million                 # SQLite, 1,000,000 rows
    .venv/bin/python -m benchmarks.web_million --rows 50000    # a quick look
    .venv/bin/python -m benchmarks.web_million --db postgres

It starts ``loadbay serve`` (its default settings, embedded workers) on a temporary data
folder and database, signs in with chromium (``/usr/bin/chromium`` through Playwright),
uploads a companies CSV with ``--bad`` bad cells (lenient, so it runs), maps, checks,
looks at the grouped errors and failed rows, starts the run, waits for the live progress
to settle, and pages the result. It prints the time of each step, the server's resident
memory (baseline after start, peak, and the peak of each step) and the page's JS heap at
each step: neither should grow with the file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.api.server import Server, base_env, database, start_server
from tests.web.test_browser import ARGS, CHROMIUM

from benchmarks.soak import rss_kib, write_companies

#: the settings the test harness tunes, back to loadbay's defaults
DEFAULTS = ("LOADBAY_SCHEMA", "LOADBAY_CHUNK_SIZE", "LOADBAY_LEASE_SECONDS", "LOADBAY_WORKERS")
WAIT_MS = 3_600_000


def own_rss_kib(pid: int) -> int:
    """Resident memory of one process (not its children), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler:
    """The resident memory of a process tree (and of its first process alone: the HTTP
    server, without its workers) every ``every`` seconds, by step."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every = pid, every
        self.step = "start"
        self.peaks: dict[str, int] = {}
        self.server_peaks: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            kib, own = rss_kib(self.pid), own_rss_kib(self.pid)
            self.peaks[self.step] = max(self.peaks.get(self.step, 0), kib)
            self.server_peaks[self.step] = max(self.server_peaks.get(self.step, 0), own)
            self.stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


@contextmanager
def serve(kind: str, folder: Path) -> Iterator[Server]:
    with database(kind, folder) as url:
        env = base_env(folder / "data", url)
        for name in DEFAULTS:
            env.pop(name, None)
        server = start_server(env, log=folder / "server.log")
        try:
            yield server
        finally:
            server.process.stop()


class Flow:
    """The browser's walk, step by step, timed; the JS heap after each step."""

    def __init__(self, page: Any, sampler: Sampler) -> None:
        self.page, self.sampler = page, sampler
        self.seconds: dict[str, float] = {}
        self.heap_mib: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.sampler.step = name
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 1)
        heap = self.page.evaluate(
            "window.gc && window.gc(), performance.memory ? performance.memory.usedJSHeapSize : 0"
        )
        self.heap_mib[name] = round(heap / 2**20, 1)
        print(f"  {name}: {self.seconds[name]} s", file=sys.stderr, flush=True)

    def settled(self, *states: str) -> None:
        selector = ", ".join(f"#state-line .state-{s}" for s in states)
        self.page.locator(selector).wait_for(timeout=WAIT_MS)


def walk(server: Server, csv_path: Path, sampler: Sampler) -> Flow:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        browser = play.chromium.launch(
            executable_path=str(CHROMIUM), args=[*ARGS, "--js-flags=--expose-gc"]
        )
        page = browser.new_page(base_url=server.url, viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        flow = Flow(page, sampler)
        with flow.step("sign_in"):
            page.goto("/signin")
            page.get_by_label("API token").fill(server.token("default", "write"))
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(server.url + "/")
        with flow.step("upload"):
            page.goto("/new")
            page.get_by_label("Table").select_option("companies")
            page.locator("#files").set_input_files(str(csv_path))
            page.get_by_text("✔ uploaded").wait_for(timeout=WAIT_MS)
        with flow.step("columns"):
            page.get_by_role("button", name="Next: columns").click()
            page.wait_for_url("**/new/columns?**")
        with flow.step("check"):
            page.get_by_label("lenient").check()
            page.get_by_role("button", name="Check: dry run of the whole file").click()
            flow.settled("validated", "failed")
        with flow.step("check_page_2"):
            page.get_by_role("link", name="Next failed rows").click()
            page.locator("table.failed").wait_for()
        with flow.step("run"):
            page.go_back()
            page.get_by_role("button", name="Start the import").click()
            flow.settled("succeeded", "partially_succeeded", "failed")
        with flow.step("result"):
            page.get_by_label("Outcome").select_option("failed")
            page.get_by_role("button", name="Show").click()
            page.locator("#rows-h").wait_for()
        flow.counts = {  # type: ignore[attr-defined]
            k: int(
                "".join(
                    c for c in page.locator(f'[data-count="{k}"]').first.inner_text() if c.isdigit()
                )
            )
            for k in ("created", "failed")
        }
        browser.close()
    return flow


def run(kind: str, rows: int, bad: int, folder: Path) -> dict[str, Any]:
    csv_path = folder / "companies.csv"
    started = time.perf_counter()
    write_companies(csv_path, rows, 1, bad)
    print(
        f"wrote {rows:,} rows ({csv_path.stat().st_size / 2**20:.0f} MiB) in "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    with serve(kind, folder) as server:
        time.sleep(2)  # the workers start
        baseline = rss_kib(server.process.proc.pid)
        with Sampler(server.process.proc.pid) as sampler:
            flow = walk(server, csv_path, sampler)
    peaks = {k: round(v / 1024) for k, v in sampler.peaks.items()}
    alone = {k: round(v / 1024) for k, v in sampler.server_peaks.items()}
    return {
        "db": kind,
        "rows": rows,
        "file_mib": round(csv_path.stat().st_size / 2**20),
        "seconds": flow.seconds,
        "counts": getattr(flow, "counts", {}),
        "server_rss_mib": {  # loadbay serve and its worker processes
            "baseline": round(baseline / 1024),
            "peak": max(peaks.values(), default=0),
            "peak_by_step": peaks,
        },
        "http_process_rss_mib": {  # the process that serves the pages, without workers
            "peak": max(alone.values(), default=0),
            "peak_by_step": alone,
        },
        "page_js_heap_mib": flow.heap_mib,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad", type=int, default=200, help="rows with a bad cell")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"no chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="loadbay-web-million-"))
    try:
        report = run(args.db, args.rows, args.bad, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
