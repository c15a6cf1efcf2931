"""A run: validate inputs, execute the criterion notebooks in parallel, have the package assembled.

Everything that can be refused (params, period, criteria, credentials, output folder) is
checked before anything is written. The package is built in a staging folder and published
whole (:mod:`auditbook.package`); a failure on the way removes the staging folder and leaves
earlier runs untouched. The run's facts travel as one :class:`~auditbook.package.StartedRun`.
"""

from __future__ import annotations

import getpass
import multiprocessing
import os
import shutil
import socket
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from auditbook import layout, runinfo
from auditbook import params as params_mod
from auditbook import register as register_mod
from auditbook.criteria import CRITERIA, NOTEBOOK_DIR, implemented
from auditbook.kernels import KERNEL_MANAGER
from auditbook.package import CriterionOutcome, RunOutcome, StartedRun, criterion_outcome, seal_and_publish
from auditbook.period import assert_period_closed, parse_period
from auditbook.provenance import CollectionError, utc_now
from auditbook.results import Status
from auditbook.runinfo import RunFacts
from auditbook.signing import Signer, SigningError, signer_in
from auditbook.signing import preflight as signing_preflight


class RunError(RuntimeError):
    """A refused run: the message is one line naming the problem."""


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


def execute_criterion(criterion: str, staging: Path, facts: RunFacts, notebook_dir: str) -> CriterionOutcome:
    """One criterion in its own kernel (runs in a worker process), its report exported."""
    import papermill

    started = time.monotonic()
    source = Path(notebook_dir) / CRITERIA[criterion].notebook_name
    target = staging / layout.report(criterion, "ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    error = None
    try:
        papermill.execute_notebook(
            str(source), str(target), cwd=str(staging), kernel_name="python3", progress_bar=False,
            kernel_manager_class=KERNEL_MANAGER,
            parameters=notebook_parameters(criterion, facts.period.label, facts.run_id),
        )
    except Exception as exc:  # PapermillExecutionError and kernel deaths alike: the notebook is ERROR
        error = f"notebook failed: {' '.join(str(exc).split())[:300]}"
    return criterion_outcome(criterion, staging, facts, error, started)


def notebook_parameters(criterion: str, period: str, run_id: str, run_dir: str | Path = ".",
                        collect_account: str = "") -> dict[str, str]:
    """Papermill parameters of a criterion notebook in a run: the runner's, and the Airflow DAG's tasks'."""
    return {"criterion": criterion, "period": period, "params_file": str(Path(run_dir) / layout.RESOLVED_PARAMS),
            "run_dir": str(run_dir), "run_id": run_id, "collect_account": collect_account}


def collect_notebook(staging: Path, criterion: str, account: str) -> Path:
    """Where a collect-only execution (one criterion, one AWS account) is written: working state, not evidence."""
    return staging / layout.COLLECT_NOTEBOOKS / f"{criterion}-{account}.ipynb"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(params_file: str | Path, period_text: str, criteria: list[str] | None = None,
        out_dir: str | Path = "outputs", workers: int | None = None, now: datetime | None = None,
        notebook_dir: Path = NOTEBOOK_DIR, signer: Signer | None = None) -> RunOutcome:
    """One run: ``signer`` (else the params' ``signing``) signs the sealed package."""
    started = time.monotonic()
    started_run = prepare(params_file, period_text, criteria, out_dir, now, notebook_dir, signer)
    staging = started_run.staging
    try:
        outcomes = _execute_all(started_run, workers, notebook_dir)
        outcome = finish(started_run, outcomes, out_dir)
    except OSError as exc:  # e.g. a full disk: one line, nothing published, earlier runs untouched
        _remove(staging)
        raise RunError(f"output folder {staging.parent}: {exc.strerror or exc}; nothing was published") from None
    except SigningError as exc:  # the signer failed at the seal (a KMS outage): nothing unsigned is published
        _remove(staging)
        raise RunError(f"{exc}; nothing was published") from None
    except BaseException:
        _remove(staging)
        raise
    outcome.seconds = time.monotonic() - started
    return outcome


def prepare(params_file: str | Path, period_text: str, criteria: list[str] | None = None,
            out_dir: str | Path = "outputs", now: datetime | None = None,
            notebook_dir: Path = NOTEBOOK_DIR, signer: Signer | None = None) -> StartedRun:
    """Check everything that can be refused, then start the staging folder (run.json, params, register).

    Nothing is written when the run is refused.
    """
    now = now or utc_now()
    try:
        params = params_mod.load(params_file)
        period = parse_period(period_text)
        assert_period_closed(period, now)
        register_file = register_mod.register_path(params, params_file)
        register = register_mod.load(register_file) if register_file else None
        signer = signer or signer_in(params)
        if signer is not None:
            signing_preflight(signer)
    except (ValueError, SigningError) as exc:
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
        facts = RunFacts.describe(run_id, now, period, params, str(params_file), run_by=run_by(),
                                  scope=describe_scope(params), criteria=selected)
        facts.write(staging / layout.RUN_JSON)  # for the notebooks' kernels, which are other processes
        (staging / layout.RESOLVED_PARAMS).write_text(yaml.safe_dump(params, sort_keys=False))
        if register is not None:  # the register as used is evidence too; notebooks read this copy
            shutil.copyfile(register.source, staging / layout.REGISTER_COPY)
        for folder in (layout.REPORTS, layout.COLLECT_NOTEBOOKS):  # papermill writes only into folders that exist
            (staging / folder).mkdir(parents=True, exist_ok=True)
    except BaseException:
        _remove(staging)
        raise
    return StartedRun(facts, params, staging, selected, register, signer)


def finish(run: StartedRun, outcomes: list[CriterionOutcome], out_dir: str | Path) -> RunOutcome:
    """The package: assembled, sealed and published (:mod:`auditbook.package`)."""
    return seal_and_publish(run, outcomes, Path(out_dir))


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


def _execute_all(run: StartedRun, workers: int | None, notebook_dir: Path) -> list[CriterionOutcome]:
    selected = run.criteria
    workers = workers or min(len(selected), os.cpu_count() or 1, 4)
    _progress(f"auditbook: running {len(selected)} criteria for {run.facts.period.label} on {workers} worker(s)")
    outcomes: list[CriterionOutcome] = []
    # spawn: the parent may run emulator threads; a forked child must not inherit them.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(execute_criterion, c, run.staging, run.facts, str(notebook_dir)): c
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
