"""Organization members, their roles and 2FA, outside collaborators, and the org's 2FA requirement.

``filter=2fa_disabled`` and ``two_factor_requirement_enabled`` are visible to org owners only;
when GitHub does not show them, collection fails rather than reporting "nobody lacks 2FA".
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from github import Github

from auditbook.provenance import Collected, CollectionError, RawStore
from auditbook.sources.github.client import caller_login, collecting, listed, new_provenance
from auditbook.timeline import AuditActions

AUDIT_LOG_COLUMNS = ["org", "at", "action", "actor", "repo", "document_id", "details"]
# What may change an organization's 2FA requirement (the org audit log's actions).
TWO_FACTOR_REQUIREMENT_CHANGES = AuditActions(r"org\.(enable|disable)_two_factor_requirement",
                                              "GitHub audit log: the org's 2FA requirement")


def collect_org_members(gh: Github, org: str, raw: RawStore) -> Collected:
    """Every member (role admin/member) and outside collaborator, flagged when 2FA is disabled."""
    provenance = new_provenance(gh, org, caller_login(gh))

    def logins(path: str, params: dict[str, Any], name: str) -> list[str]:
        pages = listed(gh, path, params, provenance, raw, f"github/{org}/org/{name}.json")
        return [user["login"] for user in pages.items]

    members = f"/orgs/{org}/members"
    outside = f"/orgs/{org}/outside_collaborators"
    admins = logins(members, {"role": "admin"}, "members-admin")
    plain = logins(members, {"role": "member"}, "members-member")
    no_2fa = set(logins(members, {"filter": "2fa_disabled"}, "members-2fa-disabled"))
    collaborators = logins(outside, {}, "outside-collaborators")
    no_2fa |= set(logins(outside, {"filter": "2fa_disabled"}, "outside-collaborators-2fa-disabled"))
    rows = [{"org": org, "login": login, "role": role, "two_factor_disabled": login in no_2fa,
             "is_outside_collaborator": role == "outside_collaborator"}
            for role, group in (("admin", admins), ("member", plain), ("outside_collaborator", collaborators))
            for login in group]
    return Collected(pd.DataFrame(rows), provenance)


def collect_org_settings(gh: Github, org: str, raw: RawStore) -> Collected:
    """One row: whether the organization requires 2FA of its members."""
    provenance = new_provenance(gh, org, caller_login(gh))
    with collecting(f"GET /orgs/{org}"):
        _, data = gh.requester.requestJsonAndCheck("GET", f"/orgs/{org}")
    provenance.add_operation(f"GET /orgs/{org}", records=1)
    provenance.raw_files.append(raw.save(f"github/{org}/org/org.json", data))
    if data.get("two_factor_requirement_enabled") is None:
        raise CollectionError(f"GET /orgs/{org}: two_factor_requirement_enabled is not shown to this token "
                              "(org owner required)")
    frame = pd.DataFrame([{"org": org, "two_factor_requirement_enabled": data["two_factor_requirement_enabled"]}])
    return Collected(frame, provenance)


def collect_audit_log(gh: Github, org: str, since: datetime, raw: RawStore) -> Collected:
    """The organization audit log's web events from ``since`` to now (GitHub Enterprise Cloud; org owner with
    ``read:audit_log``), oldest first. Without the ``created`` qualifier GitHub answers only three months; an org
    whose plan has no audit log answers 404, which is a collection error (never "no changes")."""
    provenance = new_provenance(gh, org, caller_login(gh))
    params = {"phrase": f"created:>={since:%Y-%m-%d}", "include": "web", "order": "asc"}
    pages = listed(gh, f"/orgs/{org}/audit-log", params, provenance, raw, f"github/{org}/org/audit-log.json")
    rows = []
    for e in pages.items:
        stamp = e.get("@timestamp", e.get("created_at"))
        if stamp is None or not e.get("action"):
            raise CollectionError(f"GET /orgs/{org}/audit-log: an event without its time or action "
                                  f"({e.get('_document_id', '?')})")
        details = {k: v for k, v in e.items() if k not in ("@timestamp", "created_at", "action", "actor", "repo",
                                                            "_document_id", "org")}
        rows.append({"org": org, "at": pd.Timestamp(int(stamp), unit="ms", tz="UTC"), "action": e["action"],
                     "actor": e.get("actor") or "", "repo": e.get("repo") or "",
                     "document_id": e.get("_document_id") or "", "details": json.dumps(details, sort_keys=True)})
    return Collected(pd.DataFrame(rows, columns=AUDIT_LOG_COLUMNS), provenance)
