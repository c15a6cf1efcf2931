"""The demo company's vulnerability alerts and scanner checks (CC9.1), and the deviations they seed.

Dependabot and code scanning alerts of the production repositories, fixed in time and late, and
the scanners each production branch requires before a merge. Kept apart from the CC8.1 history
(``company.py``): no random draws, no ids from the shared counter, and the protection settings
CC8.1 tests (approvals, stale dismissal, administrators) are left as they are; only required
status check names are added. Regenerate the truth with ``python -m auditbook.demo.github.security_alerts``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auditbook.demo import truth_yaml
from auditbook.demo.github.secret_scanning import ALERTS as SECRET_ALERTS
from auditbook.demo.github.state import GitHubState

ORG = "demo-fintech"
TRUTH_PATH = truth_yaml.TRUTH_DIR / "github-cc9.1.yaml"
PERIOD_START = datetime(2026, 7, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 10, 1, tzinfo=UTC)
# The SLA the demo params use (days to remediate, by severity) and how secret scanning alerts are rated.
SLA_DAYS = {"critical": 15, "high": 30, "moderate": 90, "low": 180}
SECRET_SCANNING_SEVERITY = "critical"


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _dep(number: int, severity: str, ecosystem: str, package: str, ghsa: str, summary: str, created: str,
         state: str = "open", closed: str | None = None, reason: str | None = None, why: str = "",
         manifest: str = "requirements.txt") -> dict[str, Any]:
    alert: dict[str, Any] = {"number": number, "severity": severity, "ecosystem": ecosystem, "package": package,
                             "ghsa_id": ghsa, "cve_id": None, "summary": summary, "created_at": _t(created),
                             "state": state, "manifest": manifest, "patched": "99.0.0", "why": why}
    if state == "fixed":
        alert["fixed_at"] = _t(closed or "")
    elif state == "dismissed":
        alert.update(dismissed_at=_t(closed or ""), dismissed_reason=reason, dismissed_by="alice-ng",
                     dismissed_comment="Not reachable from production code paths")
    return alert


# repo → Dependabot alerts; "why" marks a seeded deviation.
DEPENDABOT: dict[str, list[dict[str, Any]]] = {
    "payments-api": [
        _dep(1, "critical", "pip", "cryptography", "GHSA-demo-0001-cryp", "NULL dereference in PKCS12 parsing",
             "2026-07-06T08:00:00", "fixed", "2026-07-14T16:30:00"),  # 8 days: in time
        _dep(2, "high", "pip", "requests", "GHSA-demo-0002-reqs", "Proxy-Authorization header leaked on redirect",
             "2026-08-03T09:15:00", "fixed", "2026-09-15T11:00:00",
             why="high alert fixed after 43 days (SLA 30 days)"),
        _dep(3, "medium", "pip", "jinja2", "GHSA-demo-0003-jinj", "Sandbox escape through attr filter",
             "2026-09-10T07:40:00"),  # open 21 days: within 90
    ],
    "ledger-service": [
        _dep(1, "critical", "maven", "com.fasterxml.jackson.core:jackson-databind", "GHSA-demo-0004-jack",
             "Deserialization of untrusted data", "2026-09-02T13:20:00", manifest="pom.xml",
             why="critical alert open at period end, 29 days after detection (SLA 15 days)"),
        # Closed before the period: not in the population.
        _dep(2, "low", "maven", "org.apache.commons:commons-text", "GHSA-demo-0005-ctxt", "Verbose error messages",
             "2026-03-01T10:00:00", "dismissed", "2026-03-20T10:00:00", "tolerable_risk", manifest="pom.xml"),
    ],
    "web-app": [
        _dep(1, "medium", "npm", "axios", "GHSA-demo-0006-axio", "Cross-site request forgery token exposure",
             "2026-08-25T15:00:00", manifest="package-lock.json"),  # open 37 days: within 90
        _dep(2, "high", "npm", "next", "GHSA-demo-0007-next", "Authorization bypass in middleware",
             "2026-06-10T12:00:00", "fixed", "2026-07-02T09:00:00", manifest="package-lock.json"),  # 22 days
    ],
    "infra-live": [
        _dep(1, "low", "terraform", "hashicorp/aws", "GHSA-demo-0008-tfaw", "Provider logs sensitive attributes",
             "2026-07-20T10:00:00", "dismissed", "2026-07-21T10:00:00", "inaccurate",
             manifest=".terraform.lock.hcl"),  # dismissed next day: in time
    ],
    "docs-site": [  # not a production repository: out of scope
        _dep(1, "critical", "npm", "marked", "GHSA-demo-0009-mark", "ReDoS in inline parser", "2026-07-02T10:00:00",
             manifest="package-lock.json"),
    ],
}


def _code(number: int, rule: str, severity: str, description: str, created: str, state: str = "open",
          closed: str | None = None, tool: str = "CodeQL", why: str = "", path: str = "src/app.py") -> dict[str, Any]:
    alert: dict[str, Any] = {"number": number, "rule_id": rule, "security_severity": severity,
                             "rule_severity": "error" if severity in ("critical", "high") else "warning",
                             "description": description, "created_at": _t(created), "state": state, "tool": tool,
                             "path": path, "why": why}
    if state == "fixed":
        alert["fixed_at"] = _t(closed or "")
    elif state == "dismissed":
        alert.update(dismissed_at=_t(closed or ""), dismissed_reason="false positive", dismissed_by="bruno-silva")
    return alert


CODE_SCANNING: dict[str, list[dict[str, Any]]] = {
    "payments-api": [
        _code(1, "py/sql-injection", "high", "Database query built from user-controlled sources",
              "2026-07-09T10:00:00", "fixed", "2026-07-30T10:00:00"),  # 21 days: in time
        _code(2, "py/clear-text-logging-sensitive-data", "high", "Clear-text logging of sensitive information",
              "2026-08-12T10:00:00", "dismissed", "2026-08-13T10:00:00"),  # false positive, next day
    ],
    "web-app": [
        _code(1, "js/reflected-xss", "high", "Reflected cross-site scripting", "2026-07-15T10:00:00", "fixed",
              "2026-08-28T10:00:00", path="src/pages/search.tsx",
              why="high alert fixed after 44 days (SLA 30 days)"),
    ],
    "ledger-service": [
        _code(1, "java/weak-cryptographic-algorithm", "medium", "Use of a broken or risky cryptographic algorithm",
              "2026-09-01T10:00:00", path="src/main/java/Ledger.java"),  # open 30 days: within 90
    ],
    "infra-live": [
        _code(1, "aws-s3-enable-bucket-logging", "low", "S3 bucket has no access logging", "2026-06-02T10:00:00",
              "fixed", "2026-07-10T10:00:00", tool="tfsec", path="modules/storage/main.tf"),  # 38 days
    ],
}

# Required status checks added to each production branch's protection. ledger-service requires no
# dependency audit; web-app has no protection at all (a CC8.1 deviation too).
SCANNER_CHECKS = {
    "payments-api": ["codeql", "dependency-review", "trivy-image-scan"],
    "ledger-service": ["codeql", "trivy-image-scan"],
    "infra-live": ["tfsec", "dependency-review"],
}
SCANNER_DEVIATIONS = {
    "ledger-service": "required status checks on main lack a dependency audit (dependency_audit: dependency-review)",
    "web-app": "main has no branch protection or ruleset: no scanner is a required status check",
}


def add_security_alerts(state: GitHubState) -> None:
    for alerts, attr in ((DEPENDABOT, "dependabot_alerts"), (CODE_SCANNING, "code_scanning_alerts")):
        for repo, items in alerts.items():
            setattr(state.repos[repo], attr, [{k: v for k, v in a.items() if k != "why"} for a in items])
    for repo, checks in SCANNER_CHECKS.items():
        record = state.repos[repo]
        if "main" in record.protection:
            rule = record.protection["main"]
            rule.required_status_checks = [*(rule.required_status_checks or []), *checks]
        for ruleset in record.rulesets:
            for rule in ruleset.rules:
                if ruleset.enforcement == "active" and rule["type"] == "required_status_checks":
                    rule["parameters"]["required_status_checks"] += [{"context": c} for c in checks]


def _secret_scanning_truth() -> list[dict[str, str]]:
    """Secret scanning alerts (CC6.2's demo data) rated critical: open past 15 days or resolved late."""
    rows = []
    for repo, alerts in SECRET_ALERTS.items():
        if repo == "docs-site":
            continue
        for a in alerts:
            end = a.get("resolved_at") or PERIOD_END
            if end < PERIOD_START:
                continue
            days = (end - a["created_at"]).total_seconds() / 86400
            if days > SLA_DAYS[SECRET_SCANNING_SEVERITY]:
                rows.append({"test": "CC9.1-SECRET-SCANNING", "resource": f"{ORG}/{repo}/secret-scanning/{a['number']}",
                             "why": f"{a['secret_type_display_name']} alert open {days:.0f} days (rated critical, "
                                    f"SLA {SLA_DAYS[SECRET_SCANNING_SEVERITY]} days)"})
    return rows


def demo_truth() -> list[dict[str, str]]:
    rows = [{"test": "CC9.1-DEPENDABOT", "resource": f"{ORG}/{repo}/dependabot/{a['number']}", "why": a["why"]}
            for repo, alerts in DEPENDABOT.items() for a in alerts if a["why"]]
    rows += [{"test": "CC9.1-CODE-SCANNING", "resource": f"{ORG}/{repo}/code-scanning/{a['number']}", "why": a["why"]}
             for repo, alerts in CODE_SCANNING.items() for a in alerts if a["why"]]
    rows += [{"test": "CC9.1-SCANNERS", "resource": f"{ORG}/{repo}:main", "why": why}
             for repo, why in SCANNER_DEVIATIONS.items()]
    rows += _secret_scanning_truth()
    return truth_yaml.in_order(rows)


def render_truth() -> str:
    return truth_yaml.render("# Generated by `python -m auditbook.demo.github.security_alerts`; do not edit.\n",
                             demo_truth())


if __name__ == "__main__":
    TRUTH_PATH.write_text(render_truth())
    print(f"wrote {TRUTH_PATH}")
