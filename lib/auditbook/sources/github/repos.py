"""Branch protection, production-branch commits and deployments, by REST.

Classic protection and rulesets are both read: GitHub layers them, so a branch is
protected by whichever applies, and the control decides from both rows.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pandas as pd
from github import Github, GithubException

from auditbook.provenance import Collected, CollectionError, RawStore, iso
from auditbook.sources.github.client import caller_login, collecting, listed, new_provenance, rest_pages
from auditbook.timeline import AuditActions

log = logging.getLogger(__name__)

# What may change a branch's protection: classic protection, rulesets (repository or org), and the repository or
# branch itself renamed, moved or removed (the org audit log's actions).
PROTECTION_CHANGES = AuditActions(
    r"protected_branch\..*|repository_ruleset\..*|repo\.(rename|transfer|destroy|archived|unarchived|rename_branch"
    r"|update_default_branch)", "GitHub audit log: branch protection and rulesets")


def collect_branch_protection(gh: Github, org: str, branch_by_repo: dict[str, str], raw: RawStore) -> Collected:
    """One row per protection source on each production branch: ``classic``, ``ruleset``, or ``none``."""
    provenance = new_provenance(gh, org, caller_login(gh))
    rows: list[dict[str, Any]] = []
    for repo in branch_by_repo:
        branch = branch_by_repo[repo]
        base = {"org": org, "repo": repo, "branch": branch}
        classic = _classic_protection(gh, org, repo, branch, raw, provenance)
        if classic is not None:
            rows.append({**base, **classic})
        ruleset = _ruleset_protection(gh, org, repo, branch, raw, provenance)
        if ruleset is not None:
            rows.append({**base, **ruleset})
        if classic is None and ruleset is None:
            rows.append({**base, "source": "none", "required_approvals": 0, "dismiss_stale_reviews": False,
                         "require_last_push_approval": False, "require_code_owner_reviews": False,
                         "enforce_admins": False, "bypass_actors": "", "required_status_checks": "",
                         "rulesets": ""})
    return Collected(pd.DataFrame(rows), provenance)


def _classic_protection(gh: Github, org: str, repo: str, branch: str, raw: RawStore,
                        provenance: Any) -> dict[str, Any] | None:
    path = f"/repos/{org}/{repo}/branches/{branch}/protection"
    with collecting(f"GET /repos/{org}/{repo}/branches/{branch}"):
        gh_branch = gh.withLazy(True).get_repo(f"{org}/{repo}").get_branch(branch)
    provenance.add_operation(f"GET /repos/{org}/{repo}/branches/{branch}", records=1)
    provenance.raw_files.append(raw.save(f"github/{org}/{repo}/branch-{_safe(branch)}.json", gh_branch.raw_data))
    with collecting(f"GET {path}"):
        try:
            protection = gh_branch.get_protection()
        except GithubException as exc:
            # Only this message means "none"; a bare 404 is how GitHub hides what the token may not read.
            if exc.status != 404 or not isinstance(exc.data, dict) or exc.data.get("message") != "Branch not protected":
                raise
            provenance.add_operation(f"GET {path}", records=0)
            provenance.notes.append(f"{repo}:{branch}: no classic branch protection (404 Branch not protected)")
            return None
    data = protection.raw_data
    provenance.add_operation(f"GET {path}", records=1)
    provenance.raw_files.append(raw.save(f"github/{org}/{repo}/protection-{_safe(branch)}.json", data))
    reviews = data.get("required_pull_request_reviews") or {}
    checks = data.get("required_status_checks") or {}
    return {
        "source": "classic", "rulesets": "",
        "required_approvals": int(reviews.get("required_approving_review_count") or 0),
        "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
        "require_last_push_approval": bool(reviews.get("require_last_push_approval")),
        "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
        "enforce_admins": bool((data.get("enforce_admins") or {}).get("enabled")),
        "bypass_actors": "",
        "required_status_checks": ";".join(checks.get("contexts") or []),
    }


def _ruleset_protection(gh: Github, org: str, repo: str, branch: str, raw: RawStore,
                        provenance: Any) -> dict[str, Any] | None:
    """The active rules for the branch, combined; bypass actors from each ruleset that contributes."""
    path = f"/repos/{org}/{repo}/rules/branches/{branch}"
    rules = rest_pages(gh, path)
    provenance.add_operation(f"GET {path}", pages=len(rules.payloads), records=len(rules.items))
    provenance.raw_files.append(raw.save(f"github/{org}/{repo}/rules-{_safe(branch)}.json", rules.payloads))
    if not rules.items:
        return None
    ruleset_ids = sorted({rule["ruleset_id"] for rule in rules.items})
    bypass: list[str] = []
    names: list[str] = []
    for ruleset_id in ruleset_ids:
        ruleset_path = f"/repos/{org}/{repo}/rulesets/{ruleset_id}"
        with collecting(f"GET {ruleset_path}"):
            _, ruleset = gh.requester.requestJsonAndCheck("GET", ruleset_path)
        provenance.add_operation(f"GET {ruleset_path}", records=1)
        provenance.raw_files.append(raw.save(f"github/{org}/{repo}/ruleset-{ruleset_id}.json", ruleset))
        if "bypass_actors" not in ruleset:
            raise CollectionError(f"{org}/{repo}: ruleset {ruleset_id} does not show its bypass actors to this "
                                  "token (needs admin/write access); cannot tell whether admins are enforced")
        names.append(f"{ruleset['name']} ({ruleset_id})")
        bypass += [f"{a.get('actor_type')}:{a.get('actor_id')}:{a.get('bypass_mode')}"
                   for a in ruleset["bypass_actors"]]
    pull = [r.get("parameters") or {} for r in rules.items if r["type"] == "pull_request"]
    checks = [c["context"] for r in rules.items if r["type"] == "required_status_checks"
              for c in (r.get("parameters") or {}).get("required_status_checks", [])]
    return {
        "source": "ruleset", "rulesets": ";".join(names),
        "required_approvals": max((int(p.get("required_approving_review_count") or 0) for p in pull), default=0),
        "dismiss_stale_reviews": any(p.get("dismiss_stale_reviews_on_push") for p in pull),
        "require_last_push_approval": any(p.get("require_last_push_approval") for p in pull),
        "require_code_owner_reviews": any(p.get("require_code_owner_review") for p in pull),
        "enforce_admins": not bypass,
        "bypass_actors": ";".join(bypass),
        "required_status_checks": ";".join(checks),
    }


def collect_branch_commits(gh: Github, org: str, branch_by_repo: dict[str, str], raw: RawStore,
                           period_start: datetime, period_end: datetime,
                           merged_pulls: pd.DataFrame | None = None) -> Collected:
    """Commits on each production branch committed in the period, and whether a merged PR brought them.

    Commits already known from the merged pull requests (``github-merged-pulls``: merge, head and own
    commits) are not looked up again; the others get ``GET /commits/{sha}/pulls`` (associated PRs merged
    into that branch).
    """
    known_pr_shas = pull_commit_shas(merged_pulls, org) if merged_pulls is not None else set()
    provenance = new_provenance(gh, org, caller_login(gh))
    rows: list[dict[str, Any]] = []
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    for repo in branch_by_repo:
        branch = branch_by_repo[repo]
        path = f"/repos/{org}/{repo}/commits"
        params = {"sha": branch, "since": iso(period_start), "until": iso(period_end)}
        pages = listed(gh, path, params, provenance, raw, f"github/{org}/{repo}/commits-{_safe(branch)}.json")
        in_period = [c for c in pages.items if start <= pd.Timestamp(c["commit"]["committer"]["date"]) < end]
        provenance.notes.append(f"{repo}:{branch}: {len(pages.items)} commits listed, {len(in_period)} committed "
                                "in the period (committer date)")
        for commit in in_period:
            sha = commit["sha"]
            associated = "" if sha in known_pr_shas else _merged_prs_for(gh, org, repo, branch, sha, raw, provenance)
            rows.append({
                "org": org, "repo": repo, "branch": branch, "sha": sha,
                "author": (commit.get("author") or {}).get("login") or commit["commit"]["author"]["email"],
                "committer": (commit.get("committer") or {}).get("login") or commit["commit"]["committer"]["email"],
                "committed_at": commit["commit"]["committer"]["date"],
                "message": commit["commit"]["message"].splitlines()[0] if commit["commit"]["message"] else "",
                "parent_count": len(commit.get("parents") or []),
                "associated_prs": associated, "in_pr": sha in known_pr_shas or bool(associated),
            })
    return Collected(pd.DataFrame(rows), provenance)


def _merged_prs_for(gh: Github, org: str, repo: str, branch: str, sha: str, raw: RawStore,
                    provenance: Any) -> str:
    path = f"/repos/{org}/{repo}/commits/{sha}/pulls"
    pages = rest_pages(gh, path)
    provenance.add_operation(f"GET {path}", pages=len(pages.payloads), records=len(pages.items))
    provenance.raw_files.append(raw.save(f"github/{org}/{repo}/commit-{sha}-pulls.json", pages.payloads))
    merged = [pr for pr in pages.items if pr.get("merged_at") and pr["base"]["ref"] == branch]
    return ";".join(str(pr["number"]) for pr in merged)


def collect_deployments(gh: Github, org: str, branch_by_repo: dict[str, str], raw: RawStore, environment: str,
                        period_start: datetime, period_end: datetime) -> Collected:
    """Deployments to ``environment`` created in the period, each with its latest status."""
    provenance = new_provenance(gh, org, caller_login(gh))
    rows: list[dict[str, Any]] = []
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)

    def older_than_period(page: list[dict[str, Any]]) -> bool:  # GitHub lists deployments newest first
        return bool(page) and pd.Timestamp(page[-1]["created_at"]) < start

    for repo in branch_by_repo:
        path = f"/repos/{org}/{repo}/deployments"
        pages = rest_pages(gh, path, {"environment": environment}, stop=older_than_period)
        provenance.add_operation(f"GET {path}", {"environment": environment}, pages=len(pages.payloads),
                                 records=len(pages.items))
        provenance.raw_files.append(raw.save(f"github/{org}/{repo}/deployments-{environment}.json", pages.payloads))
        for deployment in pages.items:
            if not start <= pd.Timestamp(deployment["created_at"]) < end:
                log.debug("deployment %s of %s/%s: created %s, outside the period", deployment["id"], org, repo,
                          deployment["created_at"])
                continue
            status_path = f"{path}/{deployment['id']}/statuses"
            statuses = rest_pages(gh, status_path)
            provenance.add_operation(f"GET {status_path}", pages=len(statuses.payloads), records=len(statuses.items))
            provenance.raw_files.append(raw.save(f"github/{org}/{repo}/deployment-{deployment['id']}-statuses.json",
                                                 statuses.payloads))
            latest = max(statuses.items, key=lambda s: (s["created_at"], s["id"]), default=None)
            rows.append({
                "org": org, "repo": repo, "deployment_id": deployment["id"], "sha": deployment["sha"],
                "ref": deployment["ref"], "environment": deployment["environment"],
                "creator": (deployment.get("creator") or {}).get("login"), "created_at": deployment["created_at"],
                "final_state": latest["state"] if latest else None,
                "final_state_at": latest["created_at"] if latest else None,
                "final_state_creator": (latest.get("creator") or {}).get("login") if latest else None,
                "status_count": len(statuses.items),
            })
    return Collected(pd.DataFrame(rows), provenance)


def _safe(name: str) -> str:
    return name.replace("/", "_")


def production_branches(gh: Github, org: str, repos: list[str], production_branch: str) -> dict[str, str]:
    """Which branch deploys to production in each repo: a named branch, or each repo's default branch."""
    if production_branch != "default":
        return dict.fromkeys(repos, production_branch)
    branches = {}
    for repo in repos:
        with collecting(f"GET /repos/{org}/{repo}"):
            branches[repo] = gh.get_repo(f"{org}/{repo}").default_branch
    return branches


def pull_commit_shas(pulls: pd.DataFrame, org: str) -> set[str]:
    """Commits one org's merged pull requests brought: merge commits, heads and their own commits."""
    shas: set[str] = set()
    for row in pulls[pulls["org"] == org].itertuples():
        shas |= {s for s in [row.merge_commit_sha, row.head_sha, *str(row.commit_shas or "").split(";")] if s}
    return shas
