"""The evidence package: each criterion's report exported, then results.json, exceptions.csv, OSCAL, the
index with trends and the manifest assembled from the notebooks' own records, sealed and published.

The runner (and the Airflow DAG's seal task) hand over a :class:`StartedRun`, what ``prepare`` started;
nothing here re-reads what the run wrote about itself. File names come from :mod:`auditbook.layout`.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditbook import cells, layout, locker, logs, signing
from auditbook import register as register_mod
from auditbook.criteria import CRITERIA
from auditbook.results import RESULTS_SCHEMA_VERSION, Status, worst
from auditbook.runinfo import RunFacts

log = logging.getLogger(__name__)
EXCEPTION_COLUMNS = ["criterion", "test_id", "resource_type", "resource_id", "detail",
                     *register_mod.REGISTER_COLUMNS]


@dataclass
class StartedRun:
    """What ``prepare`` started: the run's facts, its params (defaults filled), its staging folder, the criteria
    selected and the exception register; every later step is given this instead of reading the folder."""

    facts: RunFacts
    params: dict[str, Any]
    staging: Path
    criteria: list[str]
    register: register_mod.Register | None = None
    signer: signing.Signer | None = None

    @classmethod
    def load(cls, staging: Path) -> StartedRun:
        """For a process that did not start the run (a scheduler's seal task): what prepare wrote."""
        staging = Path(staging)
        facts = RunFacts.read(staging / layout.RUN_JSON)
        params = yaml.safe_load((staging / layout.RESOLVED_PARAMS).read_text())
        copy = staging / layout.REGISTER_COPY
        return cls(facts, params, staging, list(facts.criteria),
                   register_mod.load(copy) if copy.exists() else None, signing.signer_in(params))


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


def criterion_outcome(criterion: str, staging: Path, facts: RunFacts, error: str | None = None,
                      started: float | None = None) -> CriterionOutcome:
    """Export an executed criterion notebook (HTML, PDF with cover and contents) and read its record."""
    from auditbook.report.export import export_notebook

    started = time.monotonic() if started is None else started
    target = staging / layout.report(criterion, "ipynb")
    sidecar = staging / layout.criterion_results(criterion)
    record = json.loads(sidecar.read_text()) if sidecar.exists() else None
    pages: dict[str, int] = {}
    try:
        if target.exists():
            _, _, pages = export_notebook(target, report_cover(criterion, facts, record, error))
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


def report_cover(criterion: str, facts: RunFacts, record: dict[str, Any] | None,
                 error: str | None) -> dict[str, Any]:
    """What the cover page and the running header of a criterion's PDF say."""
    from auditbook.report import wording

    period = facts.period
    status = record["status"] if record and not error else "ERROR"
    return {
        "title": f"{criterion} {CRITERIA[criterion].title}",
        "header": f"{criterion} {CRITERIA[criterion].title} · {period.label}",
        "footer": f"{facts.organization} · run {facts.run_id}",
        **(facts.branding or {}),
        "status": status,
        "facts": {
            "Organization": facts.organization,
            "Period": period.describe(),
            "Run id": facts.run_id,
            "Scope": facts.scope,
            "Run by": facts.run_by,
            "Generated at": wording.text(facts.generated_at),
            "auditbook version": facts.versions.get("auditbook"),
            "Notebook commit": facts.git_commit,
            "Params digest (sha256)": facts.params_digest,
            "Tests": (", ".join(f"{sum(1 for t in record['tests'] if t['status'] == s)} {s}"
                                for s in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE")
                                if any(t["status"] == s for t in record["tests"])) if record else ""),
            "Deviations": len(record["deviations"]) if record else "",
        },
        "note": error,
    }


def seal_and_publish(run: StartedRun, outcomes: list[CriterionOutcome], out_root: Path) -> RunOutcome:
    """Assemble results, exceptions, OSCAL and the index, write the manifest, seal and publish.

    run.log ends before the manifest (it is hashed); the seal's own lines reach the console only."""
    staging, facts = run.staging, run.facts
    shutil.rmtree(staging / layout.CACHE_DIR, ignore_errors=True)  # working state, not evidence
    started = time.monotonic()
    log.info("rendering the package: results.json, exceptions.csv, OSCAL, the index")
    results = assemble(run, outcomes, out_root)
    log.info("rendered the package (%.1f s), status %s; sealing: run.log ends here, then every file is hashed "
             "into the manifest%s", time.monotonic() - started, results["status"],
             " and signed" if run.signer is not None else "")
    logs.close_run_log(staging)
    started = time.monotonic()
    locker.write_manifest(staging, {
        "run_id": facts.run_id, "period": facts.period.to_dict(), "generated_at": facts.generated_at,
        "organization": run.params["organization"], "params_digest": facts.params_digest,
        "params": run.params, "git_commit": facts.git_commit, "versions": facts.versions,
        "run_by": facts.run_by,
        "criteria": {o.criterion: str(o.status) for o in outcomes},
        "caller_identities": results["caller_identities"],
        "counts": package_counts(results),
        "reports": sorted(rel for c in results["criteria"] for rel in c["report"].values()),
    }, run.signer)
    final = staging.parent / facts.run_id
    locker.seal(staging)
    log.info("sealed (%.1f s)", time.monotonic() - started)
    locker.publish(staging, final)
    log.info("published %s", final)
    return RunOutcome(final, Status(results["status"]), outcomes)


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


def _criterion_entry(run: StartedRun, outcome: CriterionOutcome) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One criterion of results.json (tests with their register counts and report pages), and its deviations."""
    sidecar = run.staging / layout.criterion_results(outcome.criterion)
    record = json.loads(sidecar.read_text()) if sidecar.exists() and not outcome.error else None
    rows = register_mod.annotate(record["deviations"], run.register, run.facts.period) if record else []
    accepted: dict[str, int] = {}
    for row in rows:
        if row["status"] == register_mod.ACCEPTED:
            accepted[row["test_id"]] = accepted.get(row["test_id"], 0) + 1
    tests = [dict(t, accepted_count=accepted.get(t["id"], 0), report_anchor=f"test-{t['id']}",
                  report_page=outcome.pages.get(f"test-{t['id']}")) for t in (record["tests"] if record else [])]
    outcome.accepted = sum(accepted.values())
    entry = {
        "criterion": outcome.criterion,
        "title": CRITERIA[outcome.criterion].title,
        "status": str(outcome.status),
        "error": outcome.error,
        "report": {kind: layout.report(outcome.criterion, kind) for kind in ("ipynb", "html", "pdf")
                   if (run.staging / layout.report(outcome.criterion, kind)).exists()},
        "tests": tests,
        "populations": record["populations"] if record else {},
        "collection_errors": record["collection_errors"] if record else {},
    }
    return entry, rows


def write_exceptions_csv(path: Path, deviations: list[dict[str, Any]]) -> None:
    """exceptions.csv, one row per deviation; a resource id or detail is collected text, which a spreadsheet
    would run as a formula when it starts with = + - @: each cell is neutralised (auditbook.cells)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, EXCEPTION_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({key: cells.neutralise(value) for key, value in row.items()} for row in deviations)


def _write_sbom(staging: Path, facts: RunFacts) -> None:
    """sbom.cdx.json: the environment sealing the package (the one that ran it), stamped with the run's time."""
    from auditbook import sbom
    from auditbook.runinfo import generated_at

    started = generated_at(facts)
    if started is None:
        raise sbom.SbomError(f"run.json's generated_at {facts.generated_at!r} is not a time: the SBOM needs the run's")
    sbom.write(staging / layout.SBOM, started, facts.versions.get("auditbook", ""))


def assemble(run: StartedRun, outcomes: list[CriterionOutcome], out_root: Path | None = None) -> dict[str, Any]:
    """results.json, exceptions.csv, OSCAL and the index, from the notebooks' own records."""
    from auditbook import oscal, trends
    from auditbook.report import exports
    from auditbook.report.index import write_index
    from auditbook.schemas import validate_results

    staging, facts = run.staging, run.facts
    criteria, deviations = [], []
    for outcome in outcomes:
        entry, rows = _criterion_entry(run, outcome)
        criteria.append(entry)
        deviations += rows
    callers = sorted({caller for c in criteria for pop in c["populations"].values()
                      for caller in pop["caller"].split("; ")})
    results = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run_id": facts.run_id,
        "organization": run.params["organization"],
        "environment": run.params.get("environment"),
        "period": facts.period.to_dict(),
        "generated_at": facts.generated_at,
        "git_commit": facts.git_commit,
        "params_digest": facts.params_digest,
        "tool_version": facts.versions.get("auditbook"),
        "run_by": facts.run_by,
        "scope": facts.scope,
        "status": str(worst(Status(c["status"]) for c in criteria)),
        "caller_identities": callers,
        "criteria": criteria,
        "exception_register": register_mod.reconcile(deviations, run.register, facts.period,
                                                     [o.criterion for o in outcomes]),
    }
    if results["exception_register"]["source"]:
        results["exception_register"]["source"] = layout.REGISTER_COPY
    validate_results(results)
    (staging / layout.RESULTS_JSON).write_text(json.dumps(results, indent=1, default=str))
    write_exceptions_csv(staging / layout.EXCEPTIONS_CSV, deviations)
    exports.write(staging, results, deviations)  # results.junit.xml, findings.ocsf.json
    oscal.write(staging, results)
    _write_sbom(staging, facts)
    history = trends.history(out_root or staging, results, staging)
    write_index(staging, results, history, facts.branding)
    return results
