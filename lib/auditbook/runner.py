"""A run: validate inputs, execute the criterion notebooks in parallel, assemble the package.

Everything that can be refused (params, period, criteria, credentials, output folder) is
checked before anything is written. The package is built in a staging folder and published
whole; a failure on the way removes the staging folder and leaves earlier runs untouched.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from auditbook import locker, runinfo
from auditbook import params as params_mod
from auditbook.criteria import CRITERIA, NOTEBOOK_DIR, implemented
from auditbook.evidence import CACHE_DIR
from auditbook.notebook import describe_run
from auditbook.period import Period, assert_period_closed, parse_period
from auditbook.provenance import CollectionError, utc_now
from auditbook.results import RESULTS_SCHEMA_VERSION, Status, worst

RESOLVED_PARAMS = "params.resolved.yaml"
EXCEPTION_COLUMNS = ["criterion", "test_id", "resource_type", "resource_id", "detail"]


class RunError(RuntimeError):
    """A refused run: the message is one line naming the problem."""


@dataclass
class CriterionOutcome:
    criterion: str
    status: Status
    seconds: float
    tests: int = 0
    deviations: int = 0
    error: str | None = None


@dataclass
class RunOutcome:
    run_dir: Path
    status: Status
    outcomes: list[CriterionOutcome] = field(default_factory=list)
    seconds: float = 0.0


def select_criteria(requested: list[str] | None, notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    available = implemented(notebook_dir)
    if not requested:
        return available
    chosen = []
    for code in requested:
        code = code.strip()
        if code not in CRITERIA:
            raise RunError(f"unknown criterion {code!r}; known: {', '.join(CRITERIA)}")
        if code not in available:
            raise RunError(f"criterion {code} has no notebook in {notebook_dir}")
        if code not in chosen:
            chosen.append(code)
    return chosen


def preflight(params: dict[str, Any], criteria: list[str]) -> None:
    """Refuse bad credentials before a package is started: one line, naming the account or org."""
    def needs(system: str) -> bool:
        return any(system in CRITERIA[c].systems and not params["criteria"].get(c, {}).get("not_applicable")
                   for c in criteria)

    if needs("github"):
        from auditbook.sources.github import caller_login, connect

        if not params["scope"].get("github"):
            raise RunError("params: scope.github is required by " + ", ".join(criteria))
        try:
            caller_login(connect(retries=1))
        except CollectionError as exc:
            raise RunError(f"GitHub credentials: {exc}") from None
    if needs("aws"):
        from auditbook.sources.aws.session import open_account

        aws = params["scope"].get("aws")
        if not aws:
            raise RunError("params: scope.aws is required by " + ", ".join(criteria))
        for spec in aws["accounts"]:
            try:
                open_account(spec, aws["regions"][0])
            except CollectionError as exc:
                raise RunError(str(exc)) from None


def execute_criterion(criterion: str, staging: Path, period: str, run_id: str,
                      notebook_dir: str) -> CriterionOutcome:
    """One criterion in its own kernel (runs in a worker process)."""
    import papermill

    from auditbook.report.export import export_notebook

    started = time.monotonic()
    source = Path(notebook_dir) / CRITERIA[criterion].notebook_name
    target = staging / "reports" / f"{criterion}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    error = None
    try:
        papermill.execute_notebook(
            str(source), str(target), cwd=str(staging), kernel_name="python3", progress_bar=False,
            parameters={"criterion": criterion, "period": period, "params_file": RESOLVED_PARAMS,
                        "run_dir": ".", "run_id": run_id},
        )
    except Exception as exc:  # PapermillExecutionError and kernel deaths alike: the notebook is ERROR
        error = f"notebook failed: {' '.join(str(exc).split())[:300]}"
    try:
        if target.exists():
            export_notebook(target, f"{criterion} · {period} · run {run_id}")
    except Exception as exc:
        error = error or f"report export failed: {type(exc).__name__}: {exc}"
    sidecar = staging / "results" / f"{criterion}.json"
    if error or not sidecar.exists():
        return CriterionOutcome(criterion, Status.ERROR, time.monotonic() - started,
                                error=error or "the notebook recorded no results")
    record = json.loads(sidecar.read_text())
    return CriterionOutcome(criterion, Status(record["status"]), time.monotonic() - started,
                            tests=len(record["tests"]), deviations=len(record["deviations"]))


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(params_file: str | Path, period_text: str, criteria: list[str] | None = None,
        out_dir: str | Path = "outputs", workers: int | None = None, now: datetime | None = None,
        notebook_dir: Path = NOTEBOOK_DIR) -> RunOutcome:
    started = time.monotonic()
    now = now or utc_now()
    # 1. everything that can be refused, before anything is written
    try:
        params = params_mod.load(params_file)
        period = parse_period(period_text)
        assert_period_closed(period, now)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    selected = select_criteria(criteria, notebook_dir)
    if not selected:
        raise RunError(f"no criterion notebooks found in {notebook_dir}")
    preflight(params, selected)
    run_id = runinfo.new_run_id(now)
    period_dir = Path(out_dir) / period.slug
    final = period_dir / run_id
    if final.exists():
        raise RunError(f"{final} already exists: a run is never overwritten (wait a second and run again)")
    try:
        period_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(_make_staging(period_dir, run_id))
    except OSError as exc:
        raise RunError(f"output folder {period_dir}: {exc.strerror or exc}") from None

    # 2. the run, in staging
    try:
        facts = describe_run(run_id, now, period, params, str(params_file))
        facts["organization"] = params["organization"]
        facts["environment"] = params.get("environment")
        (staging / "run.json").write_text(json.dumps(facts, indent=1))
        (staging / RESOLVED_PARAMS).write_text(yaml.safe_dump(params, sort_keys=False))
        outcomes = _execute_all(selected, staging, period, run_id, workers, notebook_dir)
        shutil.rmtree(staging / CACHE_DIR, ignore_errors=True)  # working state, not evidence
        results = _assemble(staging, facts, params, period, outcomes)
        status = Status(results["status"])
        locker.write_manifest(staging, {
            "run_id": run_id, "period": period.to_dict(), "generated_at": facts["generated_at"],
            "organization": params["organization"], "params_digest": facts["params_digest"],
            "params": params, "git_commit": facts["git_commit"], "versions": facts["versions"],
            "criteria": {o.criterion: str(o.status) for o in outcomes},
            "caller_identities": results["caller_identities"],
        })
        locker.seal(staging)
        locker.publish(staging, final)
    except BaseException:
        _remove(staging)
        raise
    return RunOutcome(final, status, outcomes, time.monotonic() - started)


def _make_staging(period_dir: Path, run_id: str) -> str:
    import tempfile

    path = tempfile.mkdtemp(prefix=f".staging-{run_id}-", dir=period_dir)
    os.chmod(path, 0o755)  # mkdtemp's 0700 would make the published package unreadable to others
    return path


def _remove(path: Path) -> None:
    if path.exists():
        for p in [path, *path.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o700)
        shutil.rmtree(path, ignore_errors=True)


def _execute_all(selected: list[str], staging: Path, period: Period, run_id: str, workers: int | None,
                 notebook_dir: Path) -> list[CriterionOutcome]:
    workers = workers or min(len(selected), os.cpu_count() or 1, 4)
    _progress(f"auditbook: running {len(selected)} criteria for {period.label} on {workers} worker(s)")
    outcomes: list[CriterionOutcome] = []
    # spawn: the parent may run emulator threads; a forked child must not inherit them.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(execute_criterion, c, staging, period.label, run_id, str(notebook_dir)): c
                   for c in selected}
        for done, future in enumerate(as_completed(futures), 1):
            try:
                outcome = future.result()
            except Exception as exc:  # a worker that died: the criterion is ERROR, the others go on
                outcome = CriterionOutcome(futures[future], Status.ERROR, 0.0, error=f"worker failed: {exc}")
            outcomes.append(outcome)
            detail = outcome.error or f"{outcome.tests} tests, {outcome.deviations} deviations"
            _progress(f"  [{done}/{len(selected)}] {outcome.criterion:<6} {outcome.status:<14} {detail} "
                      f"({outcome.seconds:.1f} s)")
    order = {c: i for i, c in enumerate(selected)}
    return sorted(outcomes, key=lambda o: order[o.criterion])


def _assemble(staging: Path, facts: dict[str, Any], params: dict[str, Any], period: Period,
              outcomes: list[CriterionOutcome]) -> dict[str, Any]:
    """results.json, exceptions.csv and the index, from the notebooks' own records."""
    from auditbook.report.index import write_index

    criteria = []
    deviations: list[dict[str, Any]] = []
    for outcome in outcomes:
        sidecar = staging / "results" / f"{outcome.criterion}.json"
        record = json.loads(sidecar.read_text()) if sidecar.exists() and not outcome.error else None
        entry = {
            "criterion": outcome.criterion,
            "title": CRITERIA[outcome.criterion].title,
            "status": str(outcome.status),
            "error": outcome.error,
            "report": {kind: f"reports/{outcome.criterion}.{kind}" for kind in ("ipynb", "html", "pdf")
                       if (staging / "reports" / f"{outcome.criterion}.{kind}").exists()},
            "tests": record["tests"] if record else [],
            "populations": record["populations"] if record else {},
            "collection_errors": record["collection_errors"] if record else {},
        }
        criteria.append(entry)
        deviations += record["deviations"] if record else []
    status = worst(Status(c["status"]) for c in criteria)
    callers = sorted({caller for c in criteria for pop in c["populations"].values()
                      for caller in pop["caller"].split("; ")})
    results = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run_id": facts["run_id"],
        "organization": params["organization"],
        "environment": params.get("environment"),
        "period": period.to_dict(),
        "generated_at": facts["generated_at"],
        "git_commit": facts["git_commit"],
        "params_digest": facts["params_digest"],
        "status": str(status),
        "caller_identities": callers,
        "criteria": criteria,
    }
    from auditbook.schemas import validate_results

    validate_results(results)
    (staging / "results.json").write_text(json.dumps(results, indent=1, default=str))
    with open(staging / "exceptions.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, EXCEPTION_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(deviations)
    write_index(staging, results)
    return results
