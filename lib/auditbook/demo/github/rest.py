"""GitHub's REST JSON shapes for the state's records (the fields of the published OpenAPI schemas).

Every ``url`` points back at the server that rendered it, because PyGithub builds its
follow-up requests from them.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from typing import Any

from auditbook.demo.github.state import (
    BranchProtection,
    Commit,
    Deployment,
    DeploymentStatus,
    GitHubState,
    Org,
    PullRequest,
    Repo,
    Review,
    Ruleset,
    User,
)
from auditbook.provenance import iso

HTML = "https://github.com"
REPO_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
    "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
    "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}", "languages_url": "/languages", "merges_url": "/merges",
    "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}", "subscribers_url": "/subscribers", "subscription_url": "/subscription",
    "tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
}


def node_id(kind: str, number: int | str) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode().rstrip("=")


class Renderer:
    """Renders one org's records for one request's base URL (``http://127.0.0.1:PORT``).

    ``users`` is where logins resolve (default: the org's own users); the emulator passes every
    org's, since a GitHub user is not scoped to one org.
    """

    def __init__(self, state: GitHubState, base: str, users: Mapping[str, User] | None = None) -> None:
        self.state = state
        self.base = base.rstrip("/")
        self.users: Mapping[str, User] = state.users if users is None else users

    def user(self, login: str) -> dict[str, Any]:
        user = self.users.get(login) or User(login, 0)
        url = f"{self.base}/users/{login}"
        return {
            "login": user.login, "id": user.id, "node_id": node_id("U", user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4", "gravatar_id": "",
            "url": url, "html_url": f"{HTML}/{login}", "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}", "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs", "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events", "type": user.type, "user_view_type": "public",
            "site_admin": False,
        }

    def authenticated_user(self, login: str) -> dict[str, Any]:
        user = self.users[login]
        return {**self.user(login), "name": user.name or None, "company": None, "blog": "", "location": None,
                "email": user.email or None, "hireable": None, "bio": None, "twitter_username": None,
                "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
                "created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:00:00Z"}

    def org(self, org: Org) -> dict[str, Any]:
        url = f"{self.base}/orgs/{org.login}"
        return {
            "login": org.login, "id": org.id, "node_id": node_id("O", org.id), "url": url,
            "repos_url": f"{url}/repos", "events_url": f"{url}/events", "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues", "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?v=4", "description": None,
            "name": org.name, "is_verified": False, "has_organization_projects": True, "has_repository_projects": True,
            "public_repos": sum(not r.private for r in self.state.repos.values()), "public_gists": 0,
            "followers": 0, "following": 0,
            "html_url": f"{HTML}/{org.login}", "created_at": "2026-01-05T09:00:00Z",
            "updated_at": "2026-01-05T09:00:00Z", "archived_at": None, "type": "Organization",
            "two_factor_requirement_enabled": org.two_factor_requirement_enabled,
            "total_private_repos": sum(r.private for r in self.state.repos.values()),
            "owned_private_repos": sum(r.private for r in self.state.repos.values()),
        }

    def repo(self, repo: Repo, full: bool = True) -> dict[str, Any]:
        org = self.state.org.login
        url = f"{self.base}/repos/{org}/{repo.name}"
        created = iso(repo.created_at)
        pushed = max((c.committed_at for c in repo.commits.values()), default=repo.created_at)
        data: dict[str, Any] = {
            "id": repo.id, "node_id": node_id("R", repo.id), "name": repo.name, "full_name": f"{org}/{repo.name}",
            "private": repo.private, "owner": {**self.user(org), "id": self.state.org.id, "type": "Organization"},
            "html_url": f"{HTML}/{org}/{repo.name}", "description": None, "fork": False, "url": url,
            **{key: url + suffix for key, suffix in REPO_URL_TEMPLATES.items()},
            "git_url": f"git://github.com/{org}/{repo.name}.git", "ssh_url": f"git@github.com:{org}/{repo.name}.git",
            "clone_url": f"{HTML}/{org}/{repo.name}.git", "svn_url": f"{HTML}/{org}/{repo.name}",
            "mirror_url": None, "homepage": None, "language": None, "size": 100 + len(repo.commits),
            "forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0,
            "open_issues": 0, "open_issues_count": 0, "default_branch": repo.default_branch,
            "archived": repo.archived, "disabled": False, "topics": repo.topics, "visibility":
                "private" if repo.private else "public", "has_issues": True, "has_projects": False,
            "has_wiki": False, "has_pages": False, "has_downloads": True, "has_discussions": False,
            "license": None, "created_at": created, "updated_at": iso(pushed), "pushed_at": iso(pushed),
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
        }
        if full:
            data.update({"network_count": 0, "subscribers_count": 0, "allow_squash_merge": True,
                         "allow_merge_commit": True, "allow_rebase_merge": False})
        return data

    # -- branches and protection ------------------------------------------------------
    def branch(self, repo: Repo, name: str) -> dict[str, Any]:
        url = f"{self.base}/repos/{self.state.org.login}/{repo.name}/branches/{name}"
        protection = repo.protection.get(name)
        return {
            "name": name, "commit": self.commit(repo, repo.commits[repo.branches[name][-1]]),
            "_links": {"self": url, "html": f"{HTML}/{self.state.org.login}/{repo.name}/tree/{name}"},
            "protected": protection is not None or any(r.enforcement == "active" for r in repo.rulesets),
            "protection": {"enabled": protection is not None,
                           "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}},
            "protection_url": f"{url}/protection",
        }

    def protection(self, repo: Repo, branch: str, rule: BranchProtection) -> dict[str, Any]:
        url = f"{self.base}/repos/{self.state.org.login}/{repo.name}/branches/{branch}/protection"
        data: dict[str, Any] = {
            "url": url,
            "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": rule.enforce_admins},
            "required_signatures": {"url": f"{url}/required_signatures", "enabled": False},
            "required_linear_history": {"enabled": False}, "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": False}, "block_creations": {"enabled": False},
            "required_conversation_resolution": {"enabled": False}, "lock_branch": {"enabled": False},
            "allow_fork_syncing": {"enabled": False},
        }
        if rule.required_approving_review_count is not None:
            data["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                "dismiss_stale_reviews": rule.dismiss_stale_reviews,
                "require_code_owner_reviews": rule.require_code_owner_reviews,
                "required_approving_review_count": rule.required_approving_review_count,
                "require_last_push_approval": rule.require_last_push_approval,
            }
        if rule.required_status_checks is not None:
            data["required_status_checks"] = {
                "url": f"{url}/required_status_checks", "strict": rule.strict_status_checks,
                "contexts": rule.required_status_checks,
                "checks": [{"context": c, "app_id": None} for c in rule.required_status_checks],
                "contexts_url": f"{url}/required_status_checks/contexts",
            }
        return data

    def ruleset(self, repo: Repo, ruleset: Ruleset, full: bool = True) -> dict[str, Any]:
        org = self.state.org.login
        url = f"{self.base}/repos/{org}/{repo.name}/rulesets/{ruleset.id}"
        data: dict[str, Any] = {
            "id": ruleset.id, "name": ruleset.name, "target": ruleset.target, "source_type": "Repository",
            "source": f"{org}/{repo.name}", "enforcement": ruleset.enforcement, "node_id": node_id("RRS", ruleset.id),
            "_links": {"self": {"href": url}, "html": {"href": f"{HTML}/{org}/{repo.name}/rules/{ruleset.id}"}},
            "created_at": iso(ruleset.created_at), "updated_at": iso(ruleset.updated_at),
        }
        if full:
            data.update({
                "bypass_actors": ruleset.bypass_actors, "current_user_can_bypass": "never",
                "conditions": {"ref_name": {"include": ruleset.include, "exclude": ruleset.exclude}},
                "rules": ruleset.rules,
            })
        return data

    def rule_detail(self, repo: Repo, ruleset: Ruleset, rule: dict[str, Any]) -> dict[str, Any]:
        return {**rule, "ruleset_source_type": "Repository",
                "ruleset_source": f"{self.state.org.login}/{repo.name}", "ruleset_id": ruleset.id}

    # -- commits, pulls, reviews, deployments -------------------------------------------
    def commit(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        url = f"{self.base}/repos/{self.state.org.login}/{repo.name}/commits/{commit.sha}"
        html = f"{HTML}/{self.state.org.login}/{repo.name}/commit/{commit.sha}"
        git_url = f"{self.base}/repos/{self.state.org.login}/{repo.name}/git"
        return {
            "sha": commit.sha, "node_id": node_id("C", commit.sha), "url": url, "html_url": html,
            "comments_url": f"{url}/comments",
            "commit": {
                "url": f"{git_url}/commits/{commit.sha}", "message": commit.message, "comment_count": 0,
                "author": {"name": commit.author_name, "email": commit.author_email, "date": iso(commit.authored_at)},
                "committer": {"name": commit.committer_name, "email": commit.committer_email,
                              "date": iso(commit.committed_at)},
                "tree": {"sha": commit.sha[::-1], "url": f"{git_url}/trees/{commit.sha[::-1]}"},
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                                 "verified_at": None},
            },
            "author": self.user(commit.author_login) if commit.author_login else None,
            "committer": self.user(commit.committer_login) if commit.committer_login else None,
            "parents": [{"sha": p, "url": f"{self.base}/repos/{self.state.org.login}/{repo.name}/commits/{p}",
                         "html_url": f"{HTML}/{self.state.org.login}/{repo.name}/commit/{p}"} for p in commit.parents],
        }

    def pull(self, repo: Repo, pr: PullRequest, full: bool = True) -> dict[str, Any]:
        org = self.state.org.login
        url = f"{self.base}/repos/{org}/{repo.name}/pulls/{pr.number}"
        issue = f"{self.base}/repos/{org}/{repo.name}/issues/{pr.number}"
        html = f"{HTML}/{org}/{repo.name}/pull/{pr.number}"
        repo_json = self.repo(repo, full=False)
        base_sha = repo.branches.get(pr.base_ref, [""])[-1]
        data: dict[str, Any] = {
            "url": url, "id": pr.id, "node_id": node_id("PR", pr.id), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue,
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.base}/repos/{org}/{repo.name}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{self.base}/repos/{org}/{repo.name}/statuses/{pr.head_sha}",
            "number": pr.number, "state": pr.state, "locked": False, "title": pr.title, "user": self.user(pr.author),
            "body": pr.body or None, "labels": [self.label(repo, name) for name in pr.labels],
            "milestone": None, "active_lock_reason": None, "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at), "closed_at": iso(pr.closed_at), "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [],
            "head": {"label": f"{org}:{pr.head_ref}", "ref": pr.head_ref, "sha": pr.head_sha,
                     "user": self.user(org), "repo": repo_json},
            "base": {"label": f"{org}:{pr.base_ref}", "ref": pr.base_ref, "sha": base_sha,
                     "user": self.user(org), "repo": repo_json},
            "_links": {key: {"href": href} for key, href in {
                "self": url, "html": html, "issue": issue, "comments": f"{issue}/comments",
                "review_comments": f"{url}/comments",
                "review_comment": f"{self.base}/repos/{org}/{repo.name}/pulls/comments{{/number}}",
                "commits": f"{url}/commits",
                "statuses": f"{self.base}/repos/{org}/{repo.name}/statuses/{pr.head_sha}"}.items()},
            "author_association": "MEMBER", "auto_merge": None, "draft": False,
        }
        if full:
            data.update({
                "merged": pr.merged_at is not None, "mergeable": None, "rebaseable": None,
                "mergeable_state": "unknown", "merged_by": self.user(pr.merged_by) if pr.merged_by else None,
                "comments": 0, "review_comments": 0, "maintainer_can_modify": False, "commits": len(pr.commits),
                "additions": 10 * len(pr.commits), "deletions": 2 * len(pr.commits), "changed_files": len(pr.commits),
            })
        return data

    def label(self, repo: Repo, name: str) -> dict[str, Any]:
        return {"id": zlib.crc32(name.encode()), "node_id": node_id("LA", name), "name": name, "color": "d73a4a",
                "url": f"{self.base}/repos/{self.state.org.login}/{repo.name}/labels/{name}",
                "description": None, "default": False}

    def review(self, repo: Repo, pr: PullRequest, review: Review) -> dict[str, Any]:
        org = self.state.org.login
        pr_url = f"{self.base}/repos/{org}/{repo.name}/pulls/{pr.number}"
        html = f"{HTML}/{org}/{repo.name}/pull/{pr.number}#pullrequestreview-{review.id}"
        return {
            "id": review.id, "node_id": node_id("PRR", review.id), "user": self.user(review.user),
            "body": review.body, "state": review.state, "html_url": html, "pull_request_url": pr_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "submitted_at": iso(review.submitted_at), "commit_id": review.commit_id, "author_association": "MEMBER",
        }

    def deployment(self, repo: Repo, deployment: Deployment) -> dict[str, Any]:
        repo_url = f"{self.base}/repos/{self.state.org.login}/{repo.name}"
        url = f"{repo_url}/deployments/{deployment.id}"
        updated = deployment.statuses[-1].created_at if deployment.statuses else deployment.created_at
        return {
            "url": url, "id": deployment.id, "node_id": node_id("DE", deployment.id), "sha": deployment.sha,
            "ref": deployment.ref, "task": "deploy", "payload": {}, "original_environment": deployment.environment,
            "environment": deployment.environment, "description": deployment.description,
            "creator": self.user(deployment.creator), "created_at": iso(deployment.created_at),
            "updated_at": iso(updated), "statuses_url": f"{url}/statuses", "repository_url": repo_url,
            "transient_environment": False, "production_environment": deployment.environment == "production",
        }

    def deployment_status(self, repo: Repo, deployment: Deployment, status: DeploymentStatus) -> dict[str, Any]:
        repo_url = f"{self.base}/repos/{self.state.org.login}/{repo.name}"
        deployment_url = f"{repo_url}/deployments/{deployment.id}"
        return {
            "url": f"{deployment_url}/statuses/{status.id}", "id": status.id, "node_id": node_id("DES", status.id),
            "state": status.state, "creator": self.user(status.creator), "description": status.description,
            "environment": deployment.environment, "target_url": "", "log_url": "", "environment_url": "",
            "created_at": iso(status.created_at), "updated_at": iso(status.created_at),
            "deployment_url": deployment_url, "repository_url": repo_url,
        }

    def secret_scanning_alert(self, repo: Repo, alert: dict[str, Any], hide_secret: bool = False) -> dict[str, Any]:
        """An alert of ``GET /repos/{o}/{r}/secret-scanning/alerts``; ``secret`` unless ``hide_secret``."""
        org = self.state.org.login
        url = f"{self.base}/repos/{org}/{repo.name}/secret-scanning/alerts/{alert['number']}"
        resolved_by = alert.get("resolved_by")
        data: dict[str, Any] = {
            "number": alert["number"], "created_at": iso(alert["created_at"]),
            "updated_at": iso(alert.get("resolved_at") or alert["created_at"]), "url": url,
            "html_url": f"{HTML}/{org}/{repo.name}/security/secret-scanning/{alert['number']}",
            "locations_url": f"{url}/locations", "state": alert["state"], "resolution": alert.get("resolution"),
            "resolved_at": iso(alert.get("resolved_at")),
            "resolved_by": self.user(resolved_by) if resolved_by else None,
            "resolution_comment": alert.get("resolution_comment"), "secret_type": alert["secret_type"],
            "secret_type_display_name": alert.get("secret_type_display_name", alert["secret_type"]),
            "provider": alert.get("provider"), "provider_slug": alert.get("provider_slug"),
            "validity": alert.get("validity", "unknown"), "push_protection_bypassed": False,
            "push_protection_bypassed_by": None, "push_protection_bypassed_at": None,
            "publicly_leaked": False, "multi_repo": False, "is_base64_encoded": False,
            "has_more_locations": False,
        }
        if not hide_secret:
            data["secret"] = alert["secret"]
        return data

    def dependabot_alert(self, repo: Repo, alert: dict[str, Any]) -> dict[str, Any]:
        """An alert of ``GET /repos/{o}/{r}/dependabot/alerts`` (advisory and vulnerability nested)."""
        org = self.state.org.login
        url = f"{self.base}/repos/{org}/{repo.name}/dependabot/alerts/{alert['number']}"
        package = {"ecosystem": alert["ecosystem"], "name": alert["package"]}
        vulnerability = {"package": package, "severity": alert["severity"],
                         "vulnerable_version_range": alert.get("vulnerable_range", "< 0"),
                         "first_patched_version": {"identifier": alert["patched"]} if alert.get("patched") else None}
        advisory = {
            "ghsa_id": alert["ghsa_id"], "cve_id": alert.get("cve_id"), "summary": alert["summary"],
            "description": alert["summary"], "vulnerabilities": [vulnerability], "severity": alert["severity"],
            "cvss": {"score": alert.get("cvss", 0.0), "vector_string": None}, "cwes": [],
            "identifiers": [{"type": "GHSA", "value": alert["ghsa_id"]}]
            + ([{"type": "CVE", "value": alert["cve_id"]}] if alert.get("cve_id") else []),
            "references": [{"url": f"{HTML}/advisories/{alert['ghsa_id']}"}],
            "published_at": iso(alert["created_at"]), "updated_at": iso(alert["created_at"]), "withdrawn_at": None,
        }
        closed = alert.get("fixed_at") or alert.get("dismissed_at") or alert.get("auto_dismissed_at")
        dismissed_by = alert.get("dismissed_by")
        return {
            "number": alert["number"], "state": alert["state"],
            "dependency": {"package": package, "manifest_path": alert.get("manifest", "requirements.txt"),
                           "scope": alert.get("scope", "runtime"), "relationship": "direct"},
            "security_advisory": advisory, "security_vulnerability": vulnerability, "url": url,
            "html_url": f"{HTML}/{org}/{repo.name}/security/dependabot/{alert['number']}",
            "created_at": iso(alert["created_at"]), "updated_at": iso(closed or alert["created_at"]),
            "dismissed_at": iso(alert.get("dismissed_at")),
            "dismissed_by": self.user(dismissed_by) if dismissed_by else None,
            "dismissed_reason": alert.get("dismissed_reason"), "dismissed_comment": alert.get("dismissed_comment"),
            "fixed_at": iso(alert.get("fixed_at")), "auto_dismissed_at": iso(alert.get("auto_dismissed_at")),
            "assignees": [],
        }

    def code_scanning_alert(self, repo: Repo, alert: dict[str, Any]) -> dict[str, Any]:
        """An alert of ``GET /repos/{o}/{r}/code-scanning/alerts`` with its most recent instance."""
        org = self.state.org.login
        url = f"{self.base}/repos/{org}/{repo.name}/code-scanning/alerts/{alert['number']}"
        dismissed_by = alert.get("dismissed_by")
        closed = alert.get("fixed_at") or alert.get("dismissed_at")
        return {
            "number": alert["number"], "created_at": iso(alert["created_at"]),
            "updated_at": iso(closed or alert["created_at"]), "url": url,
            "html_url": f"{HTML}/{org}/{repo.name}/security/code-scanning/{alert['number']}",
            "instances_url": f"{url}/instances", "state": alert["state"], "fixed_at": iso(alert.get("fixed_at")),
            "dismissed_by": self.user(dismissed_by) if dismissed_by else None,
            "dismissed_at": iso(alert.get("dismissed_at")), "dismissed_reason": alert.get("dismissed_reason"),
            "dismissed_comment": None,
            "rule": {"id": alert["rule_id"], "name": alert["rule_id"].split("/")[-1], "tags": ["security"],
                     "severity": alert.get("rule_severity", "error"), "description": alert["description"],
                     "security_severity_level": alert.get("security_severity")},
            "tool": {"name": alert.get("tool", "CodeQL"), "version": "2.19.0", "guid": None},
            "most_recent_instance": {
                "ref": f"refs/heads/{repo.default_branch}", "analysis_key": ".github/workflows/codeql.yml:analyze",
                "environment": "{}", "category": ".github/workflows/codeql.yml:analyze", "state": alert["state"],
                "commit_sha": repo.branches[repo.default_branch][-1], "message": {"text": alert["description"]},
                "location": {"path": alert.get("path", "src/app.py"), "start_line": 10, "end_line": 10,
                             "start_column": 1, "end_column": 20},
                "classifications": [],
            },
        }

    def issue(self, repo: Repo, issue: dict[str, Any]) -> dict[str, Any]:
        """An issue of ``GET /repos/{o}/{r}/issues``; ``issue`` is a record of ``Repo.issues``."""
        org = self.state.org.login
        url = f"{self.base}/repos/{org}/{repo.name}/issues/{issue['number']}"
        closed_by = issue.get("closed_by")
        return {
            "id": issue["id"], "node_id": node_id("I", issue["id"]), "url": url,
            "repository_url": f"{self.base}/repos/{org}/{repo.name}", "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events", "timeline_url": f"{url}/timeline",
            "html_url": f"{HTML}/{org}/{repo.name}/issues/{issue['number']}", "number": issue["number"],
            "state": issue["state"], "state_reason": "completed" if issue["state"] == "closed" else None,
            "title": issue["title"], "body": issue.get("body") or None, "user": self.user(issue["user"]),
            "labels": [self.label(repo, name) for name in issue.get("labels", [])], "assignee": None,
            "assignees": [], "milestone": None, "locked": False, "active_lock_reason": None,
            "comments": len(issue.get("comments", [])), "created_at": iso(issue["created_at"]),
            "updated_at": iso(issue["updated_at"]), "closed_at": iso(issue.get("closed_at")),
            "closed_by": self.user(closed_by) if closed_by else None, "author_association": "MEMBER",
            "performed_via_github_app": None,
        }

    def issue_comment(self, repo: Repo, issue: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
        org = self.state.org.login
        issue_url = f"{self.base}/repos/{org}/{repo.name}/issues/{issue['number']}"
        return {
            "id": comment["id"], "node_id": node_id("IC", comment["id"]),
            "url": f"{self.base}/repos/{org}/{repo.name}/issues/comments/{comment['id']}",
            "html_url": f"{HTML}/{org}/{repo.name}/issues/{issue['number']}#issuecomment-{comment['id']}",
            "body": comment["body"], "user": self.user(comment["user"]), "created_at": iso(comment["created_at"]),
            "updated_at": iso(comment["created_at"]), "issue_url": issue_url, "author_association": "MEMBER",
            "performed_via_github_app": None,
        }

    def membership(self, org: Org, login: str, role: str) -> dict[str, Any]:
        return {"url": f"{self.base}/orgs/{org.login}/memberships/{login}", "state": "active", "role": role,
                "organization_url": f"{self.base}/orgs/{org.login}", "organization": self.org(org),
                "user": self.user(login)}
