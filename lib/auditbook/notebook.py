"""What a criterion notebook calls: one object that collects, tests, shows and records.

Notebooks stay thin: ``run = start(...)`` in the first code cell, then ``run.collect`` for each
population, ``run.test`` for each control test and ``run.finish()`` at the end. Collection
failures never stop the notebook: they make the tests that need the evidence ``ERROR``.
The record of the criterion is ``results/<criterion>.json`` in the run folder, read by the runner.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from auditbook import params as params_mod
from auditbook import runinfo
from auditbook.criteria import CRITERIA
from auditbook.evidence import EvidenceCache
from auditbook.period import Period, parse_period
from auditbook.provenance import CollectionError, Population, Provenance, RawStore, iso, utc_now
from auditbook.report import display
from auditbook.results import RESULTS_SCHEMA_VERSION, ControlTest, Status, TestResult, errored, not_applicable, worst
from auditbook.sampling import Sample, draw, sample_size
from auditbook.sources.aws.session import AwsAccount, open_account

SCRATCH_ROOT = runinfo.REPO_ROOT / "outputs" / "scratch"
CSV_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class CriterionRun:
    criterion: str
    period: Period
    params: dict[str, Any]
    run_dir: Path
    run: dict[str, Any]
    populations: dict[str, Population] = field(default_factory=dict)
    collection_errors: dict[str, str] = field(default_factory=dict)
    results: list[TestResult] = field(default_factory=list)
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    collect_only_account: str = ""
    _branches: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _sessions: dict[str, AwsAccount] = field(default_factory=dict, repr=False)

    @property
    def settings(self) -> dict[str, Any]:
        """This criterion's params (thresholds), defaults filled."""
        return self.params.get("criteria", {}).get(self.criterion, {})

    @property
    def out_of_scope(self) -> str | None:
        return self.settings.get("not_applicable")

    @property
    def keeps_nothing(self) -> bool:
        """Out of scope, or a collect-only run: no population is kept, nothing is tested here."""
        return bool(self.out_of_scope or self.collect_only_account)

    @cached_property
    def cache(self) -> EvidenceCache:
        return EvidenceCache(self.run_dir)

    @cached_property
    def raw(self) -> RawStore:
        return RawStore(self.run_dir / "raw")

    @property
    def aws_account_ids(self) -> list[str]:
        aws = self.params.get("scope", {}).get("aws")
        if not aws:
            raise CollectionError("params scope.aws is not set: no AWS account to collect from")
        return [a["id"] for a in aws["accounts"]]

    def aws_account(self, account_id: str) -> AwsAccount:
        """A session for one account, opened (role assumed) when first needed."""
        if account_id not in self._sessions:
            aws = self.params["scope"]["aws"]
            spec = next(a for a in aws["accounts"] if a["id"] == account_id)
            self._sessions[account_id] = open_account(spec, aws["regions"][0])
        return self._sessions[account_id]

    @property
    def aws_accounts(self) -> list[AwsAccount]:
        return [self.aws_account(account_id) for account_id in self.aws_account_ids]

    @cached_property
    def github(self) -> Any:
        """A PyGithub client on ``GITHUB_API_URL`` with ``GITHUB_TOKEN`` (the standard variables)."""
        from auditbook.sources.github import connect

        return connect()

    @property
    def github_orgs(self) -> list[dict[str, Any]]:
        """The orgs in scope (``name``, ``production_repos``, ``production_branch``)."""
        gh = self.params.get("scope", {}).get("github")
        if not gh:
            raise CollectionError("params scope.github is not set: no GitHub organization to collect from")
        return gh["orgs"]

    def production_branches(self, org: dict[str, Any]) -> dict[str, str]:
        """An org's production repo → its production branch (resolved once: the default branch, or the named one)."""
        from auditbook.sources.github import production_branches

        if not org["production_repos"]:
            return {}
        if org["name"] not in self._branches:
            self._branches[org["name"]] = production_branches(self.github, org["name"], org["production_repos"],
                                                              org["production_branch"])
        return self._branches[org["name"]]

    # -- report -------------------------------------------------------------------------
    def header(self) -> None:
        crit = CRITERIA[self.criterion]
        display.header(f"{self.criterion} {crit.title}", {
            "Organization": self.params["organization"],
            "Period": self.period.describe(),
            "Run id": self.run["run_id"],
            "Environment": self.params.get("environment", ""),
            "Generated at (UTC)": self.run["generated_at"],
            "auditbook version": self.run["versions"].get("auditbook"),
            "Notebook commit": self.run["git_commit"],
            "Params digest (sha256)": self.run["params_digest"],
            "Parameters": json.dumps({"criterion": self.criterion, "period": self.period.label,
                                      "params_file": self.run.get("params_file", "")}),
        })
        if self.out_of_scope:
            display.show(f"<p class='ab-cause'><b>Not applicable:</b> {display._esc(self.out_of_scope)}</p>")

    # -- evidence ---------------------------------------------------------------------
    def collect(self, name: str, collector: Callable[..., Population], *args: Any) -> Population | None:
        """Run one collector; on failure record the cause and return None (tests become ERROR)."""
        if self.keeps_nothing:
            return None
        try:
            pop, collected_here = self.cache.get_or_collect(name, lambda: collector(*args))
        except CollectionError as exc:  # the cache turns any failure into one: never a pass
            return self._collection_failed(name, str(exc))
        if pop.name != name:
            return self._collection_failed(name, f"collector returned population {pop.name!r}")
        return self._keep(pop, write_csv=collected_here)

    def collect_group(self, names: list[str], collector: Callable[..., tuple[Population, ...]],
                      *args: Any) -> list[Population | None]:
        """One collector call that yields several populations (e.g. pull requests and their reviews)."""
        if self.keeps_nothing:
            return [None] * len(names)
        key = "+".join(names)
        try:
            pops, collected_here = self.cache.get_or_collect(key, lambda: tuple(collector(*args)))
        except CollectionError as exc:
            return [self._collection_failed(name, str(exc)) for name in names]
        got = [p.name for p in pops]
        if got != names:
            return [self._collection_failed(name, f"collector returned populations {got}") for name in names]
        return [self._keep(pop, write_csv=collected_here) for pop in pops]

    def collect_aws(self, name: str, collector: Callable[[AwsAccount, RawStore], Population]) -> Population | None:
        """Collect from every AWS account in scope into one population with an account column.

        Each account's part is evidence of its own in the run's cache, so a scheduler can collect the
        accounts in parallel first (``collect_only_account``, the Airflow DAG) and the criterion run
        then only combines them.
        """
        def part(account_id: str) -> Population:
            return self.cache.get_or_collect(f"{name}@{account_id}",
                                             lambda: collector(self.aws_account(account_id), self.raw))[0]

        if self.collect_only_account:  # the account's part, for collections that depend on it (nothing kept)
            if self.out_of_scope:
                return None
            try:
                return part(self.collect_only_account)
            except CollectionError:  # cached as failed: the criterion run reports it (ERROR)
                return None
        return self.collect(name, lambda: combine(name, [part(a) for a in self.aws_account_ids]))

    def collect_github_orgs(self, name: str, collector: Callable[[str, RawStore], Population]) -> Population | None:
        """Collect from every GitHub org in scope into one population (rows carry their org)."""
        def across_orgs() -> Population:
            return combine(name, [collector(org["name"], self.raw) for org in self.github_orgs])
        return self.collect(name, across_orgs)

    def collect_github_repos(self, names: str | list[str],
                             collector: Callable[[str, dict[str, str], RawStore], Any]) -> Any:
        """Collect from the production repos of every org in scope: ``collector(org, {repo: branch}, raw)``.

        ``names`` is one population, or a list when the collector returns a tuple of them (pull requests
        and their reviews). An org without production repos contributes nothing; no repo at all is an error.
        """
        group = [names] if isinstance(names, str) else names

        def across_orgs() -> tuple[Population, ...]:
            orgs = [(org["name"], self.production_branches(org)) for org in self.github_orgs]
            orgs = [(name, branches) for name, branches in orgs if branches]
            if not orgs:
                raise CollectionError("no production repository in scope: list production_repos under "
                                      "scope.github.orgs")
            parts = [collector(name, branches, self.raw) for name, branches in orgs]
            parts = [p if isinstance(p, tuple) else (p,) for p in parts]
            return tuple(combine(n, [p[i] for p in parts]) for i, n in enumerate(group))
        pops = self.collect_group(group, across_orgs)
        return pops[0] if isinstance(names, str) else pops

    def derive(self, name: str, build: Callable[..., pd.DataFrame], *inputs: Population | None,
               **kwargs: Any) -> Population | None:
        """A population computed from collected ones (a worksheet), kept in the package like them."""
        if self.keeps_nothing:
            return None
        missing = [i for i in inputs if i is None]
        if missing:
            return self._collection_failed(name, "built from evidence that could not be collected")
        frames = [i.frame for i in inputs]
        try:
            frame = build(*frames, **{k: (v.frame if isinstance(v, Population) else v) for k, v in kwargs.items()})
        except Exception as exc:
            return self._collection_failed(name, f"could not be derived: {type(exc).__name__}: {exc}")
        sources = [i.name for i in inputs] + [v.name for v in kwargs.values() if isinstance(v, Population)]
        prov = Provenance(system="derived", endpoint="auditbook", scope=", ".join(sources),
                          caller="auditbook", collected_at=iso(utc_now()),
                          notes=[f"Derived by {build.__module__}.{build.__name__} from {', '.join(sources)}."])
        return self._keep(Population(name, frame, prov), write_csv=True)

    def earlier_population_csv(self, name: str) -> Path | None:
        """The same population in the newest earlier package of this organization, if any."""
        root = self.run_dir.parent.parent  # outputs/<period>/<run> and outputs/scratch/<run> alike
        candidates = []
        for manifest in root.glob("*/*/manifest.json"):
            package = manifest.parent
            if package.resolve() == self.run_dir.resolve() or not (package / "populations" / f"{name}.csv").exists():
                continue
            try:
                facts = json.loads(manifest.read_text())
            except (OSError, ValueError):
                continue
            same_org = facts.get("organization") == self.params["organization"]
            if same_org and facts.get("run_id", "") < self.run["run_id"]:
                candidates.append((facts["run_id"], package / "populations" / f"{name}.csv"))
        return max(candidates)[1] if candidates else None

    def export_xlsx(self, pop: Population | None) -> None:
        """The same table as the population CSV, as a workbook a reviewer fills in."""
        if pop is None:
            return
        frame = pop.frame.copy()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                frame[col] = frame[col].dt.tz_convert(None)  # Excel has no time zones: values are UTC
        path = self.run_dir / "populations" / f"{pop.name}.xlsx"
        frame.to_excel(path, index=False, sheet_name=pop.name[:31])
        display.show(f"<p class='ab-note'>Worksheet for reviewers: <code>populations/{pop.name}.xlsx</code> "
                     f"(times in UTC) and <code>populations/{pop.name}.csv</code>.</p>")

    def _collection_failed(self, name: str, cause: str) -> None:
        self.collection_errors[name] = cause
        display.collection_error(name, cause)
        return None

    def _keep(self, pop: Population, write_csv: bool) -> Population:
        self.populations[pop.name] = pop
        path = self.run_dir / "populations" / f"{pop.name}.csv"
        if write_csv:  # a population another notebook of this run collected is already written
            path.parent.mkdir(parents=True, exist_ok=True)
            pop.frame.to_csv(path, index=False, date_format=CSV_DATE_FORMAT)
        display.provenance(pop, f"populations/{pop.name}.csv")
        return pop

    # -- tests ------------------------------------------------------------------------
    def test(self, test: ControlTest, control: Callable[..., TestResult], *args: Any,
             sample_keys: list[str] | None = None, sample_columns: list[str] | None = None,
             **kwargs: Any) -> TestResult:
        """Run one control test over collected populations, fail closed, show and record it.

        ``sample_keys`` order the population before the sample is drawn; ``sample_columns`` are
        the columns shown in the report (the sample CSV has them all).
        """
        if self.collect_only_account:
            display.show(f"<p class='ab-note'>{test.test_id}: tested by the criterion run, not this collect-only "
                         "run.</p>")
            return errored(test, "collect-only run: nothing is tested")
        if self.out_of_scope:
            result = not_applicable(test, self.out_of_scope)
        elif any(a is None or (isinstance(a, Population) and a.name in self.collection_errors) for a in args):
            result = errored(test, self._missing_cause(test))
        else:
            frames = [a.frame if isinstance(a, Population) else a for a in args]
            try:
                result = control(*frames, **kwargs)
            except Exception as exc:
                result = errored(test, f"the test could not be evaluated: {type(exc).__name__}: {exc}")
        sample = self._sample(result, sample_keys or [])
        self.results.append(result)
        shown = ["population_row", *(sample_keys or []), *(sample_columns or [])]
        display.test_result(result, sample, self.samples.get(test.test_id, {}).get("file"), shown,
                            accepted=self._accepted(result))
        return result

    @cached_property
    def register(self) -> Any:
        """The exception register: the package's copy in a run, the params' file in a scratch run."""
        from auditbook import register as register_mod

        copy = self.run_dir / register_mod.PACKAGE_COPY
        if copy.exists():
            return register_mod.load(copy)
        path = register_mod.register_path(self.params, self.run.get("params_file", ""))
        return register_mod.load(path) if path else None

    def _accepted(self, result: TestResult) -> dict[str, str]:
        """Resource id → "accepted until ..." for this test's deviations in the register (shown, still counted)."""
        from auditbook import register as register_mod

        if not result.deviation_count or self.register is None:
            return {}
        rows = register_mod.annotate([dict(test_id=result.test.test_id, resource_id=r)
                                      for r in result.deviations["resource_id"]], self.register, self.period)
        return {r["resource_id"]: register_mod.acceptance_text(r) for r in rows if r["status"] == "accepted"}

    def _missing_cause(self, test: ControlTest) -> str:
        causes = "; ".join(f"{n}: {c}" for n, c in self.collection_errors.items())
        return f"evidence for {test.population} could not be collected ({causes or 'not collected'})"

    def _sample(self, result: TestResult, keys: list[str]) -> Sample | None:
        if result.status not in (Status.PASS, Status.FAIL) or result.tested.empty:
            return None
        sampling = self.params["sampling"]
        size = sample_size(sampling["sizes"], result.test.frequency, len(result.tested))
        sample = draw(result.tested, [k for k in keys if k in result.tested], size, sampling["seed"],
                      result.test.test_id)
        rel = f"samples/{result.test.test_id}.csv"
        path = self.run_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sample.frame.to_csv(path, index=False, date_format=CSV_DATE_FORMAT)
        self.samples[result.test.test_id] = {"file": rel, "size": sample.size, "seed": sample.seed,
                                             "method": sample.method, "population_size": sample.population_size}
        return sample

    # -- record -----------------------------------------------------------------------
    @property
    def status(self) -> Status:
        return worst(r.status for r in self.results)

    def finish(self) -> dict[str, Any]:
        """Write ``results/<criterion>.json``; a collect-only run records nothing (its evidence is in the cache)."""
        if self.collect_only_account:
            display.show(f"<p class='ab-note'>Collected the AWS evidence of account {self.collect_only_account} "
                         "for this run; the criterion run tests it.</p>")
            return {}
        record = {
            "schema_version": RESULTS_SCHEMA_VERSION,
            "criterion": self.criterion,
            "title": CRITERIA[self.criterion].title,
            "status": str(self.status),
            "period": self.period.to_dict(),
            "run_id": self.run["run_id"],
            "tests": [dict(r.to_dict(), sample=self.samples.get(r.test.test_id)) for r in self.results],
            "deviations": [
                dict(criterion=self.criterion, test_id=r.test.test_id, **_plain(row))
                for r in self.results for row in r.deviations.to_dict("records")
            ],
            "populations": {n: dict(p.provenance.to_dict(), csv=f"populations/{n}.csv")
                            for n, p in self.populations.items()},
            "collection_errors": self.collection_errors,
        }
        path = self.run_dir / "results" / f"{self.criterion}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1, default=str))
        display.summary(self.criterion, self.status, self.results)
        return record


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (iso(v.to_pydatetime()) if isinstance(v, pd.Timestamp) else (None if _isna(v) else v))
            for k, v in row.items()}


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def combine(name: str, parts: list[Population]) -> Population:
    """One population from the same collector run in several accounts or orgs."""
    if len(parts) == 1:
        return Population(name, parts[0].frame, parts[0].provenance)
    first = parts[0].provenance
    prov = Provenance(
        system=first.system, endpoint=first.endpoint,
        scope="; ".join(p.provenance.scope for p in parts),
        caller="; ".join(sorted({p.provenance.caller for p in parts})),
        collected_at=first.collected_at,
        operations=[o for p in parts for o in p.provenance.operations],
        raw_files=[r for p in parts for r in p.provenance.raw_files],
        notes=[n for p in parts for n in p.provenance.notes],
    )
    return Population(name, pd.concat([p.frame for p in parts], ignore_index=True), prov)


def start(criterion: str, period: str, params_file: str, run_dir: str = "", run_id: str = "",
          collect_account: str = "") -> CriterionRun:
    """Open a criterion run. Without ``run_dir`` (an analyst in JupyterLab) a scratch folder is used.

    ``collect_account`` (a scheduler's fan-out) only collects that AWS account's evidence into the run's
    cache: nothing is tested or recorded, the criterion run that follows does that.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}")
    resolved = params_mod.load(params_file)
    parsed = parse_period(period)
    in_scope = [a["id"] for a in (resolved["scope"].get("aws") or {}).get("accounts", [])]
    if collect_account and collect_account not in in_scope:
        raise ValueError(f"collect_account {collect_account} is not in scope.aws.accounts of {params_file}")
    if collect_account and not run_dir:
        raise ValueError("collect_account needs run_dir: the evidence is collected for a run")
    if run_dir:
        folder = Path(run_dir)
        run = json.loads((folder / "run.json").read_text())
    else:
        now = utc_now()
        run_id = run_id or runinfo.new_run_id(now)
        folder = SCRATCH_ROOT / f"{criterion}-{run_id}"
        folder.mkdir(parents=True, exist_ok=True)
        run = describe_run(run_id, now, parsed, resolved, params_file)
    return CriterionRun(criterion, parsed, resolved, folder, run, collect_only_account=collect_account)


def describe_run(run_id: str, now: datetime, period: Period, resolved: dict[str, Any],
                 params_file: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "generated_at": iso(now.astimezone(UTC)),
        "period": period.to_dict(),
        "params_file": str(params_file),
        "params_digest": params_mod.digest(resolved),
        "git_commit": runinfo.git_commit(),
        "versions": runinfo.package_versions(),
    }
