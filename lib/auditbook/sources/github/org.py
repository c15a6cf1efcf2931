"""Organization members, their roles and 2FA, outside collaborators, and the org's 2FA requirement.

``filter=2fa_disabled`` and ``two_factor_requirement_enabled`` are visible to org owners only;
when GitHub does not show them, collection fails rather than reporting "nobody lacks 2FA".
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from github import Github

from auditbook.provenance import Collected, CollectionError, RawStore
from auditbook.sources.github.client import caller_login, collecting, listed, new_provenance


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
