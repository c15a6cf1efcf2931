"""CC9.1 risk mitigation: the rules, as pure functions over the collected populations.

Vulnerabilities are remediated within the SLA of their severity: GitHub Dependabot, code
scanning and secret scanning alerts of the production repositories and the findings on each
repository's running container image. A finding is in the population when it was open at some
time in the period; it deviates when it was closed in the period later than its SLA, or was
still open at the period end older than its SLA. The pipeline requires the scanners before a
merge (required status checks on production branches), and the production infrastructure is
managed as code: every in-scope resource is in a CloudFormation stack or a Terraform state,
and no stack has drifted. Ages are measured at the period end, so a re-run gives the same answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from auditbook.results import ControlTest, Tested, TestResult, evaluate


def _within_sla(settings: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {**ctx.window, "sla_days": settings["sla_days"]}


DEPENDABOT = ControlTest(
    "CC9.1-DEPENDABOT", "CC9.1", "Vulnerable dependencies are remediated within the SLA",
    "Every Dependabot alert of a production repository open at some time in the period was fixed or dismissed "
    "within the SLA days of its severity, or, still open at the period end, is not older than that SLA.",
    "per_event", ("github-dependabot-alerts",), _within_sla, ("finding_id",),
    deviates_when=("A Dependabot alert of a production repository not fixed or dismissed within its severity's SLA, "
                   "or still open at the period end ({as_of}) and older than it, deviates; SLA days: {sla_days}."))
CODE_SCANNING = ControlTest(
    "CC9.1-CODE-SCANNING", "CC9.1", "Code scanning (SAST) alerts are remediated within the SLA",
    "Every code scanning alert of a production repository open at some time in the period was fixed or dismissed "
    "within the SLA days of its security severity, or, still open at the period end, is not older than that SLA.",
    "per_event", ("github-code-scanning-alerts",), _within_sla, ("finding_id",),
    deviates_when=("A code scanning alert of a production repository not fixed or dismissed within its security "
                   "severity's SLA, or still open at the period end ({as_of}) and older than it, deviates; SLA days: "
                   "{sla_days}."))
SECRET_SCANNING = ControlTest(
    "CC9.1-SECRET-SCANNING", "CC9.1", "Leaked secrets are remediated within the SLA",
    "Every secret scanning alert of a production repository open at some time in the period was resolved within "
    "the SLA days of the severity secret leaks are rated at, or, still open at the period end, is not older.",
    "per_event", ("github-secret-scanning-alerts",),
    lambda s, ctx: {**ctx.window, "sla_days": s["sla_days"], "secret_severity": s["secret_scanning_severity"]},
    ("finding_id",),
    deviates_when=("A secret scanning alert of a production repository not resolved within the SLA of the severity "
                   "secret leaks are rated at, or still open at the period end ({as_of}) and older than it, "
                   "deviates; SLA days: {sla_days}."))
CONTAINER = ControlTest(
    "CC9.1-CONTAINER-FINDINGS", "CC9.1", "Container image vulnerabilities are remediated within the SLA",
    "The most recently pushed image of every container repository in scope was scanned, and no finding of its "
    "latest scan is open longer than the SLA days of its severity at the period end.",
    "per_event", ("ecr-image-findings",), _within_sla, ("finding_id",),
    deviates_when=("A container repository in scope whose latest image was not scanned, or has a finding open at the "
                   "period end ({as_of}) longer than its severity's SLA, deviates; SLA days: {sla_days}."))
SCANNERS = ControlTest(
    "CC9.1-SCANNERS", "CC9.1", "Scanners are required status checks on production branches",
    "Every production branch requires, through branch protection or an active ruleset, a status check of each "
    "scanner category in params (SAST, dependency audit, image scan) before a merge.",
    "continuous", ("github-branch-protection",),
    lambda s, ctx: {"scanner_checks_by_category": s["scanner_checks"], "exemptions": s["scanner_exemptions"]},
    ("org", "repo", "branch"), configuration_only=True,
    deviates_when=("A production branch that does not require, before a merge, a status check of each scanner "
                   "category ({scanner_checks}) deviates, unless exempted ({exemptions})."))
IAC_MANAGED = ControlTest(
    "CC9.1-IAC-MANAGED", "CC9.1", "Production infrastructure is managed as code",
    "Every in-scope resource (databases, auto scaling groups, volumes, buckets with the scope tag) is a resource "
    "of a CloudFormation stack or of a Terraform state file named in params.",
    "continuous", ("iac-inventory", "cloudformation-stack-resources", "terraform-state-resources"),
    lambda s, ctx: {"exempt": s["iac_exempt_resources"]}, ("resource_id",),
    deviates_when=("An in-scope resource that is not a resource of a {managed_by} named in params deviates."))
IAC_DRIFT = ControlTest(
    "CC9.1-IAC-DRIFT", "CC9.1", "Infrastructure has not drifted from its code",
    "Every CloudFormation stack had drift detection run within the allowed days before the period end and was "
    "IN_SYNC: no resource changed outside the code.", "continuous", ("cloudformation-stacks",),
    lambda s, ctx: {"as_of": ctx.period.end, "max_drift_check_age_days": s["max_drift_check_age_days"]},
    ("account_id", "region", "stack_name"),
    deviates_when=("A CloudFormation stack not {drift_status}, or without drift detection run within "
                   "{max_drift_check_age_days} days before the period end, deviates."))

TESTS = [DEPENDABOT, CODE_SCANNING, SECRET_SCANNING, CONTAINER, SCANNERS, IAC_MANAGED, IAC_DRIFT]
FINDING_COLUMNS = ["source", "finding_id", "repository", "title", "severity", "sla_days", "detected_at", "closed_at",
                   "resolution", "age_days", "open_at_period_end", "within_sla", "outcome"]
OUTCOMES = ["fixed in time", "fixed late", "open within SLA", "open past SLA"]


def findings_sheet(findings: Tested, period_start: datetime, period_end: datetime,
                   sla_days: dict[str, int]) -> tuple[Tested, list[str]]:
    """Normalised findings (``source, finding_id, repository, title, severity, detected_at, closed_at,
    resolution``) open at some time in the period, with their age, SLA and outcome.

    A finding closed after the period end counts as open at the period end; a severity without an
    SLA (informational) is left out and counted in the notes.
    """
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    for column in ("detected_at", "closed_at"):
        findings.frame[column] = pd.to_datetime(findings.frame[column], utc=True)
    tested = findings.keep(lambda f: (f["detected_at"] < end) & (f["closed_at"].isna() | (f["closed_at"] >= start)),
                           "open at some time in the period (detected before its end, not closed before its start)")
    frame = tested.frame
    rated = frame["severity"].isin(list(sla_days))
    notes = []
    if (~rated).any():
        notes.append(f"{int((~rated).sum())} findings of a severity without an SLA "
                     f"({', '.join(sorted(set(frame.loc[~rated, 'severity'].astype(str))))}) are not tested.")
    tested = tested.keep(lambda f: f["severity"].isin(list(sla_days)),
                         f"of a severity with an SLA ({', '.join(sla_days)})")
    frame = tested.frame.copy()
    closed_in_period = frame["closed_at"].notna() & (frame["closed_at"] < end)
    frame["closed_at"] = frame["closed_at"].where(closed_in_period)
    frame["sla_days"] = frame["severity"].map(sla_days).astype(int)
    age = frame["closed_at"].fillna(end) - frame["detected_at"]
    frame["age_days"] = (age.dt.total_seconds() / 86400).round(1)
    frame["open_at_period_end"] = ~closed_in_period[frame.index]
    frame["within_sla"] = age <= pd.to_timedelta(frame["sla_days"], unit="D")  # exact: not the rounded days
    frame["outcome"] = [
        ("open " if is_open else "fixed ") + ("within SLA" if ok and is_open else "in time" if ok else
                                             "past SLA" if is_open else "late")
        for is_open, ok in zip(frame["open_at_period_end"], frame["within_sla"], strict=True)]
    return tested.annotate(frame[FINDING_COLUMNS].reset_index(drop=True)), notes


def remediation(test: ControlTest, findings: Tested, period_start: datetime, period_end: datetime,
                sla_days: dict[str, int], resource_type: str) -> TestResult:
    tested, notes = findings_sheet(findings, period_start, period_end, sla_days)
    sheet = tested.frame
    deviations = []
    for f in sheet[~sheet["within_sla"]].itertuples():
        if f.open_at_period_end:
            detail = f"{f.severity} finding open at period end, {f.age_days:g} days after detection"
        else:
            detail = f"{f.severity} finding {f.resolution or 'closed'} after {f.age_days:g} days"
        deviations.append({"resource_type": resource_type, "resource_id": f.finding_id,
                           "detail": f"{detail} (SLA {f.sla_days} days): {f.title}"})
    return evaluate(test, tested, deviations, {"sla_days": sla_days, "as_of": period_end.isoformat()}, notes)


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _github_findings(alerts: pd.DataFrame, source: str, closed: pd.Series, resolution: pd.Series,
                     title: pd.Series, severity: pd.Series) -> pd.DataFrame:
    kind = {"dependabot": "dependabot", "code scanning": "code-scanning", "secret scanning": "secret-scanning"}[source]
    if alerts.empty:
        return pd.DataFrame(columns=["source", "finding_id", "repository", "title", "severity", "detected_at",
                                     "closed_at", "resolution"])
    return pd.DataFrame({
        "source": source,
        "finding_id": [f"{o}/{r}/{kind}/{n}" for o, r, n in zip(alerts["org"], alerts["repo"], alerts["number"],
                                                                strict=True)],
        "repository": alerts["repo"], "title": title, "severity": severity, "detected_at": alerts["created_at"],
        "closed_at": closed, "resolution": resolution}, index=alerts.index)


def dependabot_findings(alerts: pd.DataFrame) -> pd.DataFrame:
    closed = _utc(alerts["fixed_at"]).fillna(_utc(alerts["dismissed_at"]))
    resolution = [f"dismissed ({r})" if s in ("dismissed", "auto_dismissed") else s
                  for s, r in zip(alerts["state"], alerts["dismissed_reason"], strict=True)]
    title = alerts["package"].astype(str) + " " + alerts["ghsa_id"].astype(str) + ": " + alerts["summary"].astype(str)
    return _github_findings(alerts, "dependabot", closed, pd.Series(resolution, index=alerts.index), title,
                            alerts["severity"])


def code_scanning_findings(alerts: pd.DataFrame) -> pd.DataFrame:
    closed = _utc(alerts["fixed_at"]).fillna(_utc(alerts["dismissed_at"]))
    resolution = [f"dismissed ({r})" if s == "dismissed" else s
                  for s, r in zip(alerts["state"], alerts["dismissed_reason"], strict=True)]
    title = alerts["rule_id"].astype(str) + " (" + alerts["tool"].astype(str) + ")"
    return _github_findings(alerts, "code scanning", closed, pd.Series(resolution, index=alerts.index), title,
                            alerts["severity"])


def secret_scanning_findings(alerts: pd.DataFrame, severity: str) -> pd.DataFrame:
    resolution = [f"resolved ({r})" if r else s for s, r in zip(alerts["state"], alerts["resolution"], strict=True)]
    return _github_findings(alerts, "secret scanning", alerts["resolved_at"], pd.Series(resolution,
                            index=alerts.index), alerts["secret_type"].astype(str),
                            pd.Series(severity, index=alerts.index))


def container_findings(findings: pd.DataFrame) -> pd.DataFrame:
    rows = findings[findings["finding"].notna() & (findings["finding"].astype(str) != "")]
    if rows.empty:
        return _github_findings(rows, "dependabot", rows["last_observed"], rows["status"], rows["package"],
                                rows["severity"])
    closed = rows["last_observed"].where(rows["status"].astype(str).str.upper() == "CLOSED")
    return pd.DataFrame({
        "source": "container image",
        "finding_id": [f"{a}:{r}:{f}" for a, r, f in zip(rows["account_id"], rows["repository_name"], rows["finding"],
                                                          strict=True)],
        "repository": rows["repository_name"], "title": rows["package"].astype(str) + " in " + rows["image_tags"],
        "severity": rows["severity"], "detected_at": rows["first_observed"], "closed_at": closed,
        "resolution": ["closed" if pd.notna(c) else "" for c in closed]}, index=rows.index)


def _alerts(alerts: pd.DataFrame, source: str, findings: pd.DataFrame) -> Tested:
    return Tested(alerts, source).annotate(findings)


@DEPENDABOT.rule
def dependabot_remediation(alerts: pd.DataFrame, period_start: datetime, period_end: datetime,
                           sla_days: dict[str, int]) -> TestResult:
    return remediation(DEPENDABOT, _alerts(alerts, "github-dependabot-alerts", dependabot_findings(alerts)),
                       period_start, period_end, sla_days, "dependabot_alert")


@CODE_SCANNING.rule
def code_scanning_remediation(alerts: pd.DataFrame, period_start: datetime, period_end: datetime,
                              sla_days: dict[str, int]) -> TestResult:
    return remediation(CODE_SCANNING, _alerts(alerts, "github-code-scanning-alerts", code_scanning_findings(alerts)),
                       period_start, period_end, sla_days, "code_scanning_alert")


@SECRET_SCANNING.rule
def secret_scanning_remediation(alerts: pd.DataFrame, period_start: datetime, period_end: datetime,
                                sla_days: dict[str, int], secret_severity: str) -> TestResult:
    findings = _alerts(alerts, "github-secret-scanning-alerts", secret_scanning_findings(alerts, secret_severity))
    return remediation(SECRET_SCANNING, findings, period_start, period_end, sla_days, "secret_scanning_alert")


@CONTAINER.rule
def container_remediation(findings: pd.DataFrame, period_start: datetime, period_end: datetime,
                          sla_days: dict[str, int]) -> TestResult:
    """Findings of the latest image of each repository; an image never scanned is a deviation too."""
    rows = Tested(findings, "ecr-image-findings").reshape(
        container_findings(findings), "one row per finding of each repository's latest image (images with no "
        "finding left out)")
    result = remediation(CONTAINER, rows, period_start, period_end, sla_days, "container_image_finding")
    unscanned = findings[findings["scan_status"].astype(str).isin(["NOT_SCANNED", "FAILED", "UNSUPPORTED_IMAGE"])]
    extra = [{"resource_type": "container_image", "resource_id": f"{u.account_id}:{u.repository_name}:{u.image_digest}",
              "detail": f"latest image ({u.image_tags}) has no completed scan ({u.scan_status})"}
             for u in unscanned.itertuples()]
    if not extra:
        return result
    images = findings.drop_duplicates(["account_id", "repository_name"])
    tested = Tested(findings, "ecr-image-findings")
    tested.steps = list(result.steps)
    tested.frame = result.tested
    return evaluate(CONTAINER, tested, [*result.deviations.to_dict("records"), *extra], result.threshold,
                    [*result.notes, f"{len(images)} images (the latest of each repository) in scope."])


def remediation_summary(*sheets: pd.DataFrame) -> pd.DataFrame:
    """Findings per source and severity by outcome: what was fixed in time, late, and what is open."""
    frame = pd.concat([s for s in sheets if s is not None and not s.empty], ignore_index=True) if any(
        s is not None and not s.empty for s in sheets) else pd.DataFrame(columns=FINDING_COLUMNS)
    if frame.empty:
        return pd.DataFrame(columns=["source", "severity", "sla_days", *OUTCOMES, "total"])
    counts = frame.groupby(["source", "severity", "sla_days", "outcome"]).size().unstack("outcome", fill_value=0)
    for outcome in OUTCOMES:
        if outcome not in counts:
            counts[outcome] = 0
    counts = counts[OUTCOMES]
    counts["total"] = counts.sum(axis=1)
    return counts.reset_index().sort_values(["source", "sla_days"]).reset_index(drop=True)


# -- pipeline: required scanners ------------------------------------------------------------------
@SCANNERS.rule
def scanner_checks(protection: pd.DataFrame, scanner_checks_by_category: dict[str, list[str]],
                   exemptions: dict[str, list[str]]) -> TestResult:
    """Population: one row per production branch, with the required checks of every protection source."""
    rows, deviations = [], []
    for (org, repo, branch), group in protection.groupby(["org", "repo", "branch"], sort=True):
        sources = [s for s in group["source"] if s != "none"]
        required = sorted({c for text in group["required_status_checks"].fillna("") for c in str(text).split(";")
                           if c})
        exempt = set(exemptions.get(f"{org}/{repo}", []))
        missing = {cat: names for cat, names in scanner_checks_by_category.items()
                   if cat not in exempt and not set(names) & set(required)}
        rows.append({"org": org, "repo": repo, "branch": branch, "protected_by": ";".join(sources) or "none",
                     "required_checks": ";".join(required), "exempt": ";".join(sorted(exempt)),
                     "missing_scanners": ";".join(sorted(missing))})
        if missing:
            if not sources:
                detail = f"{branch} has no branch protection or ruleset: no scanner is a required status check"
            else:
                lacking = ", ".join(f"{cat} (one of {', '.join(names)})" for cat, names in sorted(missing.items()))
                detail = f"required status checks on {branch} ({', '.join(required) or 'none'}) lack {lacking}"
            deviations.append({"resource_type": "branch", "resource_id": f"{org}/{repo}:{branch}", "detail": detail})
    population = pd.DataFrame(rows, columns=["org", "repo", "branch", "protected_by", "required_checks", "exempt",
                                             "missing_scanners"])
    population = Tested(protection, "github-branch-protection").reshape(
        population, "one row per production branch with the required checks of every protection source")
    return evaluate(SCANNERS, population, deviations, {"scanner_checks": scanner_checks_by_category,
                                                       "exemptions": exemptions})


# -- infrastructure as code -----------------------------------------------------------------------
def tagged(tags: Any, scope_tag: dict[str, str] | None) -> bool:
    """A resource is in scope when it carries the scope tag (``key=value`` in its tags); no tag: all."""
    if not scope_tag:
        return True
    return f"{scope_tag['key']}={scope_tag['value']}" in str(tags or "").split(";")


def iac_inventory(rds: pd.DataFrame, asgs: pd.DataFrame, volumes: pd.DataFrame, buckets: pd.DataFrame,
                  scope_tag: dict[str, str] | None) -> pd.DataFrame:
    """The resources in scope with every identifier IaC may know them by."""
    rows = []
    for d in rds.itertuples():
        rows.append({"account_id": d.account_id, "region": d.region, "resource_type": "rds", "name": d.db_instance,
                     "identifiers": f"{d.db_instance};{d.arn}", "tags": d.tags})
    for g in asgs.itertuples():
        rows.append({"account_id": g.account_id, "region": g.region, "resource_type": "asg", "name": g.name,
                     "identifiers": f"{g.name};{g.arn}", "tags": g.tags})
    for v in volumes.itertuples():
        rows.append({"account_id": v.account_id, "region": v.region, "resource_type": "ebs",
                     "name": v.name or v.volume_id, "identifiers": v.volume_id, "tags": v.tags})
    for b in buckets.itertuples():
        rows.append({"account_id": b.account_id, "region": b.region, "resource_type": "s3", "name": b.bucket,
                     "identifiers": f"{b.bucket};arn:aws:s3:::{b.bucket}", "tags": b.tags})
    frame = pd.DataFrame(rows, columns=["account_id", "region", "resource_type", "name", "identifiers", "tags"])
    frame = frame[pd.Series([tagged(t, scope_tag) for t in frame["tags"]], index=frame.index, dtype=bool)]
    frame.insert(0, "resource_id", [f"{a}:{t}:{n}" for a, t, n in
                                    zip(frame["account_id"], frame["resource_type"], frame["name"], strict=True)])
    return frame.reset_index(drop=True)


@IAC_MANAGED.rule
def iac_managed(inventory: pd.DataFrame, stack_resources: pd.DataFrame, terraform: pd.DataFrame,
                exempt: list[str]) -> TestResult:
    """Population: the inventory; each resource must be in a stack or a Terraform state (or exempt in params)."""
    known: dict[str, str] = {}
    for r in stack_resources.itertuples():
        known[str(r.physical_id)] = f"CloudFormation {r.stack_name}/{r.logical_id}"
    for t in terraform.itertuples():
        for ident in {*str(t.identifiers).split(";"), str(t.id), str(t.arn)} - {""}:
            known.setdefault(ident, f"Terraform {t.address}")
    sheet = inventory.copy()
    sheet["managed_by"] = [next((known[i] for i in str(ids).split(";") if i in known), "")
                           for ids in sheet["identifiers"]]
    sheet["exempt"] = sheet["resource_id"].isin(exempt)
    deviations = [{"resource_type": r.resource_type, "resource_id": r.resource_id,
                   "detail": f"{r.resource_type} {r.name} ({r.region}) is in no CloudFormation stack and no "
                             f"Terraform state"}
                  for r in sheet[(sheet["managed_by"] == "") & ~sheet["exempt"]].itertuples()]
    notes = [f"{int(sheet['exempt'].sum())} resources exempt in params (iac_exempt_resources)."] if exempt else []
    return evaluate(IAC_MANAGED, sheet, deviations, {"managed_by": "CloudFormation stack or Terraform state"}, notes)


@IAC_DRIFT.rule
def stack_drift(stacks: pd.DataFrame, as_of: datetime, max_drift_check_age_days: int) -> TestResult:
    sheet = stacks.copy()
    checked = pd.to_datetime(sheet["drift_checked_at"], utc=True)
    age = pd.Timestamp(as_of) - checked
    sheet["check_age_days"] = (age.dt.total_seconds() / 86400).round(1)
    too_old = (age > pd.Timedelta(days=max_drift_check_age_days)).fillna(False)
    deviations = []
    for s, old in zip(sheet.itertuples(), too_old, strict=True):
        problems = []
        if s.drift_status == "DRIFTED":
            problems.append(f"drifted ({s.drifted_resources} resources): {s.drift_detail}")
        if s.drift_status == "NOT_CHECKED" or pd.isna(s.drift_checked_at):
            problems.append("drift detection never run")
        elif old:
            problems.append(f"drift last checked {s.drift_checked_at:%Y-%m-%d}, {s.check_age_days:g} days before "
                            f"{as_of:%Y-%m-%d} (limit {max_drift_check_age_days})")
        if problems:
            deviations.append({"resource_type": "cloudformation_stack",
                               "resource_id": f"{s.account_id}:{s.region}:{s.stack_name}",
                               "detail": "; ".join(problems)})
    return evaluate(IAC_DRIFT, sheet, deviations, {"drift_status": "IN_SYNC",
                                                   "max_drift_check_age_days": max_drift_check_age_days})
