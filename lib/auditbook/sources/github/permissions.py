"""Whether the GitHub token may read what the collectors read: its classic scopes when GitHub states them, and
one read per REST endpoint the shipped token permissions list (policy/github-token-permissions.json).

A fine-grained token or an App installation has no scopes header; reading one page of each endpoint is the
only way to see its permissions. The first production repository stands for the rest, its production branch's
head commit for the commit endpoints; endpoints that need a value only a collection finds (a pull request number,
a deployment id) are covered by another endpoint of the same permission.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from github import Github, GithubException

SHIPPED_PERMISSIONS = Path(__file__).resolve().parents[4] / "policy" / "github-token-permissions.json"
# Classic personal access token scopes that cover the reads (a fine-grained token has none: GitHub omits the header).
CLASSIC_SCOPES = {"repo": "private repositories, branch protection, pull requests, deployments, alerts",
                  "read:org": "members, outside collaborators, 2FA"}
AUDIT_LOG_SCOPE = "read:audit_log"


@dataclass(frozen=True)
class Read:
    request: str
    permission: str
    allowed: bool
    detail: str = ""


def endpoints(org: str, repo: str | None, branch: str | None, head: str | None, audit_log: bool,
              permissions_file: Path = SHIPPED_PERMISSIONS) -> list[tuple[str, str]]:
    """(permission, concrete GET path) for every listed GET endpoint that needs only the org, a repository, its
    production branch and that branch's head commit."""
    known = {"org": org, "owner": org, "repo": repo, "branch": branch, "commit_sha": head, "ref": head}
    out: list[tuple[str, str]] = []
    for endpoint in json.loads(permissions_file.read_text())["endpoints"]:
        method, _, path = endpoint["request"].partition(" ")
        if method != "GET" or endpoint["permission"] is None or (path.endswith("/audit-log") and not audit_log):
            continue
        if all(known.get(name) is not None for name in re.findall(r"{(\w+)}", path)):
            out.append((endpoint["permission"], path.format(**known)))
    return out


def _denied(exc: GithubException) -> str:
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else str(exc.data)
    return f"GitHub answered {exc.status}: {message}".strip()


def token_scopes(gh: Github) -> list[str] | None:
    """The classic token's scopes (``X-OAuth-Scopes``), or None when GitHub does not state any."""
    headers, _ = gh.requester.requestJsonAndCheck("GET", "/user")
    stated = {k.lower(): v for k, v in headers.items()}.get("x-oauth-scopes")
    return None if stated is None else [s.strip() for s in stated.split(",") if s.strip()]


def read_each(gh: Github, org: str, repo: str | None, branch: str | None, audit_log: bool) -> list[Read]:
    """One page of each endpoint: 401/403 (and a 404 that is not a switched-off feature) is a missing permission.

    ``branch`` "default" (or None) is the repository's default branch, as the collectors read it."""
    reads: list[Read] = []
    head = None
    try:  # the values the deeper endpoints need; a refusal here is reported by those endpoints' own reads
        if repo and branch in (None, "default"):
            branch = gh.requester.requestJsonAndCheck("GET", f"/repos/{org}/{repo}")[1].get("default_branch")
        if repo and branch:
            head = gh.requester.requestJsonAndCheck("GET", f"/repos/{org}/{repo}/branches/{branch}")[1]["commit"]["sha"]
    except (GithubException, KeyError, TypeError):
        pass
    for permission, path in endpoints(org, repo, branch, head, audit_log):
        try:
            gh.requester.requestJsonAndCheck("GET", path, parameters={"per_page": 1})
        except GithubException as exc:
            said = _denied(exc)
            switched_off = exc.status == 404 and re.search(r"disabled|not enabled", said, re.IGNORECASE)
            reads.append(Read(f"GET {path}", permission, bool(switched_off),
                              said + (" (the feature is off: nothing to read)" if switched_off else "")))
            continue
        reads.append(Read(f"GET {path}", permission, True))
    return reads


def missing_scopes(scopes: list[str], audit_log: bool) -> list[str]:
    needed: dict[str, Any] = dict(CLASSIC_SCOPES) | ({AUDIT_LOG_SCOPE: "audit log"} if audit_log else {})
    held = set(scopes)
    if "admin:org" in held or "write:org" in held:
        held.add("read:org")
    return [scope for scope in needed if scope not in held]
