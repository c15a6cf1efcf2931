"""A run: validate inputs, execute the criterion notebooks in parallel, have the package assembled.

Everything that can be refused (params, period, criteria, workers, operator, credentials, output
folder) is checked before anything is written. The package is built in a staging folder and
published whole (:mod:`auditbook.package`); a failure on the way removes the staging folder and
leaves earlier runs untouched. The run's facts travel as one :class:`~auditbook.package.StartedRun`.

Lifecycle: SIGTERM is handled like Ctrl-C (:func:`interruptible`): the pool workers and their kernels
are stopped, the staging folder is removed, and the run ends with one line. The workers die with the
runner even when it is killed outright (:func:`_worker_started`), and the staging folder records its
owner, so the next run in the same output folder removes the staging folder of a run that died.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from auditbook import kernels, layout, logs, runinfo
from auditbook import params as params_mod
from auditbook import register as register_mod
from auditbook.criteria import CRITERIA, NOTEBOOK_DIR, implemented
from auditbook.kernels import KERNEL_MANAGER, SHUTDOWN
from auditbook.locker import unseal_and_remove
from auditbook.package import CriterionOutcome, RunOutcome, StartedRun, criterion_outcome, seal_and_publish
from auditbook.period import Period, assert_period_closed, assert_period_length, parse_period
from auditbook.provenance import CollectionError, iso, utc_now
from auditbook.results import Status
from auditbook.runinfo import RunFacts, run_by
from auditbook.sbom import SbomError
from auditbook.signing import Signer, SigningError, signer_in
from auditbook.signing import preflight as signing_preflight

STAGING_PREFIX = ".staging-"
# Who owns a staging folder (pid, host, start time). Working state like the evidence cache it sits in:
# removed with it before the package is sealed, so it is never part of the evidence.
OWNER_FILE = f"{layout.CACHE_DIR}/owner.json"
WORKER_STOP_SECONDS = 20  # a worker told to stop gets this long to kill its kernel before it is killed
log = logging.getLogger(__name__)


class RunError(RuntimeError):
    """A refused run: the message is one line naming the problem."""


class RunInterrupted(BaseException):
    """SIGINT or SIGTERM reached the runner: the run stops and removes what it started (not an ``Exception``,
    so nothing on the way mistakes it for a failed notebook)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.outcome = "nothing was published"

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # the shell's convention for a process ended by a signal

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}: {self.outcome}"


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM (a scheduler, ``kill``) handled like Ctrl-C: :class:`RunInterrupted` is raised in the main thread.

    Once one arrived, further ones are ignored so the clean-up itself is not cut short.
    """
    def interrupt(signum: int, _frame: FrameType | None) -> None:
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, signal.SIG_IGN)
        raise RunInterrupted(signum)

    previous = {stop: signal.signal(stop, interrupt) for stop in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def select_criteria(requested: list[str] | None, notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """The criteria to run: all with a notebook when none were asked for (``None``); a request that names
    none (``--criteria ,,``) is refused, never read as "all"."""
    available = implemented(notebook_dir)
    if requested is None:
        return available
    named = [code.strip() for code in requested if code.strip()]
    if not named:
        raise RunError(f"no criterion named in --criteria {','.join(requested)!r}; known: {', '.join(CRITERIA)}")
    chosen = []
    for code in named:
        if code not in CRITERIA:
            raise RunError(f"unknown criterion {code!r}; known: {', '.join(CRITERIA)}")
        if code not in available:
            raise RunError(f"criterion {code} has no notebook in {notebook_dir}")
        if code not in chosen:
            chosen.append(code)
    return chosen


def needs(params: dict[str, Any], criteria: list[str], system: str) -> bool:
    """Whether any of these criteria, applicable under params, reads ``system`` ("aws" or "github")."""
    return any(system in CRITERIA[c].systems and not params["criteria"].get(c, {}).get("not_applicable")
               for c in criteria)


def preflight(params: dict[str, Any], criteria: list[str]) -> None:
    """Refuse bad credentials before a package is started: one line, naming the account or org."""
    if needs(params, criteria, "github"):
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
    if needs(params, criteria, "aws"):
        from auditbook.sources.aws.session import open_account

        aws = params["scope"].get("aws")
        if not aws:
            raise RunError("params: scope.aws is required by " + ", ".join(criteria))
        for spec in aws["accounts"]:
            try:
                open_account(spec, aws["regions"][0])
            except CollectionError as exc:
                raise RunError(str(exc)) from None


def execute_criterion(criterion: str, staging: Path, facts: RunFacts, notebook_dir: str,
                      log_level: int = logging.INFO) -> CriterionOutcome:
    """One criterion in its own kernel (runs in a worker process), its report exported.

    The worker logs into run.log and hands ``log_level`` to the kernel, which logs the collection there too;
    the runner shows the console what they write (:class:`auditbook.logs.LiveProgress`)."""
    os.environ[logs.LEVEL_VARIABLE] = logging.getLevelName(log_level)
    handler = logs.kernel_log(staging, criterion)
    try:
        return _execute_criterion(criterion, staging, facts, notebook_dir)
    finally:
        if handler is not None:
            logs.detach(handler)


def _execute_criterion(criterion: str, staging: Path, facts: RunFacts, notebook_dir: str) -> CriterionOutcome:
    import papermill

    log.info("%s started", criterion)
    started = time.monotonic()
    source = Path(notebook_dir) / CRITERIA[criterion].notebook_name
    target = staging / layout.report(criterion, "ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    error = None
    try:
        papermill.execute_notebook(
            str(source), str(target), cwd=str(staging), kernel_name="python3", progress_bar=False,
            kernel_manager_class=KERNEL_MANAGER, shutdown_kernel=SHUTDOWN,
            parameters=notebook_parameters(criterion, facts.period.label, facts.run_id),
        )
    except Exception as exc:  # PapermillExecutionError and kernel deaths alike: the notebook is ERROR
        error = f"notebook failed: {' '.join(str(exc).split())[:300]}"
    log.info("%s notebook executed (%.1f s)%s; exporting its report", criterion, time.monotonic() - started,
             f": {error}" if error else "")
    outcome = criterion_outcome(criterion, staging, facts, error, started)
    log.info("%s finished: %s (%.1f s)", criterion, outcome.status, outcome.seconds)
    return outcome


def notebook_parameters(criterion: str, period: str, run_id: str, run_dir: str | Path = ".",
                        collect_account: str = "") -> dict[str, str]:
    """Papermill parameters of a criterion notebook in a run: the runner's, and the Airflow DAG's tasks'."""
    return {"criterion": criterion, "period": period, "params_file": str(Path(run_dir) / layout.RESOLVED_PARAMS),
            "run_dir": str(run_dir), "run_id": run_id, "collect_account": collect_account}


def collect_notebook(staging: Path, criterion: str, account: str) -> Path:
    """Where a collect-only execution (one criterion, one AWS account) is written: working state, not evidence."""
    return staging / layout.COLLECT_NOTEBOOKS / f"{criterion}-{account}.ipynb"


def check_workers(workers: int | None) -> None:
    """``None`` picks a number from the cores; anything else must be a whole number of at least one."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise RunError(f"--workers {workers}: give a whole number of notebooks to run at once, at least 1")


def run(params_file: str | Path, period_text: str, criteria: list[str] | None = None,
        out_dir: str | Path = "outputs", workers: int | None = None, now: datetime | None = None,
        notebook_dir: Path = NOTEBOOK_DIR, signer: Signer | None = None, *, allow_long_period: bool = False,
        operator: str | None = None, verbose: bool = False, console_level: int | None = None,
        live: bool = False) -> RunOutcome:
    """One run: ``signer`` (else the params' ``signing``) signs the sealed package.

    ``verbose``: run.log at DEBUG (else INFO); ``console_level``: what the workers and kernels write into
    run.log is shown on stderr at this level (None: not shown); ``live``: with a progress line (a terminal)."""
    started = time.monotonic()
    check_workers(workers)
    started_run = prepare(params_file, period_text, criteria, out_dir, now, notebook_dir, signer,
                          allow_long_period=allow_long_period, operator=operator, owned=True)
    staging = started_run.staging
    try:
        with logs.run_log(staging, verbose):
            log.info("run %s started: period %s, criteria %s, params %s, output folder %s",
                     started_run.facts.run_id, started_run.facts.period.label, ", ".join(started_run.criteria),
                     params_file, out_dir)
            shown = (logs.LiveProgress(staging / logs.RUN_LOG, live=live, verbose=console_level <= logging.DEBUG,
                                       quiet=console_level > logging.INFO)
                     if console_level is not None else contextlib.nullcontext())
            with shown:
                outcomes = _execute_all(started_run, workers, notebook_dir, logging.DEBUG if verbose else logging.INFO)
            outcome = finish(started_run, outcomes, out_dir)
    except OSError as exc:  # e.g. a full disk: one line, nothing published, earlier runs untouched
        unseal_and_remove(staging)
        raise RunError(f"output folder {staging.parent}: {exc.strerror or exc}; nothing was published") from None
    except SigningError as exc:  # the signer failed at the seal (a KMS outage): nothing unsigned is published
        unseal_and_remove(staging)
        raise RunError(f"{exc}; nothing was published") from None
    except SbomError as exc:  # no package without the record of the software that made it
        unseal_and_remove(staging)
        raise RunError(f"{exc}; nothing was published") from None
    except RunInterrupted as exc:
        unseal_and_remove(staging)
        final = staging.parent / started_run.facts.run_id
        exc.outcome = (f"the package {final} was already published" if final.exists() else
                       f"run {started_run.facts.run_id} was not published; its workers, kernels and staging "
                       "folder are gone")
        raise
    except BaseException:
        unseal_and_remove(staging)
        raise
    outcome.seconds = time.monotonic() - started
    return outcome


def prepare(params_file: str | Path, period_text: str, criteria: list[str] | None = None,
            out_dir: str | Path = "outputs", now: datetime | None = None,
            notebook_dir: Path = NOTEBOOK_DIR, signer: Signer | None = None, *, allow_long_period: bool = False,
            operator: str | None = None, owned: bool = False) -> StartedRun:
    """Check everything that can be refused, then start the staging folder (run.json, params, register).

    Nothing is written when the run is refused. ``owned``: this process runs the whole run, so the staging
    folder records it as its owner and a later run may remove the folder once this process is gone; a
    scheduler whose tasks are other processes (the Airflow DAG) leaves it unowned, never removed by another run.
    """
    now = now or utc_now()
    params, period = check_inputs(params_file, period_text, now, allow_long_period)
    try:
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
    operated_by = run_by(check_operator(operator))
    refuse_output_inside_package(out_dir)
    preflight(params, selected)
    run_id = runinfo.new_run_id(now)
    period_dir = Path(out_dir) / period.slug
    final = period_dir / run_id
    if final.exists():
        raise RunError(f"{final} already exists: a run is never overwritten (wait a second and run again)")
    remove_stale_staging(Path(out_dir))
    try:
        period_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(_make_staging(period_dir, run_id))
    except OSError as exc:
        raise RunError(f"output folder {period_dir}: {exc.strerror or exc}") from None
    try:
        if owned:
            _record_owner(staging, now)
        facts = RunFacts.describe(run_id, now, period, params, str(params_file), run_by=operated_by,
                                  scope=describe_scope(params), criteria=selected)
        facts.write(staging / layout.RUN_JSON)  # for the notebooks' kernels, which are other processes
        (staging / layout.RUN_LOG).touch()  # kernels append to it, a scheduler's (the Airflow DAG's) too
        (staging / layout.RESOLVED_PARAMS).write_text(yaml.safe_dump(params, sort_keys=False))
        if register is not None:  # the register as used is evidence too; notebooks read this copy
            shutil.copyfile(register.source, staging / layout.REGISTER_COPY)
        for folder in (layout.REPORTS, layout.COLLECT_NOTEBOOKS):  # papermill writes only into folders that exist
            (staging / folder).mkdir(parents=True, exist_ok=True)
    except BaseException:
        unseal_and_remove(staging)
        raise
    return StartedRun(facts, params, staging, selected, register, signer)


def check_inputs(params_file: str | Path, period_text: str, now: datetime,
                 allow_long_period: bool = False) -> tuple[dict[str, Any], Period]:
    """Params (strict, defaults filled) and a period that has ended and is not overlong: what a run and an
    analyst's notebook (auditbook.notebook.start) both refuse the same way."""
    try:
        params = params_mod.load(params_file)
        period = parse_period(period_text)
        assert_period_closed(period, now)
        assert_period_length(period, allow_long_period)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    return params, period


def finish(run: StartedRun, outcomes: list[CriterionOutcome], out_dir: str | Path) -> RunOutcome:
    """The package: assembled, sealed and published (:mod:`auditbook.package`)."""
    return seal_and_publish(run, outcomes, Path(out_dir))


def check_operator(operator: str | None) -> str | None:
    """``--operator``: the person or workflow answerable for the run, as one printable line."""
    if operator is None:
        return None
    name = operator.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise RunError(f"--operator {operator!r}: give the name of the person or workflow running this, "
                       "one printable line of at most 200 characters")
    return name


def _package_at(folder: Path) -> Path | None:
    """The file that makes ``folder`` a package or a run's staging folder: a manifest.json or run.json that is
    auditbook's (it names a run id and a period; another tool's manifest.json is not one)."""
    for name in (layout.MANIFEST, layout.RUN_JSON):
        try:
            facts = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(facts, dict) and "run_id" in facts and "period" in facts:
            return folder / name
    return None


def refuse_output_inside_package(out_dir: str | Path) -> None:
    """A package written inside another (or inside a staging folder) would change the older one after its seal."""
    folder = Path(out_dir).resolve()
    for candidate in (folder, *folder.parents):
        if candidate.name.startswith(STAGING_PREFIX):
            raise RunError(f"output folder {out_dir} is inside the staging folder {candidate} of a run: "
                           "choose another --out")
        marker = _package_at(candidate)
        if marker is not None:
            raise RunError(f"output folder {out_dir} is inside the package {candidate} (it holds {marker.name}): "
                           "a package is never written into; choose another --out")


def _boot_id() -> str:
    """This boot of the machine (Linux): a pid recorded before a reboot names no process now."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _process_start(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux), so a reused pid is told apart; None when the
    process is gone, a zombie, or /proc cannot say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and parentheses
    return None if fields[0] in ("Z", "X") else fields[19]


def _record_owner(staging: Path, now: datetime) -> None:
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id(),
             "process_start": _process_start(os.getpid()), "started_at": iso(now)}
    path = staging / OWNER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(owner))
    os.replace(partial, path)  # a reader never sees half a record


def _owner_is_gone(owner: dict[str, Any]) -> bool:
    """Whether the process that owns a staging folder is certainly gone. Only a process of this host can be
    checked: one of another host sharing the folder, or a record that cannot be read, is left alone."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if owner.get("boot_id") and _boot_id() and owner["boot_id"] != _boot_id():
        return True  # the machine rebooted since
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process with that pid: alive
    if Path("/proc").is_dir() and owner.get("process_start"):
        return _process_start(pid) != owner["process_start"]  # a zombie, or another process with the pid
    return False


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove the staging folders of runs that died (killed outright, the machine lost power) in this output folder.

    A staging folder whose owner is alive, on another host, or unrecorded is never touched: runs started
    at the same time in one folder go on, and a scheduler's run (no owner: its tasks are other processes) too.
    """
    removed = []
    for staging in sorted(out_dir.glob(f"*/{STAGING_PREFIX}*")):
        try:
            owner = json.loads((staging / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not _owner_is_gone(owner):
            continue
        unseal_and_remove(staging)
        if not staging.exists():
            removed.append(staging)
            print(f"auditbook: removed the stale staging folder {staging} of a run that died "  # before run.log
                  f"(pid {owner['pid']} on {owner['host']}, started {owner.get('started_at')})", file=sys.stderr,
                  flush=True)
    return removed


def _make_staging(period_dir: Path, run_id: str) -> str:
    path = period_dir / f"{STAGING_PREFIX}{run_id}"
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


def _execute_all(run: StartedRun, workers: int | None, notebook_dir: Path,
                 log_level: int = logging.INFO) -> list[CriterionOutcome]:
    selected = run.criteria
    workers = min(workers, len(selected)) if workers else min(len(selected), os.cpu_count() or 1, 4)
    log.info("running %d criteria for %s on %d worker(s)", len(selected), run.facts.period.label, workers)
    outcomes: list[CriterionOutcome] = []
    # spawn: the parent may run emulator threads; a forked child must not inherit them.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_started,
                               initargs=(os.getpid(),))
    try:
        futures = {pool.submit(execute_criterion, c, run.staging, run.facts, str(notebook_dir), log_level): c
                   for c in selected}
        for done, future in enumerate(as_completed(futures), 1):
            try:
                outcome = future.result()
            except Exception as exc:  # a worker that died: the criterion is ERROR, the others go on
                outcome = CriterionOutcome(futures[future], Status.ERROR, 0.0, error=f"worker failed: {exc}")
            outcomes.append(outcome)
            detail = outcome.error or f"{outcome.tests} tests, {outcome.deviations} deviations"
            log.info("[%d/%d] %-6s %-14s %s (%.1f s)", done, len(selected), outcome.criterion, outcome.status,
                     detail, outcome.seconds)
    except BaseException:  # interrupted: stop the notebooks now rather than wait for them to finish
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    order = {c: i for i, c in enumerate(selected)}
    return sorted(outcomes, key=lambda o: order[o.criterion])


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM each worker (it kills its kernel, :func:`_worker_stopped`) and wait until all are gone, so
    nothing writes into the staging folder once it is removed."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
    deadline = time.monotonic() + WORKER_STOP_SECONDS
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)


def _worker_started(runner_pid: int) -> None:
    """First thing in each pool worker: die with the runner, stop the kernel on SIGTERM, leave Ctrl-C to the runner.

    Without this a runner killed outright (``kill -9``) orphans its workers (about 250 MB each) and their
    kernels. Ctrl-C reaches the whole process group; the runner decides what happens, then sends SIGTERM.
    """
    signal.signal(signal.SIGINT, lambda _signum, _frame: None)  # a handler, not SIG_IGN: kernels must not inherit it
    signal.signal(signal.SIGTERM, _worker_stopped)
    if not _set_parent_death_signal(signal.SIGTERM):
        threading.Thread(target=_watch_parent, args=(runner_pid,), name="auditbook-parent-watch", daemon=True).start()
    if os.getppid() != runner_pid:  # the runner died before the signal was asked for
        os.kill(os.getpid(), signal.SIGTERM)


def _set_parent_death_signal(signum: int) -> bool:
    """Linux: the kernel sends ``signum`` to this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``)."""
    if not sys.platform.startswith("linux"):
        return False
    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(pr_set_pdeathsig, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(runner_pid: int) -> None:
    """Elsewhere: notice within a second that the runner is gone (this process was handed to another parent)."""
    while os.getppid() == runner_pid:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


def _worker_stopped(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM in a worker (the runner was interrupted or died): kill its kernel, remove its sockets, exit now."""
    kernels.stop_all()
    os._exit(128 + signum)


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
