"""The in-memory GitHub world the emulator serves: plain data, no wire format.

Like a moto backend: the server renders these records into GitHub's REST and GraphQL
shapes, the demo company and synthetic generators fill them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class User:
    login: str
    id: int
    name: str = ""
    email: str = ""
    type: str = "User"  # "User" or "Bot"
    two_factor_enabled: bool = True


@dataclass
class Membership:
    login: str
    role: str  # "admin" or "member"


@dataclass
class Org:
    login: str
    id: int
    name: str
    two_factor_requirement_enabled: bool = True
    audit_log: bool = False  # on GitHub Enterprise Cloud: GET /orgs/{org}/audit-log answers (else 404)
    members: list[Membership] = field(default_factory=list)
    outside_collaborators: list[str] = field(default_factory=list)


@dataclass
class BranchProtection:
    """Classic branch protection; ``required_approving_review_count=None`` means no PR rule."""

    required_approving_review_count: int | None = 1
    dismiss_stale_reviews: bool = True
    require_code_owner_reviews: bool = False
    require_last_push_approval: bool = False
    enforce_admins: bool = True
    required_status_checks: list[str] | None = None
    strict_status_checks: bool = True


@dataclass
class Ruleset:
    """A repository ruleset; ``rules`` are kept in GitHub's ``{"type", "parameters"}`` shape."""

    id: int
    name: str
    enforcement: str = "active"  # active / disabled / evaluate
    target: str = "branch"
    include: list[str] = field(default_factory=lambda: ["~DEFAULT_BRANCH"])
    exclude: list[str] = field(default_factory=list)
    bypass_actors: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class Commit:
    sha: str
    message: str
    author_login: str | None
    author_name: str
    author_email: str
    authored_at: datetime
    committer_login: str | None
    committer_name: str
    committer_email: str
    committed_at: datetime
    parents: list[str] = field(default_factory=list)


@dataclass
class Review:
    id: int
    user: str
    state: str  # APPROVED / CHANGES_REQUESTED / COMMENTED / DISMISSED / PENDING
    submitted_at: datetime
    commit_id: str
    body: str = ""


@dataclass
class PullRequest:
    number: int
    id: int
    title: str
    author: str
    created_at: datetime
    updated_at: datetime
    base_ref: str
    head_ref: str
    head_sha: str
    commits: list[str] = field(default_factory=list)
    state: str = "open"  # open / closed
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    body: str = ""


@dataclass
class DeploymentStatus:
    id: int
    state: str  # success / failure / error / inactive / in_progress / queued / pending
    creator: str
    created_at: datetime
    description: str = ""


@dataclass
class Deployment:
    id: int
    sha: str
    ref: str
    environment: str
    creator: str
    created_at: datetime
    description: str = ""
    statuses: list[DeploymentStatus] = field(default_factory=list)


@dataclass
class Repo:
    name: str
    id: int
    private: bool = True
    default_branch: str = "main"
    archived: bool = False
    topics: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    branches: dict[str, list[str]] = field(default_factory=dict)  # name -> shas, oldest first
    protection: dict[str, BranchProtection] = field(default_factory=dict)
    rulesets: list[Ruleset] = field(default_factory=list)
    commits: dict[str, Commit] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)
    # Phase 2: issues (incidents) and security alerts, rendered in GitHub's REST shapes.
    issues: list[dict[str, Any]] = field(default_factory=list)
    dependabot_alerts: list[dict[str, Any]] = field(default_factory=list)
    code_scanning_alerts: list[dict[str, Any]] = field(default_factory=list)
    secret_scanning_alerts: list[dict[str, Any]] = field(default_factory=list)

    def pulls_containing(self, sha: str) -> list[PullRequest]:
        """PRs a commit is associated with, as ``GET /commits/{sha}/pulls`` reports them."""
        return [
            pr for pr in self.pulls.values()
            if sha in pr.commits or sha == pr.merge_commit_sha or sha == pr.head_sha
        ]


@dataclass
class GitHubState:
    org: Org
    users: dict[str, User] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> login
    # the organization audit log: {"@timestamp": epoch ms, "action", "actor", "repo", "org", "_document_id", ...}
    audit_log: list[dict[str, Any]] = field(default_factory=list)

    def user(self, login: str) -> User:
        return self.users[login]
