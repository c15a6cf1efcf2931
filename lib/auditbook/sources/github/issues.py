"""Incident issues: GitHub issues with an incident label, their labels and comments, by REST.

``GET /repos/{o}/{r}/issues?labels=<label>&state=all&since=<period start>`` (one walk per label:
GitHub's ``labels`` filter means *all* of the listed labels), then ``GET .../issues/{n}/comments``
for each issue. Pull requests, which the issues API also returns, are dropped. The timeline is read
from the issue as :mod:`auditbook.sources.incidents` documents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from github import Github

from auditbook.provenance import Collected, RawStore, iso
from auditbook.sources.github.client import caller_login, new_provenance, rest_pages
from auditbook.sources.incidents import parse_time, parse_timeline


def issue_incident(org: str, repo: str, issue: dict[str, Any], comments: list[dict[str, Any]],
                   severity_prefix: str, impact_prefix: str) -> dict[str, Any]:
    """One incident row from an issue and its comments."""
    labels = [label["name"] if isinstance(label, dict) else str(label) for label in issue.get("labels", [])]
    values, notes = parse_timeline([issue.get("body") or "", *[c.get("body") or "" for c in comments]])
    severities = [x[len(severity_prefix):] for x in labels if x.startswith(severity_prefix)]
    impacts = [x[len(impact_prefix):] for x in labels if x.startswith(impact_prefix)]
    if len(severities) > 1:
        notes.append(f"several severity labels: {', '.join(severities)}")
    if "detected_at" not in values:
        values["detected_at"] = parse_time(issue["created_at"])[0]
        notes.append("no Detected line: issue creation time used")
    if "resolved_at" not in values and issue.get("closed_at"):
        values["resolved_at"] = parse_time(issue["closed_at"])[0]
        notes.append("no Resolved line: issue close time used")
    impact_lines = [x.strip() for x in str(values.get("impact", "")).replace(",", ";").split(";") if x.strip()]
    return {
        "source": f"github:{org}/{repo}", "incident_id": f"{org}/{repo}#{issue['number']}", "title": issue["title"],
        "url": issue.get("html_url", ""), "severity": ";".join(severities) or values.get("severity", ""),
        "impact": ";".join(sorted(set(impacts) | set(impact_lines))),
        "detected_at": values.get("detected_at"), "acknowledged_at": values.get("acknowledged_at"),
        "resolved_at": values.get("resolved_at"), "postmortem_url": values.get("postmortem_url", ""),
        "compliance_notified_at": values.get("compliance_notified_at"), "alarms": values.get("alarms", ""),
        "resolution_delay_reason": values.get("resolution_delay_reason", ""),
        "state": issue.get("state", ""), "notes": "; ".join(notes),
    }


def collect_incident_issues(gh: Github, repos: list[str], labels: list[str], since: datetime,
                            raw: RawStore, severity_prefix: str = "severity:",
                            impact_prefix: str = "impact:") -> Collected:
    """Every issue (open or closed) carrying any of ``labels``, updated since ``since``, with its comments.

    ``repos`` are full names (owner/name): the incident tracker may live in any org.
    """
    provenance = new_provenance(gh, "", caller_login(gh), scope=f"repos {', '.join(repos)}")
    rows: list[dict[str, Any]] = []
    for full_name in repos:
        org, repo = full_name.split("/", 1)
        issues: dict[int, dict[str, Any]] = {}
        listed: dict[str, Any] = {}
        for label in labels:
            path = f"/repos/{org}/{repo}/issues"
            params = {"labels": label, "state": "all", "since": iso(since), "sort": "created", "direction": "asc"}
            pages = rest_pages(gh, path, params)
            provenance.add_operation(f"GET {path}", params, pages=len(pages.payloads), records=len(pages.items))
            listed[label] = pages.payloads
            for issue in pages.items:
                if "pull_request" not in issue:
                    issues[issue["number"]] = issue
        provenance.raw_files.append(raw.save(f"github/{org}/{repo}/incident-issues.json", listed))
        comments_raw: dict[str, Any] = {}
        for number in sorted(issues):
            path = f"/repos/{org}/{repo}/issues/{number}/comments"
            pages = rest_pages(gh, path)
            comments_raw[str(number)] = pages.payloads
            rows.append(issue_incident(org, repo, issues[number], pages.items, severity_prefix, impact_prefix))
        provenance.add_operation(f"GET /repos/{org}/{repo}/issues/{{number}}/comments", pages=len(issues),
                                 records=sum(len(p) for payloads in comments_raw.values() for p in payloads))
        provenance.raw_files.append(raw.save(f"github/{org}/{repo}/incident-issue-comments.json", comments_raw))
    provenance.notes.append(f"Issues labelled {', '.join(labels)} in {', '.join(repos)}; pull requests excluded. "
                            "Timeline read from 'Key: value' lines (auditbook.sources.incidents).")
    return Collected(pd.DataFrame(rows), provenance)
