"""GitHub Dependabot and code scanning alerts of the production repositories, by REST.

Every alert (open, fixed, dismissed) of each repository, following ``Link: rel="next"``
(Dependabot pages with cursors, code scanning with page numbers). A repository where the
feature is off answers 403/404: that is an error, never an empty list. Secret scanning alerts
are collected by :mod:`auditbook.sources.github.secret_scanning` (population
``github-secret-scanning-alerts``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from github import Github

from auditbook.provenance import Collected, RawStore
from auditbook.sources.github.client import caller_login, listed, new_provenance

# A code scanning rule without a security severity (a quality rule) rated from its level.
RULE_LEVEL_SEVERITY = {"error": "high", "warning": "moderate", "note": "low", "none": "low"}


def _severity(value: str | None) -> str:
    """GitHub says ``medium``; the SLA table says ``moderate`` (GitHub's advisory database term)."""
    value = (value or "").lower()
    return "moderate" if value == "medium" else value


def collect_dependabot_alerts(gh: Github, org: str, branch_by_repo: dict[str, str], raw: RawStore) -> Collected:
    provenance = new_provenance(gh, org, caller_login(gh))
    rows: list[dict[str, Any]] = []
    for repo in branch_by_repo:
        path = f"/repos/{org}/{repo}/dependabot/alerts"
        params = {"sort": "created", "direction": "asc"}
        pages = listed(gh, path, params, provenance, raw, f"github/{org}/{repo}/dependabot-alerts.json")
        for a in pages.items:
            advisory = a.get("security_advisory") or {}
            package = (a.get("dependency") or {}).get("package") or {}
            rows.append({
                "org": org, "repo": repo, "number": a["number"], "state": a["state"],
                "severity": _severity((a.get("security_vulnerability") or {}).get("severity")
                                      or advisory.get("severity")),
                "ecosystem": package.get("ecosystem", ""), "package": package.get("name", ""),
                "manifest": (a.get("dependency") or {}).get("manifest_path") or "",
                "ghsa_id": advisory.get("ghsa_id", ""), "cve_id": advisory.get("cve_id") or "",
                "summary": advisory.get("summary", ""), "created_at": a["created_at"], "fixed_at": a.get("fixed_at"),
                "dismissed_at": a.get("dismissed_at") or a.get("auto_dismissed_at"),
                "dismissed_reason": a.get("dismissed_reason") or ("auto-dismissed" if a.get("auto_dismissed_at")
                                                                  else ""),
                "url": a.get("html_url") or a.get("url", ""),
            })
    return Collected(pd.DataFrame(rows), provenance)


def collect_code_scanning_alerts(gh: Github, org: str, branch_by_repo: dict[str, str], raw: RawStore) -> Collected:
    provenance = new_provenance(gh, org, caller_login(gh))
    rows: list[dict[str, Any]] = []
    for repo in branch_by_repo:
        path = f"/repos/{org}/{repo}/code-scanning/alerts"
        params = {"sort": "created", "direction": "asc"}
        pages = listed(gh, path, params, provenance, raw, f"github/{org}/{repo}/code-scanning-alerts.json")
        for a in pages.items:
            rule = a.get("rule") or {}
            level = rule.get("severity") or "none"
            rows.append({
                "org": org, "repo": repo, "number": a["number"], "state": a["state"],
                "severity": _severity(rule.get("security_severity_level")) or RULE_LEVEL_SEVERITY.get(level, "low"),
                "rule_id": rule.get("id") or "", "rule_severity": level,
                "tool": (a.get("tool") or {}).get("name", ""), "description": rule.get("description", ""),
                "created_at": a["created_at"],
                "fixed_at": a.get("fixed_at") or (a.get("updated_at") if a["state"] in ("fixed", "closed") else None),
                "dismissed_at": a.get("dismissed_at"),
                "dismissed_reason": a.get("dismissed_reason") or "", "url": a.get("html_url") or a.get("url", ""),
            })
    provenance.notes.append("Severity is the rule's security_severity_level; a rule without one is rated from "
                            "its level (error: high, warning: moderate, note/none: low). A closed alert without "
                            "fixed_at counts as closed at its updated_at.")
    return Collected(pd.DataFrame(rows), provenance)
