"""Drill-down helpers for an analyst in JupyterLab: one person's or one repository's whole history in a package.

    from auditbook import explore
    pkg = explore.open_package()              # this session's own run (start() in a notebook), else the newest
                                              # package under outputs/; or a path: a package or a lab run folder
    explore.person(pkg, "dan.dev")            # every row in every population that names dan.dev, and his deviations
    explore.repo(pkg, "payments-api")         # the same for a repository
    explore.where(pkg, "github-merged-pulls", author="alice-ng")   # filter one population

Everything is read from the package's CSVs (the complete populations and exceptions.csv), so what an
analyst sees is what the auditor gets; text a spreadsheet would run was written with a leading ``'``
(auditbook.cells), which is taken off again here. A name matches as a whole token: ``dan.dev`` matches
``123456789012:dan.dev`` but not ``dan.developer``; ``payments-api`` matches ``demo-fintech/payments-api#12``
but not ``payments-api-task``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from auditbook import cells, layout
from auditbook.trends import RUN_ID

SUMMARY_COLUMNS = 6  # non-empty fields shown per matching row in the overview


class NoPackage(FileNotFoundError):
    """No package where one was asked for. In a notebook it shows as its one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of the traceback
        return [f"auditbook: {self}"]


@dataclass
class Package:
    """A sealed package (``results.json``), or an analyst's run from the lab (``outputs/scratch/<criterion>-<run
    id>/``: the same populations, each criterion's ``results/<criterion>.json``, nothing sealed)."""

    path: Path

    @property
    def sealed(self) -> bool:
        return (self.path / layout.RESULTS_JSON).is_file()

    @cached_property
    def _records(self) -> list[dict[str, Any]]:
        """A lab run's criterion records (``results/<criterion>.json``)."""
        return [json.loads(p.read_text()) for p in sorted((self.path / layout.criterion_results("x")).parent
                                                         .glob("*.json"))]

    @cached_property
    def results(self) -> dict[str, Any]:
        if self.sealed:
            return json.loads((self.path / layout.RESULTS_JSON).read_text())
        from auditbook.results import Status, worst

        records = self._records
        return {"organization": "", "period": records[0]["period"], "run_id": records[0]["run_id"],
                "status": str(worst(Status(r["status"]) for r in records)),
                "criteria": {r["criterion"]: r for r in records}}

    @cached_property
    def population_names(self) -> list[str]:
        folder = self.path / layout.POPULATIONS
        return sorted(p.stem for p in [*folder.glob("*.csv"), *folder.glob("*.parquet")])

    def population(self, name: str) -> pd.DataFrame:
        """A population's table as text, from its CSV or (a large one) its Parquet file."""
        if name not in self._frames:
            csv = self.path / layout.population_csv(name)
            parquet = csv.with_suffix(".parquet")
            if csv.is_file():
                self._frames[name] = cells.restore_frame(pd.read_csv(csv, dtype=str, keep_default_na=False))
            elif parquet.is_file():
                import duckdb

                frame = duckdb.read_parquet(str(parquet)).df()
                self._frames[name] = frame.astype(object).where(frame.notna(), "").astype(str)
            else:
                raise KeyError(f"no population {name!r} in {self.path}; there are: {', '.join(self.population_names)}")
        return self._frames[name]

    @cached_property
    def exceptions(self) -> pd.DataFrame:
        """exceptions.csv; a lab run's deviations from its criterion records (not yet checked against a register)."""
        if (self.path / layout.EXCEPTIONS_CSV).is_file():
            return cells.restore_frame(pd.read_csv(self.path / layout.EXCEPTIONS_CSV, dtype=str,
                                                   keep_default_na=False))
        rows = [d for r in self._records for d in r.get("deviations", [])]
        frame = pd.DataFrame(rows, columns=list(dict.fromkeys(["criterion", "test_id", "resource_id", "detail",
                                                               "status", *(k for d in rows for k in d)])))
        return frame.fillna("").astype(str).replace({"status": {"": "open"}})

    @cached_property
    def _frames(self) -> dict[str, pd.DataFrame]:
        return {}

    def __repr__(self) -> str:
        r = self.results
        what = r["organization"] if self.sealed else f"lab run of {', '.join(r['criteria'])} (not sealed)"
        return f"Package({self.path}, {what}, {r['period']['label']}, run {r['run_id']}, {r['status']})"


def _is_lab_run(folder: Path) -> bool:
    return any((folder / layout.criterion_results("x")).parent.glob("*.json"))


def open_package(path: str | Path | None = None, outputs: str | Path | None = None) -> Package:
    """A package folder or a lab run folder (``run.run_dir``); with no path, this session's own run when a
    notebook started one here, else the newest package under ``outputs`` (by run id; default
    ``AUDITBOOK_OUT`` or ``./outputs``). Nothing to open: :class:`NoPackage`, one line."""
    from auditbook import notebook

    if path is not None:
        folder = Path(path)
        if (folder / layout.RESULTS_JSON).is_file() or _is_lab_run(folder):
            return Package(folder)
        if not folder.is_dir():
            raise NoPackage(f"{folder}: no such folder")
        raise NoPackage(f"{folder} is neither a package (no {layout.RESULTS_JSON}) nor a finished lab run (no "
                        f"{layout.criterion_results('<criterion>')}: run the notebook to its last cell)")
    if outputs is None and notebook.SESSION_RUNS:
        own = [folder for folder in notebook.SESSION_RUNS if _is_lab_run(folder)]
        if own:
            return Package(own[-1])
    outputs = outputs or notebook.outputs_root()
    runs = [p for p in Path(outputs).glob("*/*") if RUN_ID.match(p.name) and (p / layout.RESULTS_JSON).is_file()]
    if not runs:
        raise NoPackage(f"no package under {outputs}: run this notebook to its last cell, or `make demo` / "
                        "`auditbook run`, or pass open_package(path)")
    return Package(max(runs, key=lambda p: p.name))


def _token(name: str) -> str:
    return rf"(?<![\w.-]){re.escape(name)}(?![\w.-])"


@dataclass
class Trail:
    """Where a name appears in a package: matching rows per population, and its deviations."""

    name: str
    package: Package
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # population → its matching rows (all columns)
    deviations: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def rows(self) -> pd.DataFrame:
        """One line per matching row: population, row number in its CSV, matched columns, a short summary."""
        lines = []
        for pop, frame in self.frames.items():
            for index, row in frame.iterrows():
                fields = [(k, v) for k, v in row.items() if k != "_matched" and v not in ("", None)]
                summary = "; ".join(f"{k}={v}" for k, v in fields[:SUMMARY_COLUMNS])
                lines.append({"population": pop, "row": index, "matched_in": row["_matched"], "summary": summary})
        return pd.DataFrame(lines, columns=["population", "row", "matched_in", "summary"])

    def _repr_html_(self) -> str:
        counts = "".join(f"<tr><td>{html.escape(p)}</td><td>{len(f)}</td></tr>" for p, f in self.frames.items())
        devs = self.deviations[["criterion", "test_id", "resource_id", "detail", "status"]] \
            if not self.deviations.empty else None
        from auditbook.report.display import no_math

        return no_math(f"<h4>{html.escape(self.name)} in {html.escape(str(self.package.path))}</h4>"
                f"<table><tr><th>population</th><th>rows</th></tr>{counts}</table>"
                f"<h4>Deviations ({len(self.deviations)})</h4>"
                       + (devs.to_html(index=False) if devs is not None else "<p>none</p>"))

    def __repr__(self) -> str:
        parts = ", ".join(f"{p}: {len(f)}" for p, f in self.frames.items()) or "no rows"
        return f"Trail({self.name!r}: {parts}; {len(self.deviations)} deviation(s))"


def find(package: Package, name: str, columns: list[str] | None = None, aliases: list[str] | None = None) -> Trail:
    """Every row of every population where ``name`` (or an alias) appears as a whole token."""
    pattern = "|".join(_token(n) for n in [name, *(aliases or [])])
    trail = Trail(name if not aliases else f"{name} ({', '.join(aliases)})", package)
    for pop in package.population_names:
        frame = package.population(pop)
        cols = [c for c in (columns or frame.columns) if c in frame.columns]
        if not cols or frame.empty:
            continue
        hits = pd.DataFrame({c: frame[c].str.contains(pattern, regex=True) for c in cols})
        mask = hits.any(axis=1)
        if mask.any():
            matched = hits[mask].apply(lambda r, cols=cols: ", ".join(c for c in cols if r[c]), axis=1)
            trail.frames[pop] = frame[mask].assign(_matched=matched)
    ex = package.exceptions
    if not ex.empty:
        mask = ex["resource_id"].str.contains(pattern, regex=True) | ex["detail"].str.contains(pattern, regex=True)
        trail.deviations = ex[mask].reset_index(drop=True)
    return trail


ROSTER = "hr-roster"
IDENTITY_COLUMNS = ("email", "github_login", "aws_user_names", "person_id")


def aliases(package: Package, who: str) -> list[str]:
    """The person's other identities from the HR roster population, when the package has one."""
    if ROSTER not in package.population_names:
        return []
    roster = package.population(ROSTER)
    cols = [c for c in IDENTITY_COLUMNS if c in roster.columns]
    mask = pd.DataFrame({c: roster[c].str.contains(_token(who), regex=True) for c in cols}).any(axis=1) \
        if cols else pd.Series(False, index=roster.index)
    names = {n.strip() for _, row in roster[mask].iterrows() for c in cols for n in re.split(r"[;,]", row[c])}
    return sorted(n for n in names if n and n != who)


def person(package: Package, who: str) -> Trail:
    """A person's whole history: IAM user, GitHub login, e-mail (joined through the HR roster when present)."""
    return find(package, who, aliases=aliases(package, who))


def repo(package: Package, name: str) -> Trail:
    """A repository's whole history: pull requests, commits, deployments, protection, alerts, its deviations.

    ``owner/name`` keeps the rows of that org only (two orgs may have a repository of the same name).
    """
    owner, _, short = name.rpartition("/")
    trail = find(package, short)
    if owner:
        trail.name = name
        trail.frames = {pop: frame[frame["org"] == owner] if "org" in frame.columns else frame
                        for pop, frame in trail.frames.items()}
        trail.frames = {pop: frame for pop, frame in trail.frames.items() if not frame.empty}
        if not trail.deviations.empty:
            mine = trail.deviations["resource_id"].str.startswith(f"{owner}/")
            trail.deviations = trail.deviations[mine].reset_index(drop=True)
    return trail


def where(package: Package, population: str, **equals: Any) -> pd.DataFrame:
    """Rows of one population whose columns equal the given values (compared as text)."""
    frame = package.population(population)
    missing = [k for k in equals if k not in frame.columns]
    if missing:
        raise KeyError(f"{population} has no column {', '.join(missing)}; columns: {', '.join(frame.columns)}")
    mask = pd.Series(True, index=frame.index)
    for column, value in equals.items():
        mask &= frame[column] == str(value)
    return frame[mask]
