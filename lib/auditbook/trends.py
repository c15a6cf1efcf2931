"""Trends across runs: each test's status and deviation count in the earlier packages of an output folder.

Earlier packages are found as ``<out>/<period>/<run-id>/results.json`` (staging folders and
``scratch`` are skipped) and ordered by period start, then run id. Only runs before the current
one count. They are read, not verified: ``auditbook verify`` checks each package on its own.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditbook import cells, layout

RUN_ID = re.compile(r"^\d{8}T\d{6}Z$")
CHART_RUNS = 8  # the chart shows the last runs only; the table of changes compares with the previous one
STATUS_MARKERS = {"PASS": ("o", "#1b7f3b"), "FAIL": ("o", "#b3261e"), "ERROR": ("X", "#7a4b00"),
                  "NOT_APPLICABLE": ("s", "#8a9099")}


@dataclass
class RunPoint:
    period: str
    period_start: str
    run_id: str
    path: str
    tests: dict[str, dict[str, Any]]  # test id → criterion, status, deviation_count, accepted_count
    deviations: set[tuple[str, str]] = field(default_factory=set)  # (test id, resource id)

    @property
    def key(self) -> tuple[str, str]:
        return (self.period_start, self.run_id)

    @property
    def label(self) -> str:
        return f"{self.period} {self.run_id[4:8]}-{self.run_id[9:13]}"


@dataclass
class History:
    runs: list[RunPoint]  # oldest first; the current run is last
    skipped: list[str]

    @property
    def current(self) -> RunPoint | None:
        return self.runs[-1] if self.runs else None

    @property
    def previous(self) -> RunPoint | None:
        return self.runs[-2] if len(self.runs) > 1 else None


def _deviations(path: Path) -> set[tuple[str, str]]:
    if not path.is_file():
        return set()
    with open(path, newline="", encoding="utf-8") as fh:
        return {(r["test_id"], cells.restore(r["resource_id"])) for r in csv.DictReader(fh)}


def point(results: dict[str, Any], package: Path) -> RunPoint:
    tests = {t["id"]: {"criterion": c["criterion"], "title": t["title"], "status": t["status"],
                       "deviation_count": t["deviation_count"], "accepted_count": t.get("accepted_count", 0)}
             for c in results["criteria"] for t in c["tests"]}
    return RunPoint(results["period"]["label"], results["period"]["start"], results["run_id"], str(package), tests,
                    _deviations(package / layout.EXCEPTIONS_CSV))


def history(out_root: Path, current: dict[str, Any], current_dir: Path | None = None) -> History:
    """The runs before ``current`` in ``out_root``, then ``current`` itself."""
    runs, skipped = [], []
    now = point(current, current_dir) if current_dir else point(current, Path("."))
    for results_file in sorted(Path(out_root).glob("*/*/results.json")):
        package = results_file.parent
        if not RUN_ID.match(package.name) or package.parent.name == "scratch":
            continue
        try:
            data = json.loads(results_file.read_text())
            run = point(data, package)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            skipped.append(f"{package}: unreadable results.json ({type(exc).__name__})")
            continue
        if run.run_id == now.run_id or data.get("organization") != current.get("organization"):
            continue
        if run.key < now.key:
            runs.append(run)
    runs.sort(key=lambda r: r.key)
    return History([*runs, now], skipped)


def changes(hist: History) -> dict[str, Any]:
    """What changed since the previous run: statuses, tests added or gone, deviations new or resolved."""
    cur, prev = hist.current, hist.previous
    if cur is None or prev is None:
        return {}
    status_changes = [(tid, prev.tests[tid]["status"], t["status"]) for tid, t in cur.tests.items()
                      if tid in prev.tests and prev.tests[tid]["status"] != t["status"]]
    compared = set(cur.tests) & set(prev.tests)  # deviations of tests in both runs
    return {
        "previous": prev.label,
        "previous_path": prev.path,
        "status_changes": sorted(status_changes),
        "new_tests": sorted(set(cur.tests) - set(prev.tests)),
        "removed_tests": sorted(set(prev.tests) - set(cur.tests)),
        "new_deviations": sorted(d for d in cur.deviations - prev.deviations if d[0] in compared),
        "resolved_deviations": sorted(d for d in prev.deviations - cur.deviations if d[0] in compared),
    }


def chart_png(hist: History, criterion: str) -> str | None:
    """Deviations per test across the last runs, one line per test, markers coloured by status (base64 PNG)."""
    runs = hist.runs[-CHART_RUNS:]
    if len(runs) < 2:
        return None
    tests = sorted({tid for r in runs for tid, t in r.tests.items() if t["criterion"] == criterion})
    if not tests:
        return None
    from matplotlib.figure import Figure  # no pyplot: the runner draws without a display

    fig = Figure(figsize=(7.0, 2.4), dpi=110)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    xs = list(range(len(runs)))
    for tid in tests:
        ys = [r.tests[tid]["deviation_count"] if tid in r.tests else None for r in runs]
        shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        line = ax.plot([x for x, _ in shown], [y for _, y in shown], linewidth=1, alpha=0.7,
                       label=tid.split("-", 1)[1])[0]
        for x, r in zip(xs, runs, strict=True):
            if tid in r.tests:
                marker, colour = STATUS_MARKERS.get(r.tests[tid]["status"], ("o", "#333"))
                ax.scatter([x], [r.tests[tid]["deviation_count"]], marker=marker, color=colour, s=18, zorder=3,
                           edgecolors=line.get_color(), linewidths=0.6)
    ax.set_xticks(xs, [r.label for r in runs], fontsize=7)
    ax.set_ylabel("deviations", fontsize=8)
    ax.set_title(f"{criterion}: deviations per test by run (marker colour = status)", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=6.5, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()
