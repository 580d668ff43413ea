"""The workers of ``loadbay serve``: child processes, watched by the server.

An import runs in a worker process of its own, never in the process that serves the API:
a native crash in a reader (SIGABRT, SIGSEGV) or the kernel's OOM killer takes down that
worker only. The supervisor (a thread of the server) starts ``LOADBAY_WORKERS`` of them,
each running one import at a time; when one dies it frees that worker's imports at once
(noting why, for the error of an import given up after ``LOADBAY_MAX_ATTEMPTS``), queues
them again and starts a new worker. On shutdown it asks each worker to stop (closing its
pipe), which finishes or hands back its import; a worker whose server died stops too.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from loadbay.config import Settings
from loadbay.jobs import SHUTDOWN_SECONDS, Jobs, Reaper

log = logging.getLogger("loadbay.workers")

#: a worker that dies sooner than this after its start is started again only after a pause
QUICK_DEATH_SECONDS = 5.0
RESTART_PAUSE_SECONDS = 1.0

Target = Callable[[Settings, Connection], None]


def worker_process(settings: Settings, stop: Connection) -> None:
    """One worker process: runs imports, one at a time, until ``stop`` is closed by its
    supervisor (or by its death) or SIGTERM comes; then hands back what it runs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    jobs = Jobs(settings)
    jobs.context()
    consumer = jobs.consumer(1, embedded=True)
    consumer.start()
    try:
        while not stopping.is_set() and not stop.poll(0.5):
            pass
    finally:
        consumer.stop(graceful=True)
        jobs.leases().hand_back()  # an import still running goes on elsewhere, not counted
        jobs.close()
        jobs.context().close()


def exit_reason(code: int | None) -> str:
    """How a process ended, from its exit code (negative: the signal that killed it)."""
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class _Child:
    process: BaseProcess
    stop: Connection  # closing it asks the worker to stop
    started: float


class Supervisor:
    """Starts the worker processes, replaces a dead one, stops them all on shutdown.
    ``target``: what a worker process runs (tests hand over their own)."""

    def __init__(self, jobs: Jobs, count: int, target: Target = worker_process) -> None:
        self.jobs = jobs
        self.count = count
        self.target = target
        self.mp = multiprocessing.get_context("spawn")
        self.children: list[_Child] = []
        self.stopping = threading.Event()
        self.reaper: Reaper = jobs.reaper()
        self.watcher = threading.Thread(target=self._watch, name="loadbay-supervisor", daemon=True)
        self.died: list[str] = []  # how each worker that died ended

    def start(self) -> None:
        self.jobs.leases()  # the lease table exists before any worker starts
        self.children = [self._spawn(n) for n in range(self.count)]
        self.reaper.start()
        self.watcher.start()
        log.info("%d worker processes started", self.count)

    def _spawn(self, slot: int) -> _Child:
        reader, writer = self.mp.Pipe(duplex=False)
        process: Any = self.mp.Process(
            target=self.target, args=(self.jobs.settings, reader), name=f"loadbay-worker-{slot}"
        )
        process.start()
        reader.close()
        return _Child(process, writer, time.monotonic())

    def _watch(self) -> None:
        while not self.stopping.is_set():
            ready = wait([c.process.sentinel for c in self.children], timeout=1.0)
            for slot, child in enumerate(self.children):
                if child.process.sentinel in ready and not self.stopping.is_set():
                    self._replace(slot, child)

    def _replace(self, slot: int, child: _Child) -> None:
        """A worker died: its imports go to the others now, and a new one takes its place."""
        child.process.join()
        child.stop.close()
        pid, reason = child.process.pid, exit_reason(child.process.exitcode)
        log.error("worker process %s %s; a new one starts", pid, reason)
        self.died.append(reason)
        try:
            if pid is not None and self.jobs.leases().expire_held(pid, f"worker {pid} {reason}"):
                self.reaper.sweep()  # queued again (or given up) at once
        except Exception:
            log.exception("freeing the imports of worker process %s failed", pid)
        if time.monotonic() - child.started < QUICK_DEATH_SECONDS:
            self.stopping.wait(RESTART_PAUSE_SECONDS)  # no busy loop of a worker that cannot start
        if not self.stopping.is_set():
            self.children[slot] = self._spawn(slot)

    def stop(self) -> None:
        """Ask every worker to stop, wait for them (an import gets SHUTDOWN_SECONDS to end),
        kill those that do not."""
        self.stopping.set()
        self.reaper.stop()
        self.watcher.join()
        for child in self.children:
            child.stop.close()
        deadline = time.monotonic() + SHUTDOWN_SECONDS + 30
        for child in self.children:
            child.process.join(max(deadline - time.monotonic(), 0.1))
            if child.process.is_alive():
                log.warning("worker process %s did not stop; killed", child.process.pid)
                child.process.kill()
                child.process.join()
