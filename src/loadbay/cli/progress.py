"""The live display of an import's progress on stderr: its phase, a bar with the percent
(of the bytes read while the rows are not known, then of the rows done in the write
phase), rows, rows a second and the time left. Fed the ``progress`` objects of the run
(service/progress.py): locally every one the runner makes, remotely each one the
server's event stream sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

#: a progress object of a run, as JSON (``Import.progress``; plus ``state`` for a remote
#: import)
Snapshot = Mapping[str, object]
#: what the display is told: each progress object
Show = Callable[[Snapshot], None]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class Fields(NamedTuple):
    """What the display shows of a progress object: the bar's description, completed and
    total (None: a bar with no measure, which pulses), and its text columns."""

    description: str
    completed: float
    total: float | None
    percent: str
    rows: str
    rate: str
    eta: str


def fields_of(snapshot: Snapshot) -> Fields:
    """What the display shows of a progress object."""
    phase = str(snapshot.get("phase") or snapshot.get("state") or "starting")
    percent = _number(snapshot.get("percent"))
    writing = phase in ("writing", "reporting")
    rows = int(_number(snapshot.get("rows_written" if writing else "rows_read")) or 0)
    rate = _number(snapshot.get("rows_per_second")) or 0
    eta = _number(snapshot.get("eta_seconds"))
    return Fields(
        description=phase,
        completed=percent or 0,
        total=None if percent is None else 100,
        percent="" if percent is None else f"{percent:5.1f}%",
        rows=f"{rows:,} rows" + (" done" if writing else " read"),
        rate=f"{rate:,.0f} rows/s" if rate else "",
        eta="" if eta is None else f"ETA {clock(eta)}",
    )


def clock(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


@contextmanager
def live_progress(enabled: bool, console: Console) -> Iterator[Show | None]:
    """A function that shows each progress object on ``console`` (cleared at the end), or
    None when nothing is to be shown (``--quiet``, ``--json``, not a terminal)."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.fields[percent]}"),
        TextColumn("{task.fields[rows]}"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[eta]}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None, percent="", rows="", rate="", eta="")

        def show(snapshot: Snapshot) -> None:
            f = fields_of(snapshot)
            bar.update(
                task,
                description=f.description,
                completed=f.completed,
                total=f.total,
                percent=f.percent,
                rows=f.rows,
                rate=f.rate,
                eta=f.eta,
            )
            bar.refresh()  # each object drawn (a phase may end between two auto refreshes)

        yield show
