"""Where a profiled loadbay import spends its time: py-spy's collapsed stacks, summed.

``python -m benchmarks.run --profile`` records the first (b) and (c) of each database
with ``py-spy record --idle --format raw`` (time waiting on PostgreSQL included) into
``benchmarks/out/profile-<db>-<b|c>-<rows>.txt``; then

    .venv/bin/python -m benchmarks.profile benchmarks/out/profile-postgres-c-1000000.txt

prints the share of samples per engine step (the innermost loadbay function of a stack
that is a known step) and the functions with the most samples, inclusive and self.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

#: engine functions that name a step, innermost first wins
STEPS = (
    "_record_failures",
    "insert_sqlite",
    "copy_frame",
    "to_sqlite_values",
    "append_frame",
    "validate",
    "apply_map",
    "parse_chunk",
    "rebatch",
    "record_chunks",
    "read_file",
    "create_stage",
    "create_plan_table",
    "summarise_plan",
    "_allocate_sqlite_ids",
    "_insert_created",
    "write_chunk",
    "save_results",
    "collect_results",
    "collect_errors",
    "count_outcomes",
    "_cleanup",
    "_finish",
    "table_locks",
    "_ingest",
    "_write_atomic",
    "open_context",
    "run_import",
    "create_import",
)
_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+):?(?P<line>\d*)\)$")


@dataclass(frozen=True)
class Frame:
    function: str
    file: str
    line: str

    @property
    def label(self) -> str:
        name = self.file.rsplit("site-packages/", 1)[-1].rsplit("/src/", 1)[-1]
        return f"{self.function} ({name}:{self.line})" if self.line else f"{self.function} ({name})"


def parse_frame(text: str) -> Frame:
    found = _FRAME.match(text.strip())
    if found is None:
        return Frame(text.strip(), "", "")
    return Frame(found["func"], found["file"], found["line"])


def read_stacks(path: Path) -> list[tuple[list[Frame], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([parse_frame(f) for f in stack.split(";")], int(count)))
    return stacks


def step_of(frames: list[Frame]) -> str:
    names = [f.function for f in frames]
    for frame_name in reversed(names):
        if frame_name in STEPS:
            return frame_name
    return "(outside the import)"


def summarise(path: Path, top: int = 25) -> str:
    stacks = read_stacks(path)
    total = sum(n for _, n in stacks) or 1
    steps: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, n in stacks:
        steps[step_of(frames)] += n
        for label in {f.label for f in frames}:
            inclusive[label] += n
        own[frames[-1].label] += n
    lines = [f"{path.name}: {total} samples", "", "by engine step (innermost known step):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in steps.most_common()]
    lines += ["", f"top {top} functions, inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {label}" for label, n in inclusive.most_common(top)]
    lines += ["", f"top {top} functions, self:"]
    lines += [f"  {100 * n / total:5.1f}%  {label}" for label, n in own.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m benchmarks.profile PROFILE.txt [...]", file=sys.stderr)
        return 2
    for name in argv:
        print(summarise(Path(name)))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
