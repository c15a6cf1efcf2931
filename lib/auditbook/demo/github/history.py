"""Builds git and pull-request history into a :class:`GitHubState` the way GitHub records it.

Shared by the demo company and the synthetic load generator, so both produce the same
shapes: squash merges add one commit to the base branch, true merges bring the PR's
commits along, reviews point at the commit they were submitted on.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from datetime import datetime, timedelta

from auditbook.demo.github.state import (
    Commit,
    Deployment,
    DeploymentStatus,
    GitHubState,
    PullRequest,
    Repo,
    Review,
    User,
)

WEB_FLOW = User("web-flow", 19864447, "GitHub", "noreply@github.com")


class HistoryBuilder:
    """Deterministic ids and shas: the same calls in the same order give the same world.

    ``first_id`` keeps the ids of worlds served side by side apart, as GitHub's ids are global.
    """

    def __init__(self, state: GitHubState, seed: int, first_id: int = 1000) -> None:
        self.state = state
        self.seed = seed
        self._ids = itertools.count(first_id)
        self._shas = itertools.count()
        state.users.setdefault(WEB_FLOW.login, WEB_FLOW)

    def next_id(self) -> int:
        return next(self._ids)

    def _sha(self, repo: Repo) -> str:
        return hashlib.sha1(f"{self.seed}:{repo.name}:{next(self._shas)}".encode()).hexdigest()

    def commit(self, repo: Repo, message: str, author: str, at: datetime, parents: list[str],
               committer: str | None = None, committed_at: datetime | None = None) -> Commit:
        by = self.state.user(author)
        com = self.state.user(committer or author)
        commit = Commit(
            sha=self._sha(repo), message=message,
            author_login=by.login, author_name=by.name, author_email=by.email, authored_at=at,
            committer_login=com.login, committer_name=com.name, committer_email=com.email,
            committed_at=committed_at or at, parents=parents,
        )
        repo.commits[commit.sha] = commit
        return commit

    def push(self, repo: Repo, branch: str, message: str, author: str, at: datetime) -> Commit:
        """A commit pushed straight onto ``branch`` (no pull request)."""
        line = repo.branches.setdefault(branch, [])
        commit = self.commit(repo, message, author, at, parents=line[-1:])
        line.append(commit.sha)
        return commit

    def open_pr(self, repo: Repo, title: str, author: str, created_at: datetime, head_ref: str,
                base: str = "main", labels: list[str] | None = None) -> PullRequest:
        number = max(repo.pulls, default=0) + 1
        pr = PullRequest(
            number=number, id=self.next_id(), title=title, author=author, created_at=created_at,
            updated_at=created_at, base_ref=base, head_ref=head_ref, head_sha="",
            labels=list(labels or []),
        )
        repo.pulls[number] = pr
        return pr

    def add_commit(self, repo: Repo, pr: PullRequest, message: str, at: datetime) -> str:
        parent = pr.commits[-1:] or repo.branches[pr.base_ref][-1:]
        commit = self.commit(repo, message, pr.author, at, parents=parent)
        pr.commits.append(commit.sha)
        pr.head_sha = commit.sha
        repo.branches[pr.head_ref] = list(pr.commits)
        pr.updated_at = max(pr.updated_at, at)
        return commit.sha

    def review(self, pr: PullRequest, user: str, state: str, at: datetime, commit_id: str | None = None,
               body: str = "") -> Review:
        review = Review(self.next_id(), user, state, at, commit_id or pr.head_sha, body)
        pr.reviews.append(review)
        pr.updated_at = max(pr.updated_at, at)
        return review

    def merge(self, repo: Repo, pr: PullRequest, by: str, at: datetime, style: str) -> str:
        """Merge like GitHub's button: ``squash`` adds one commit, ``merge`` a merge commit."""
        line = repo.branches[pr.base_ref]
        tip = line[-1]
        if style == "squash":
            commit = self.commit(repo, f"{pr.title} (#{pr.number})", pr.author, at, [tip],
                                 committer=WEB_FLOW.login)
        else:
            line.extend(sha for sha in pr.commits if sha not in line)
            commit = self.commit(repo, f"Merge pull request #{pr.number} from {pr.head_ref}", by, at,
                                 [tip, pr.head_sha], committer=WEB_FLOW.login)
        line.append(commit.sha)
        repo.branches.pop(pr.head_ref, None)  # "automatically delete head branches"
        pr.state, pr.merged_at, pr.closed_at, pr.merged_by = "closed", at, at, by
        pr.merge_commit_sha = commit.sha
        pr.updated_at = max(pr.updated_at, at)
        return commit.sha

    def deploy(self, repo: Repo, sha: str, ref: str, environment: str, at: datetime, creator: str,
               final_state: str = "success", rng: random.Random | None = None) -> Deployment:
        finish = at + timedelta(minutes=(rng or random.Random(0)).randint(2, 9))
        deployment = Deployment(
            id=self.next_id(), sha=sha, ref=ref, environment=environment, creator=creator,
            created_at=at, description=f"Deploy {sha[:7]} to {environment}",
            statuses=[
                DeploymentStatus(self.next_id(), "in_progress", creator, at),
                DeploymentStatus(self.next_id(), final_state, creator, finish),
            ],
        )
        repo.deployments.append(deployment)
        return deployment
