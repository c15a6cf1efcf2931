"""A run: validate inputs, execute the criterion notebooks in parallel, assemble the package.

Everything that can be refused (params, period, criteria, credentials, output folder) is
checked before anything is written. The package is built in a staging folder and published
whole; a failure on the way removes the staging folder and leaves earlier runs untouched.
"""

from __future__ import annotations

import csv
import getpass
import json
import multiprocessing
import os
import shutil
import socket
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
from auditbook import register as register_mod
from auditbook.criteria import CRITERIA, NOTEBOOK_DIR, implemented
from auditbook.evidence import CACHE_DIR
from auditbook.kernels import KERNEL_MANAGER
from auditbook.notebook import describe_run
from auditbook.period import Period, assert_period_closed, parse_period
from auditbook.provenance import CollectionError, utc_now
from auditbook.results import RESULTS_SCHEMA_VERSION, Status, worst

RESOLVED_PARAMS = "params.resolved.yaml"
COLLECT_NOTEBOOKS = Path(CACHE_DIR) / "notebooks"  # collect-only executions (the Airflow DAG's fan-out)
EXCEPTION_COLUMNS = ["criterion", "test_id", "resource_type", "resource_id", "detail",
                     *register_mod.REGISTER_COLUMNS]


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
    accepted: int = 0  # deviations accepted in the exception register (still counted in deviations)
    statuses: dict[str, int] = field(default_factory=dict)  # tests per status
    pages: dict[str, int] = field(default_factory=dict)  # PDF page of each anchor of the report


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
        from auditbook.sources.github import caller_login, connect, org_login

        if not params["scope"].get("github"):
            raise RunError("params: scope.github is required by " + ", ".join(criteria))
        try:
            gh = connect(retries=1)
            caller_login(gh)
        except CollectionError as exc:
            raise RunError(f"GitHub credentials: {exc}") from None
        for org in params["scope"]["github"]["orgs"]:
            try:
                org_login(gh, org["name"])
            except CollectionError as exc:
                raise RunError(f"GitHub org {org['name']}: {exc}") from None
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

    started = time.monotonic()
    source = Path(notebook_dir) / CRITERIA[criterion].notebook_name
    target = staging / "reports" / f"{criterion}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    error = None
    try:
        papermill.execute_notebook(
            str(source), str(target), cwd=str(staging), kernel_name="python3", progress_bar=False,
            kernel_manager_class=KERNEL_MANAGER,
            parameters=notebook_parameters(criterion, period, run_id),
        )
    except Exception as exc:  # PapermillExecutionError and kernel deaths alike: the notebook is ERROR
        error = f"notebook failed: {' '.join(str(exc).split())[:300]}"
    return collect_outcome(criterion, staging, error, started)


def notebook_parameters(criterion: str, period: str, run_id: str, run_dir: str | Path = ".",
                        collect_account: str = "") -> dict[str, str]:
    """Papermill parameters of a criterion notebook in a run: the runner's, and the Airflow DAG's tasks'."""
    return {"criterion": criterion, "period": period, "params_file": str(Path(run_dir) / RESOLVED_PARAMS),
            "run_dir": str(run_dir), "run_id": run_id, "collect_account": collect_account}


def collect_notebook(staging: Path, criterion: str, account: str) -> Path:
    """Where a collect-only execution (one criterion, one AWS account) is written: working state, not evidence."""
    return staging / COLLECT_NOTEBOOKS / f"{criterion}-{account}.ipynb"


def collect_outcome(criterion: str, staging: Path, error: str | None = None,
                    started: float | None = None) -> CriterionOutcome:
    """Export an executed criterion notebook (HTML, PDF with cover and contents) and read its record."""
    from auditbook.report.export import export_notebook

    started = time.monotonic() if started is None else started
    target = staging / "reports" / f"{criterion}.ipynb"
    sidecar = staging / "results" / f"{criterion}.json"
    record = json.loads(sidecar.read_text()) if sidecar.exists() else None
    pages: dict[str, int] = {}
    try:
        if target.exists():
            run_facts = json.loads((staging / "run.json").read_text())
            cover = report_cover(criterion, run_facts, record, error)
            _, _, pages = export_notebook(target, cover)
    except Exception as exc:
        error = error or f"report export failed: {type(exc).__name__}: {exc}"
    if error or record is None:
        return CriterionOutcome(criterion, Status.ERROR, time.monotonic() - started,
                                error=error or "the notebook recorded no results", pages=pages)
    statuses: dict[str, int] = {}
    for t in record["tests"]:
        statuses[t["status"]] = statuses.get(t["status"], 0) + 1
    return CriterionOutcome(criterion, Status(record["status"]), time.monotonic() - started,
                            tests=len(record["tests"]), deviations=len(record["deviations"]),
                            statuses=statuses, pages=pages)


def report_cover(criterion: str, facts: dict[str, Any], record: dict[str, Any] | None,
                 error: str | None) -> dict[str, Any]:
    """What the cover page and the running header of a criterion's PDF say."""
    period = facts["period"]
    status = record["status"] if record and not error else "ERROR"
    return {
        "title": f"{criterion} {CRITERIA[criterion].title}",
        "header": f"{criterion} {CRITERIA[criterion].title} · {period['label']}",
        "footer": f"{facts.get('organization', '')} · run {facts['run_id']}",
        "status": status,
        "facts": {
            "Organization": facts.get("organization", ""),
            "Period": f"{period['label']} ({period['start'][:10]} to {period['end'][:10]}, closed-open, UTC)",
            "Run id": facts["run_id"],
            "Scope": facts.get("scope", ""),
            "Run by": facts.get("run_by", ""),
            "Generated at (UTC)": facts["generated_at"],
            "auditbook version": facts["versions"].get("auditbook"),
            "Notebook commit": facts["git_commit"],
            "Params digest (sha256)": facts["params_digest"],
            "Tests": (", ".join(f"{sum(1 for t in record['tests'] if t['status'] == s)} {s}"
                                for s in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE")
                                if any(t["status"] == s for t in record["tests"])) if record else ""),
            "Deviations": len(record["deviations"]) if record else "",
        },
        "note": error,
    }


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(params_file: str | Path, period_text: str, criteria: list[str] | None = None,
        out_dir: str | Path = "outputs", workers: int | None = None, now: datetime | None = None,
        notebook_dir: Path = NOTEBOOK_DIR) -> RunOutcome:
    started = time.monotonic()
    staging, selected = prepare(params_file, period_text, criteria, out_dir, now, notebook_dir)
    try:
        facts = json.loads((staging / "run.json").read_text())
        outcomes = _execute_all(selected, staging, parse_period(period_text), facts["run_id"], workers, notebook_dir)
        outcome = finish(staging, outcomes, out_dir)
    except OSError as exc:  # e.g. a full disk: one line, nothing published, earlier runs untouched
        _remove(staging)
        raise RunError(f"output folder {staging.parent}: {exc.strerror or exc}; nothing was published") from None
    except BaseException:
        _remove(staging)
        raise
    outcome.seconds = time.monotonic() - started
    return outcome


def prepare(params_file: str | Path, period_text: str, criteria: list[str] | None = None,
            out_dir: str | Path = "outputs", now: datetime | None = None,
            notebook_dir: Path = NOTEBOOK_DIR) -> tuple[Path, list[str]]:
    """Check everything that can be refused, then start the staging folder (run.json, params, register).

    The staging folder and the selected criteria are returned. Nothing is written when the run is refused.
    """
    now = now or utc_now()
    try:
        params = params_mod.load(params_file)
        period = parse_period(period_text)
        assert_period_closed(period, now)
        register_file = register_mod.register_path(params, params_file)
        register = register_mod.load(register_file) if register_file else None
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
    try:
        facts = describe_run(run_id, now, period, params, str(params_file))
        facts["organization"] = params["organization"]
        facts["environment"] = params.get("environment")
        facts["run_by"] = run_by()
        facts["scope"] = describe_scope(params)
        facts["criteria"] = selected
        (staging / "run.json").write_text(json.dumps(facts, indent=1))
        (staging / RESOLVED_PARAMS).write_text(yaml.safe_dump(params, sort_keys=False))
        if register is not None:  # the register as used is evidence too; notebooks read this copy
            shutil.copyfile(register.source, staging / register_mod.PACKAGE_COPY)
        for folder in ("reports", COLLECT_NOTEBOOKS):  # papermill writes only into folders that exist
            (staging / folder).mkdir(parents=True, exist_ok=True)
    except BaseException:
        _remove(staging)
        raise
    return staging, selected


def finish(staging: Path, outcomes: list[CriterionOutcome], out_dir: str | Path) -> RunOutcome:
    """Assemble results, exceptions, OSCAL and the index, write the manifest, seal and publish."""
    facts = json.loads((staging / "run.json").read_text())
    params = yaml.safe_load((staging / RESOLVED_PARAMS).read_text())
    period = parse_period(facts["period"]["label"])
    copy = staging / register_mod.PACKAGE_COPY
    register = register_mod.load(copy) if copy.exists() else None
    final = staging.parent / facts["run_id"]
    shutil.rmtree(staging / CACHE_DIR, ignore_errors=True)  # working state, not evidence
    results = _assemble(staging, facts, params, period, outcomes, register, Path(out_dir))
    locker.write_manifest(staging, {
        "run_id": facts["run_id"], "period": period.to_dict(), "generated_at": facts["generated_at"],
        "organization": params["organization"], "params_digest": facts["params_digest"],
        "params": params, "git_commit": facts["git_commit"], "versions": facts["versions"],
        "run_by": facts["run_by"],
        "criteria": {o.criterion: str(o.status) for o in outcomes},
        "caller_identities": results["caller_identities"],
        "counts": package_counts(results),
        "reports": sorted(rel for c in results["criteria"] for rel in c["report"].values()),
    })
    locker.seal(staging)
    locker.publish(staging, final)
    return RunOutcome(final, Status(results["status"]), outcomes)


def _make_staging(period_dir: Path, run_id: str) -> str:
    path = period_dir / f".staging-{run_id}"
    try:  # the staging folder is the run's lock: a second run with the same id (same second) is refused
        os.mkdir(path, 0o755)
    except FileExistsError:
        raise RunError(f"another run with id {run_id} is in progress in {period_dir}: "
                       "wait a second and run again") from None
    if (period_dir / run_id).exists():  # published between our check and the lock
        os.rmdir(path)
        raise RunError(f"{period_dir / run_id} already exists: a run is never overwritten "
                       "(wait a second and run again)")
    os.chmod(path, 0o755)
    return str(path)


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


def run_by() -> str:
    """Who started the run: the CI job when there is one, else the local user and host."""
    if os.environ.get("AUDITBOOK_RUN_BY"):
        return os.environ["AUDITBOOK_RUN_BY"]
    if os.environ.get("GITHUB_ACTIONS") == "true":
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        return (f"GitHub Actions {os.environ.get('GITHUB_WORKFLOW', '')} run "
                f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{os.environ.get('GITHUB_RUN_ID', '')}"
                f" (triggered by {os.environ.get('GITHUB_ACTOR', 'unknown')})")
    if os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return f"Airflow DAG {os.environ['AIRFLOW_CTX_DAG_ID']} run {os.environ.get('AIRFLOW_CTX_DAG_RUN_ID', '')}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def describe_scope(params: dict[str, Any]) -> str:
    parts = []
    aws = params["scope"].get("aws")
    if aws:
        accounts = ", ".join(f"{a['id']} ({a['name']})" if a.get("name") else a["id"] for a in aws["accounts"])
        parts.append(f"AWS {accounts} in {', '.join(aws['regions'])}")
    gh = params["scope"].get("github")
    if gh:
        orgs = ", ".join(f"{o['name']} ({len(o['production_repos'])} production repositories)" for o in gh["orgs"])
        parts.append(f"GitHub {'orgs' if len(gh['orgs']) > 1 else 'org'} {orgs}")
    return "; ".join(parts) or "(none)"


def package_counts(results: dict[str, Any]) -> dict[str, Any]:
    """The numbers the manifest records so ``verify`` can check results.json and exceptions.csv agree."""
    tests = [t for c in results["criteria"] for t in c["tests"]]
    return {
        "criteria": len(results["criteria"]),
        "tests": len(tests),
        "deviations": sum(t["deviation_count"] for t in tests),
        "accepted": sum(t.get("accepted_count", 0) for t in tests),
        "deviations_by_test": {t["id"]: t["deviation_count"] for t in tests if t["deviation_count"]},
    }


def _assemble(staging: Path, facts: dict[str, Any], params: dict[str, Any], period: Period,
              outcomes: list[CriterionOutcome], register: register_mod.Register | None = None,
              out_root: Path | None = None) -> dict[str, Any]:
    """results.json, exceptions.csv, OSCAL and the index, from the notebooks' own records."""
    from auditbook import oscal, trends
    from auditbook.report.index import write_index

    criteria = []
    deviations: list[dict[str, Any]] = []
    for outcome in outcomes:
        sidecar = staging / "results" / f"{outcome.criterion}.json"
        record = json.loads(sidecar.read_text()) if sidecar.exists() and not outcome.error else None
        rows = register_mod.annotate(record["deviations"], register, period) if record else []
        accepted = {}
        for row in rows:
            if row["status"] == register_mod.ACCEPTED:
                accepted[row["test_id"]] = accepted.get(row["test_id"], 0) + 1
        tests = []
        for t in record["tests"] if record else []:
            anchor = f"test-{t['id']}"
            tests.append(dict(t, accepted_count=accepted.get(t["id"], 0), report_anchor=anchor,
                              report_page=outcome.pages.get(anchor)))
        outcome.accepted = sum(accepted.values())
        entry = {
            "criterion": outcome.criterion,
            "title": CRITERIA[outcome.criterion].title,
            "status": str(outcome.status),
            "error": outcome.error,
            "report": {kind: f"reports/{outcome.criterion}.{kind}" for kind in ("ipynb", "html", "pdf")
                       if (staging / "reports" / f"{outcome.criterion}.{kind}").exists()},
            "tests": tests,
            "populations": record["populations"] if record else {},
            "collection_errors": record["collection_errors"] if record else {},
        }
        criteria.append(entry)
        deviations += rows
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
        "tool_version": facts["versions"].get("auditbook"),
        "run_by": facts.get("run_by"),
        "scope": facts.get("scope"),
        "status": str(status),
        "caller_identities": callers,
        "criteria": criteria,
        "exception_register": register_mod.reconcile(deviations, register, period,
                                                     [o.criterion for o in outcomes]),
    }
    if results["exception_register"]["source"]:
        results["exception_register"]["source"] = register_mod.PACKAGE_COPY
    from auditbook.schemas import validate_results

    validate_results(results)
    (staging / "results.json").write_text(json.dumps(results, indent=1, default=str))
    with open(staging / "exceptions.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, EXCEPTION_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(deviations)
    oscal.write(staging, results)
    history = trends.history(out_root, results, staging) if out_root else trends.history(staging, results, staging)
    write_index(staging, results, history)
    return results
