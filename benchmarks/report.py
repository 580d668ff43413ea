"""From the workers' results to figures: medians, ratios, targets, a table and JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: the targets of issue #4
PIPELINE_TARGET = 1_000_000  # (a) rows/s
RATIO_TARGET = 0.5  # (b)/(d) and (c)/(d), loadbay rows/s over raw rows/s
DRIFT_TARGET = 1.5  # (e) slowest run within this many times the first
MEMORY_TARGET_MIB = 1024.0  # peak RSS of a loadbay run (1 GiB)
FLAT_TARGET = 1.25  # peak RSS at the larger size within this many times the smaller
BULK_TARGET_MS = 50.0  # (f) median answer to a synchronous bulk request of 100 records
DB_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
#: the targets of issue #20 on PostgreSQL: loadbay rows/s over the peer's (g) and the raw
#: path's (d), fresh (b) and upsert (c): (ratio key, label, goal)
PEER_TARGETS = (
    ("ratio_b_g", "(b)/(g) fresh vs dlt", 0.7),
    ("ratio_c_g", "(c)/(g) upsert vs dlt merge", 1.0),
    ("ratio_b_d", "(b)/(d) fresh vs raw (#20)", 0.8),
    ("ratio_c_d", "(c)/(d) upsert vs raw (#20)", 0.8),
)
#: the target of issue #20 on SQLite: loadbay rows/s over sqlite-utils' (h), fresh (b) and
#: upsert (c), "still >= 4x sqlite-utils"
SQLITE_PEER_TARGETS = (
    ("ratio_b_h", "(b)/(h) fresh vs sqlite-utils", 4.0),
    ("ratio_c_h", "(c)/(h) upsert vs sqlite-utils", 4.0),
)


@dataclass(frozen=True)
class Target:
    figure: str
    database: str
    value: float
    goal: str
    met: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "database": self.database,
            "value": round(self.value, 3),
            "target": self.goal,
            "met": self.met,
        }


def median_figure(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run of repeated measurements, with every run's seconds beside it."""
    ordered = sorted(results, key=lambda r: r["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])  # its phases and counts are shown
    seconds = statistics.median(r["seconds"] for r in results)
    chosen["seconds"] = seconds
    chosen["rows_per_s"] = chosen["rows"] / seconds if seconds else 0.0
    chosen["all_seconds"] = [round(r["seconds"], 3) for r in results]
    if any("peak_rss_mib" in r for r in results):
        chosen["peak_rss_mib"] = max(r.get("peak_rss_mib", 0.0) for r in results)
    return chosen


def drift(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """(e): the runs, and the slowest against the first."""
    seconds = [r["seconds"] for r in runs]
    return {
        "runs": runs,
        "seconds": [round(s, 3) for s in seconds],
        "first_s": seconds[0],
        "slowest_s": max(seconds),
        "slowest_over_first": max(seconds) / seconds[0] if seconds[0] else 0.0,
    }


def summarise_database(measured: dict[str, Any]) -> dict[str, Any]:
    """Medians of (b), (c), (d) and the ratios, for one database."""
    out: dict[str, Any] = {"version": measured.get("version")}
    for name in ("b", "c", "d_fresh", "d_update", "g_fresh", "g_update", "h_fresh", "h_update"):
        if measured.get(name):
            out[name] = median_figure(measured[name])
    if "b" in out and "g_fresh" in out:
        out["ratio_b_g"] = out["b"]["rows_per_s"] / out["g_fresh"]["rows_per_s"]
    if "c" in out and "g_update" in out:
        out["ratio_c_g"] = out["c"]["rows_per_s"] / out["g_update"]["rows_per_s"]
    if "b" in out and "h_fresh" in out:
        out["ratio_b_h"] = out["b"]["rows_per_s"] / out["h_fresh"]["rows_per_s"]
    if "c" in out and "h_update" in out:
        out["ratio_c_h"] = out["c"]["rows_per_s"] / out["h_update"]["rows_per_s"]
    if "b" in out and "d_fresh" in out:
        out["ratio_b_d"] = out["b"]["rows_per_s"] / out["d_fresh"]["rows_per_s"]
    if "c" in out and "d_update" in out:
        out["ratio_c_d"] = out["c"]["rows_per_s"] / out["d_update"]["rows_per_s"]
    for name in ("e", "e_raw"):
        if measured.get(name):
            result = measured[name]
            out[name] = {**drift(result["runs"]), "peak_rss_mib": result["peak_rss_mib"]}
    if measured.get("f"):
        out["f"] = median_latency(measured["f"])
    return out


def median_latency(results: list[dict[str, Any]]) -> dict[str, Any]:
    """(f): the run with the median of the median latencies, with every run's beside it."""
    ordered = sorted(results, key=lambda r: r["median_ms"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["all_median_ms"] = [round(r["median_ms"], 1) for r in results]
    return chosen


def targets(summary: dict[str, Any]) -> list[Target]:
    found: list[Target] = []
    pipeline = summary.get("pipeline")
    if pipeline:
        rate = pipeline["rows_per_s"]
        found.append(
            Target("(a) rows/s", "-", rate, f">= {PIPELINE_TARGET:,}", rate >= PIPELINE_TARGET)
        )
    for kind, db in summary.get("databases", {}).items():
        found += _database_targets(kind, db)
    for kind, check in summary.get("memory_check", {}).items():
        growth = check["growth"]
        found.append(
            Target("peak RSS flat", kind, growth, f"<= {FLAT_TARGET}x", growth <= FLAT_TARGET)
        )
    return found


def _database_targets(kind: str, db: dict[str, Any]) -> list[Target]:
    found: list[Target] = []
    for name, label in (("ratio_b_d", "(b)/(d)"), ("ratio_c_d", "(c)/(d)")):
        if name in db:
            found.append(
                Target(label, kind, db[name], f">= {RATIO_TARGET}", db[name] >= RATIO_TARGET)
            )
    found += _peer_targets(kind, db)
    if "e" in db:
        value = db["e"]["slowest_over_first"]
        found.append(
            Target("(e) slowest/first", kind, value, f"<= {DRIFT_TARGET}x", value <= DRIFT_TARGET)
        )
    if "f" in db:
        ms = db["f"]["median_ms"]
        found.append(
            Target("(f) bulk median ms", kind, ms, f"< {BULK_TARGET_MS:.0f}", ms < BULK_TARGET_MS)
        )
    for name in ("b", "c", "e"):
        if name in db:
            rss = db[name]["peak_rss_mib"]
            found.append(
                Target(
                    f"({name}) peak RSS MiB",
                    kind,
                    rss,
                    f"< {MEMORY_TARGET_MIB:.0f}",
                    rss < MEMORY_TARGET_MIB,
                )
            )
    return found


def _peer_targets(kind: str, db: dict[str, Any]) -> list[Target]:
    """Issue #20's targets: against dlt and the raw path (PostgreSQL, when (g) ran), against
    sqlite-utils (SQLite, when (h) ran)."""
    goals: tuple[tuple[str, str, float], ...] = ()
    if kind == "postgres" and ("ratio_b_g" in db or "ratio_c_g" in db):
        goals = PEER_TARGETS
    elif kind == "sqlite":
        goals = SQLITE_PEER_TARGETS
    return [
        Target(label, kind, db[name], f">= {goal}", db[name] >= goal)
        for name, label, goal in goals
        if name in db
    ]


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {"meta": measured["meta"]}
    if measured.get("pipeline"):
        summary["pipeline"] = median_figure(measured["pipeline"])
    summary["databases"] = {
        kind: summarise_database(m) for kind, m in measured.get("databases", {}).items()
    }
    memory: dict[str, Any] = {}
    for kind, sizes in measured.get("memory_check", {}).items():
        points = sorted(sizes, key=lambda p: p["rows"])
        memory[kind] = {
            "points": points,
            "growth": points[-1]["peak_rss_mib"] / points[0]["peak_rss_mib"],
        }
    summary["memory_check"] = memory
    summary["targets"] = [t.as_json() for t in targets(summary)]
    return summary


# ---- the printed table --------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _row(cells: list[str], widths: list[int]) -> str:
    pairs = enumerate(zip(cells, widths, strict=True))
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([_row(header, widths), rule, *(_row(r, widths) for r in rows)])


def _figure_row(label: str, fig: dict[str, Any], target: str = "", status: str = "") -> list[str]:
    rss = f"{fig['peak_rss_mib']:.0f}" if "peak_rss_mib" in fig else "-"
    rate = f"{fig['rows_per_s']:,.0f}"
    return [label, f"{fig['rows']:,}", f"{fig['seconds']:.2f}", rate, rss, target, status]


def _phases(fig: dict[str, Any]) -> str:
    timings = fig.get("timings") or {}
    return ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())


def render(summary: dict[str, Any]) -> str:
    meta = summary["meta"]
    lines = [
        f"loadbay throughput — {meta['rows']:,} projects, repeat {meta['repeat']} (median), "
        f"{meta['cpus']} CPUs, Python {meta['python']}, polars {meta['polars']}",
        "",
    ]
    if meta.get("source_at_end", meta.get("source")) != meta.get("source"):
        lines[-1:-1] = ["WARNING: src/ changed while this ran; the figures mix engine versions"]
    if meta.get("experiments"):
        lines[-1:-1] = [f"EXPERIMENT (what-if, not the engine as it is): {meta['experiments']}"]
    header = ["figure", "rows", "seconds", "rows/s", "peak RSS MiB", "target", "status"]
    rows: list[list[str]] = []
    if summary.get("pipeline"):
        fig = summary["pipeline"]
        ok = fig["rows_per_s"] >= PIPELINE_TARGET
        goal = f">= {PIPELINE_TARGET:,} rows/s"
        rows.append(_figure_row("(a) read+map+validate, no database", fig, goal, _met(ok)))
    for kind, db in summary["databases"].items():
        rows += _database_rows(DB_NAMES.get(kind, kind), db)
    lines.append(_table(header, rows))
    for kind, db in summary["databases"].items():
        lines += _details(DB_NAMES.get(kind, kind), db)
    for kind, check in summary.get("memory_check", {}).items():
        points = ", ".join(
            f"{p['rows']:,} rows: {p['peak_rss_mib']:.0f} MiB in {p['seconds']:.1f}s"
            for p in check["points"]
        )
        ok = _met(check["growth"] <= FLAT_TARGET)
        lines.append(
            f"\nmemory check, (b) on {DB_NAMES.get(kind, kind)}: {points}; growth "
            f"{check['growth']:.2f}x (target <= {FLAT_TARGET}x: {ok})"
        )
    met = sum(t["met"] for t in summary["targets"])
    lines.append(f"\ntargets met: {met} of {len(summary['targets'])}")
    return "\n".join(lines)


def _database_rows(name: str, db: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    mem = f"RSS < {MEMORY_TARGET_MIB:.0f} MiB"
    labels = (
        ("b", "(b) loadbay import, fresh", True),
        ("c", "(c) loadbay upsert, update file", True),
        ("d_fresh", "(d) raw bulk path, fresh", False),
        ("d_update", "(d) raw bulk path, update file", False),
        ("g_fresh", "(g) dlt, fresh, unique key", False),
        ("g_update", "(g) dlt merge, update file", False),
        ("h_fresh", "(h) sqlite-utils insert_all, fresh", False),
        ("h_update", "(h) sqlite-utils upsert_all, update", False),
    )
    for key, label, loadbay in labels:
        if key in db:
            fig = db[key]
            status = _met(fig["peak_rss_mib"] < MEMORY_TARGET_MIB) if loadbay else ""
            rows.append(_figure_row(f"{name}: {label}", fig, mem if loadbay else "", status))
    ratios = [
        ("ratio_b_d", "(b)/(d) fresh", RATIO_TARGET),
        ("ratio_c_d", "(c)/(d) update", RATIO_TARGET),
    ]
    if "ratio_b_g" in db or "ratio_c_g" in db:
        ratios += PEER_TARGETS
    if "ratio_b_h" in db or "ratio_c_h" in db:
        ratios += SQLITE_PEER_TARGETS
    for key, label, goal in ratios:
        if key in db:
            value = db[key]
            ok = _met(value >= goal)
            rows.append([f"{name}: {label}", "", "", f"{value:.2f}", "", f">= {goal}", ok])
    if "e" in db:
        e = db["e"]
        ok = e["slowest_over_first"] <= DRIFT_TARGET and e["peak_rss_mib"] < MEMORY_TARGET_MIB
        rows.append(
            [
                f"{name}: (e) 5 upserts, slowest/first",
                "",
                "",
                f"{e['slowest_over_first']:.2f}x",
                f"{e['peak_rss_mib']:.0f}",
                f"<= {DRIFT_TARGET}x, {mem}",
                _met(ok),
            ]
        )
    if "e_raw" in db:
        value = f"{db['e_raw']['slowest_over_first']:.2f}x"
        rows.append([f"{name}: (e) control, raw bulk path", "", "", value, "", "", ""])
    if "f" in db:
        f = db["f"]
        label = f"{name}: (f) bulk requests, {f['requests']} x {f['records_per_request']}"
        rows.append(_figure_row(label, f))
        ok = _met(f["median_ms"] < BULK_TARGET_MS)
        value = f"{f['median_ms']:.1f} / {f['p95_ms']:.1f}"
        goal = f"median < {BULK_TARGET_MS:.0f}"
        rows.append([f"{name}: (f) median / p95 ms", "", "", value, "", goal, ok])
    return rows


def _details(name: str, db: dict[str, Any]) -> list[str]:
    lines = [f"\n{name} ({db.get('version') or '?'}):"]
    for key in ("b", "c"):
        if key in db:
            fig = db[key]
            lines.append(
                f"  ({key}) phases: {_phases(fig)}; counts {_counts(fig['counts'])}; "
                f"runs {fig['all_seconds']} s"
            )
    for key in ("d_fresh", "d_update"):
        if key in db:
            fig = db[key]
            affected = f"rows affected {fig['affected']:,}"
            if fig.get("copy_seconds"):
                affected += f"; COPY {fig['copy_seconds']:.1f}s, upsert + commit the rest"
            lines.append(f"  ({key}) {affected}; runs {fig['all_seconds']} s")
    lines += _peer_details(db)
    if "e" in db:
        runs = ", ".join(
            f"{r['seconds']:.1f}s ({r['rows_per_s']:,.0f}/s, {_counts(r['counts'])})"
            for r in db["e"]["runs"]
        )
        lines.append(f"  (e) {runs}")
    if "e_raw" in db:
        e = db["e_raw"]
        runs = ", ".join(f"{r['seconds']:.1f}s" for r in e["runs"])
        lines.append(
            f"  (e) control, raw bulk path: {runs}; slowest/first {e['slowest_over_first']:.2f}x"
        )
    if "f" in db:
        f = db["f"]
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in f["median_ms_by_kind"].items())
        lines.append(
            f"  (f) {f['requests']} requests after {f['warmup']} warm-up: median "
            f"{f['median_ms']:.1f} ms (by kind: {kinds}), p95 {f['p95_ms']:.1f} ms, min "
            f"{f['min_ms']:.1f}, max {f['max_ms']:.1f}; counts {_counts(f['counts'])}; "
            f"median of runs {f['all_median_ms']} ms"
        )
    return lines


def _peer_details(db: dict[str, Any]) -> list[str]:
    """The peers' runs: (g) dlt, (h) sqlite-utils."""
    lines = []
    peers = (("g", "dlt", "read"), ("h", "sqlite-utils", "csv read + typing"))
    for part, peer, read in peers:
        for key in (f"{part}_fresh", f"{part}_update"):
            if key in db:
                fig = db[key]
                lines.append(
                    f"  ({key}) {peer} {fig['disposition']}: {read} {fig['read_seconds']:.1f}s "
                    f"of {fig['seconds']:.1f}s; stored {fig['stored']:,} rows, {fig['checked']} "
                    f"sampled rows equal the file's; runs {fig['all_seconds']} s"
                )
    return lines


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f"{k} {v:,}" for k, v in counts.items() if v)


def write_json(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
