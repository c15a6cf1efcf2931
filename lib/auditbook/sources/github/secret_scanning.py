"""GitHub secret scanning alerts of the production repositories, by REST.

GitHub returns the detected secret in each alert (``secret``). It is asked not to
(``hide_secret=true``) and the field is dropped anyway before anything is kept: neither the
population nor the raw responses ever hold it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from github import Github

from auditbook.provenance import Collected, RawStore
from auditbook.sources.github.client import caller_login, new_provenance, rest_pages

SECRET_FIELDS = ("secret",)


def strip_secret(alert: dict[str, Any]) -> dict[str, Any]:
    for name in SECRET_FIELDS:
        alert.pop(name, None)
    return alert


def collect_secret_scanning_alerts(gh: Github, org: str, branch_by_repo: dict[str, str], raw: RawStore) -> Collected:
    """Every alert (open and resolved) of each repository; a repository without secret scanning is an error."""
    provenance = new_provenance(gh, org, caller_login(gh))
    rows: list[dict[str, Any]] = []
    for repo in branch_by_repo:
        path = f"/repos/{org}/{repo}/secret-scanning/alerts"
        params = {"hide_secret": "true", "sort": "created", "direction": "asc"}
        pages = rest_pages(gh, path, params)
        for payload in pages.payloads:
            for alert in payload:
                strip_secret(alert)
        provenance.add_operation(f"GET {path}", params, pages=len(pages.payloads), records=len(pages.items))
        provenance.raw_files.append(raw.save(f"github/{org}/{repo}/secret-scanning-alerts.json", pages.payloads))
        rows += [{
            "org": org, "repo": repo, "number": alert["number"], "state": alert["state"],
            "secret_type": alert.get("secret_type_display_name") or alert.get("secret_type", ""),
            "created_at": alert["created_at"], "resolved_at": alert.get("resolved_at"),
            "resolution": alert.get("resolution") or "", "url": alert.get("html_url") or alert.get("url", ""),
        } for alert in pages.items]
    provenance.notes.append("The detected secret is never kept: requested with hide_secret=true and the "
                            "'secret' field dropped before the raw responses are saved.")
    return Collected(pd.DataFrame(rows), provenance)
