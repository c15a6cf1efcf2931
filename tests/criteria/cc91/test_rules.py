"""CC9.1 rules on small frames: SLA edges, the period boundaries, scanners, IaC and drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from auditbook.controls import cc91
from auditbook.results import Status

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
SLA = {"critical": 15, "high": 30, "moderate": 90, "low": 180}


def ts(text):
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def dependabot(*rows):
    frame = pd.DataFrame([{
        "org": "o", "repo": "r", "number": n, "state": state, "severity": sev, "ecosystem": "pip", "package": "p",
        "manifest": "m", "ghsa_id": "GHSA-x", "cve_id": "", "summary": "s", "created_at": ts(created),
        "fixed_at": ts(fixed), "dismissed_at": ts(dismissed), "dismissed_reason": reason, "url": ""}
        for n, (state, sev, created, fixed, dismissed, reason) in enumerate(rows, start=1)])
    for c in ("created_at", "fixed_at", "dismissed_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    return frame


def ids(result):
    return sorted(result.deviations["resource_id"])


def test_fixed_exactly_at_the_sla_is_in_time_one_second_later_is_late():
    alerts = dependabot(("fixed", "critical", "2026-07-01", "2026-07-16", None, ""),
                        ("fixed", "critical", "2026-07-01", "2026-07-16 00:00:01", None, ""))
    result = cc91.dependabot_remediation(alerts, START, END, SLA)
    assert result.status is Status.FAIL and ids(result) == ["o/r/dependabot/2"]
    assert "fixed after 15 days" in result.deviations["detail"][0]


def test_open_at_period_end_measured_at_the_end():
    alerts = dependabot(("open", "high", "2026-09-01", None, None, ""),  # exactly 30 days
                        ("open", "high", "2026-08-31 23:00", None, None, ""))
    result = cc91.dependabot_remediation(alerts, START, END, SLA)
    assert ids(result) == ["o/r/dependabot/2"]
    assert result.tested.loc[0, "outcome"] == "open within SLA"
    assert result.tested.loc[1, "outcome"] == "open past SLA"


def test_closed_before_the_period_or_detected_after_it_is_outside_the_population():
    alerts = dependabot(("fixed", "critical", "2026-01-01", "2026-06-30 23:59", None, ""),
                        ("open", "critical", "2026-10-01", None, None, ""),
                        ("dismissed", "low", "2026-06-01", None, "2026-07-01", "tolerable_risk"))
    result = cc91.dependabot_remediation(alerts, START, END, SLA)
    assert result.population_size == 1 and result.status is Status.PASS
    assert result.tested.loc[0, "resolution"] == "dismissed (tolerable_risk)"


def test_fixed_after_the_period_end_counts_as_open_at_the_end():
    alerts = dependabot(("fixed", "critical", "2026-09-01", "2026-10-20", None, ""))
    result = cc91.dependabot_remediation(alerts, START, END, SLA)
    assert ids(result) == ["o/r/dependabot/1"] and "open at period end, 30 days" in result.deviations["detail"][0]


def test_a_severity_without_an_sla_is_noted_not_tested():
    alerts = dependabot(("open", "informational", "2026-01-01", None, None, ""))
    result = cc91.dependabot_remediation(alerts, START, END, SLA)
    assert result.population_size == 0 and "informational" in result.notes[1]


def test_code_scanning_and_secret_scanning_use_their_own_closing_fields():
    code = pd.DataFrame([{"org": "o", "repo": "r", "number": 1, "state": "dismissed", "severity": "high",
                          "rule_id": "js/xss", "rule_severity": "error", "tool": "CodeQL", "description": "",
                          "created_at": ts("2026-07-01"), "fixed_at": pd.NaT, "dismissed_at": ts("2026-08-15"),
                          "dismissed_reason": "won't fix", "url": ""}])
    result = cc91.code_scanning_remediation(code, START, END, SLA)
    assert ids(result) == ["o/r/code-scanning/1"] and "dismissed (won't fix) after 45 days" in \
        result.deviations["detail"][0]
    secrets = pd.DataFrame([{"org": "o", "repo": "r", "number": 3, "state": "resolved", "secret_type": "AWS key",
                             "created_at": ts("2026-07-01"), "resolved_at": ts("2026-07-10"),
                             "resolution": "revoked", "url": ""}])
    assert cc91.secret_scanning_remediation(secrets, START, END, SLA, "critical").status is Status.PASS
    assert cc91.secret_scanning_remediation(secrets, START, END, {**SLA, "critical": 5}, "critical").status \
        is Status.FAIL


def image_findings(*rows, scan_status="COMPLETE"):
    return _times(pd.DataFrame([{
        "account_id": "1", "region": "r", "repository_name": repo, "image_digest": "sha256:a", "image_tags": "v1",
        "pushed_at": ts("2026-08-01"), "scan_status": scan_status, "scan_completed_at": ts("2026-08-01"),
        "finding": cve, "severity": sev, "package": "pkg 1", "status": status, "first_observed": ts(seen),
        "last_observed": ts("2026-09-30"), "scan_type": "enhanced"} for repo, cve, sev, status, seen in rows]),
        ["pushed_at", "scan_completed_at", "first_observed", "last_observed"])


def _times(frame, columns):
    for c in columns:
        frame[c] = pd.to_datetime(frame[c], utc=True)
    return frame


def test_container_findings_and_unscanned_images():
    findings = image_findings(("api", "CVE-1", "critical", "ACTIVE", "2026-09-16"),  # exactly 15 days
                              ("api", "CVE-2", "critical", "ACTIVE", "2026-09-15 12:00"),
                              ("api", "CVE-3", "critical", "CLOSED", "2026-07-01"))  # closed 09-30: 91 days, late
    result = cc91.container_remediation(findings, START, END, SLA)
    assert ids(result) == ["1:api:CVE-2", "1:api:CVE-3"]
    unscanned = image_findings(("web", None, None, None, None), scan_status="NOT_SCANNED")
    result = cc91.container_remediation(unscanned, START, END, SLA)
    assert result.status is Status.FAIL and result.deviations["resource_type"][0] == "container_image"


def test_remediation_summary_counts_outcomes():
    alerts = dependabot(("fixed", "critical", "2026-07-01", "2026-07-05", None, ""),
                        ("open", "critical", "2026-07-01", None, None, ""))
    sheet = cc91.dependabot_remediation(alerts, START, END, SLA).tested
    summary = cc91.remediation_summary(sheet, pd.DataFrame())
    row = summary.iloc[0]
    assert (row["fixed in time"], row["open past SLA"], row["total"]) == (1, 1, 2)


def protection(*rows):
    return pd.DataFrame([{"org": "o", "repo": repo, "branch": "main", "source": source,
                          "required_status_checks": checks} for repo, source, checks in rows])


def test_scanners_from_classic_and_rulesets_together_with_exemptions():
    checks = {"sast": ["codeql", "semgrep"], "deps": ["dependency-review"], "image": ["trivy"]}
    frame = protection(("a", "classic", "codeql;trivy"), ("a", "ruleset", "dependency-review"),
                       ("b", "classic", "semgrep;dependency-review"), ("c", "none", ""), ("d", "classic", "codeql"))
    other_org = protection(("b", "classic", "semgrep;dependency-review")).assign(org="p")
    result = cc91.scanner_checks(pd.concat([frame, other_org]), checks, {"o/b": ["image"]})
    assert ids(result) == ["o/c:main", "o/d:main", "p/b:main"]  # an exemption names its org
    details = dict(zip(result.deviations["resource_id"], result.deviations["detail"], strict=True))
    assert "no branch protection" in details["o/c:main"]
    assert "deps (one of dependency-review)" in details["o/d:main"] and "image" in details["o/d:main"]


@pytest.mark.parametrize(("tags", "scope", "expected"), [
    ("environment=production;team=x", {"key": "environment", "value": "production"}, True),
    ("environment=productionx", {"key": "environment", "value": "production"}, False),
    ("", None, True),
])
def test_tagged(tags, scope, expected):
    assert cc91.tagged(tags, scope) is expected


def test_iac_inventory_and_managed():
    rds = pd.DataFrame([{"account_id": "1", "region": "r", "db_instance": "db", "arn": "arn:db", "tags": "env=p"}])
    asgs = pd.DataFrame([{"account_id": "1", "region": "r", "name": "g", "arn": "arn:g", "tags": "env=p"}])
    volumes = pd.DataFrame([{"account_id": "1", "region": "r", "volume_id": "vol-1", "name": "", "tags": "env=p"}])
    buckets = pd.DataFrame([{"account_id": "1", "region": "r", "bucket": "b", "tags": "env=p"},
                            {"account_id": "1", "region": "r", "bucket": "other", "tags": "env=dev"}])
    inventory = cc91.iac_inventory(rds, asgs, volumes, buckets, {"key": "env", "value": "p"})
    assert list(inventory["resource_id"]) == ["1:rds:db", "1:asg:g", "1:ebs:vol-1", "1:s3:b"]
    stack = pd.DataFrame([{"stack_name": "s", "logical_id": "B", "physical_id": "b"}])
    tf = pd.DataFrame([{"address": "aws_db_instance.db", "id": "db-XYZ", "arn": "arn:db", "identifiers": "db"},
                       {"address": "aws_autoscaling_group.g", "id": "g", "arn": "", "identifiers": "g"}])
    result = cc91.iac_managed(inventory, stack, tf, exempt=[])
    assert ids(result) == ["1:ebs:vol-1"]
    assert cc91.iac_managed(inventory, stack, tf, exempt=["1:ebs:vol-1"]).status is Status.PASS


def test_stack_drift_status_and_check_age():
    stacks = pd.DataFrame([
        {"account_id": "1", "region": "r", "stack_name": n, "drift_status": s, "drift_checked_at": ts(c),
         "drifted_resources": 1 if s == "DRIFTED" else 0, "drift_detail": "T MODIFIED" if s == "DRIFTED" else ""}
        for n, s, c in [("ok", "IN_SYNC", "2026-09-24"), ("old", "IN_SYNC", "2026-09-23 23:00"),
                        ("drifted", "DRIFTED", "2026-09-30"), ("never", "NOT_CHECKED", None)]])
    result = cc91.stack_drift(stacks, END, 7)
    assert ids(result) == ["1:r:drifted", "1:r:never", "1:r:old"]
