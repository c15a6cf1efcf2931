"""The demo company's second GitHub org, "demo-fintech-labs": one small, clean repository and one deviation.

It exists so multi-org scope has something to find in the second org: a handful of people who are
already demo-fintech members (active on the HR roster, 2FA on, so CC6.1 finds nothing new), one
strictly protected repository, and a quarter of reviewed pull requests of which exactly one was
merged without an approval. Same builder and seeded RNG as ``company``, ids in their own range so
both orgs can be served side by side. Regenerate the truth with
``python -m auditbook.demo.github.labs --write-truth``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from auditbook.demo import truth_yaml
from auditbook.demo.github.company import (
    DEMO_BOT,
    DEMO_TOKEN,
    DEPLOY_BOT,
    PERIOD_START,
    THINGS,
    VERBS,
    DemoGitHub,
    Deviation,
    bots,
    cc81_truth_header,
    person,
)
from auditbook.demo.github.history import HistoryBuilder
from auditbook.demo.github.state import BranchProtection, GitHubState, Membership, Org, PullRequest, Repo

ORG = "demo-fintech-labs"
REPO = "risk-models"
PRODUCTION_BRANCHES = {REPO: "main"}
TRUTH_PATH = truth_yaml.TRUTH_DIR / "github-labs-cc8.1.yaml"
ADMIN = "chen-wei"
MEMBERS = ["dana-okafor", "eli-cohen", "julia-costa"]  # all demo-fintech members, active, 2FA enabled
CREATED = datetime(2026, 5, 4, 9, tzinfo=UTC)
FIRST_ID = 2_000_000  # far from demo-fintech's ids: GitHub ids are unique across orgs
REVIEWED_CHANGES = 9
SCANNER_CHECKS = ["codeql", "dependency-review", "trivy-image-scan"]  # CC9.1's sast, dependency audit, image scan


class _Labs:
    """Writes the labs history in time order, recording the one seeded deviation."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.state = GitHubState(Org(ORG, 4243, "Demo Fintech Labs", two_factor_requirement_enabled=True,
                                     audit_log=True))
        for user in [person(login) for login in [ADMIN, *MEMBERS]] + bots():
            self.state.users[user.login] = user
        self.state.tokens[DEMO_TOKEN] = DEMO_BOT
        self.state.org.members = [Membership(ADMIN, "admin")] + [Membership(m, "member") for m in MEMBERS]
        self.b = HistoryBuilder(self.state, seed, first_id=FIRST_ID)
        self.repo = Repo(REPO, self.b.next_id(), topics=["production"], created_at=CREATED)
        self.state.repos[REPO] = self.repo
        self.b.push(self.repo, "main", "Initial commit", ADMIN, CREATED)
        self.repo.protection["main"] = BranchProtection(
            required_approving_review_count=1, dismiss_stale_reviews=True, enforce_admins=True,
            required_status_checks=list(SCANNER_CHECKS))
        self.truth: list[Deviation] = []

    def pick(self, exclude: str) -> str:
        return self.rng.choice([m for m in [ADMIN, *MEMBERS] if m != exclude])

    def minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    def pull(self, created: datetime, title: str, commits: int) -> PullRequest:
        author = self.rng.choice([ADMIN, *MEMBERS])
        slug = title.lower().replace(" ", "-")[:30]
        pr = self.b.open_pr(self.repo, title, author, created, f"{author.split('-')[0]}/{slug}")
        at = created
        for i in range(commits):
            at += self.minutes(5, 240)
            self.b.add_commit(self.repo, pr, f"{title}: part {i + 1}" if i else title, at)
        return pr

    def reviewed_change(self, created: datetime, title: str) -> None:
        """Approved by a non-author on the final commit, squash-merged, deployed to production."""
        pr = self.pull(created, title, self.rng.randint(1, 3))
        at = self.repo.commits[pr.head_sha].committed_at
        if len(pr.commits) > 1 and self.rng.random() < 0.5:
            early = self.repo.commits[pr.commits[0]].committed_at + self.minutes(1, 4)
            self.b.review(pr, self.pick(pr.author), "COMMENTED", early, commit_id=pr.commits[0])
        approver = self.pick(pr.author)
        at += self.minutes(10, 600)
        self.b.review(pr, approver, "APPROVED", at)
        merged_at = at + self.minutes(5, 180)
        sha = self.b.merge(self.repo, pr, self.rng.choice([pr.author, approver]), merged_at, "squash")
        self.b.deploy(self.repo, sha, "main", "production", merged_at + self.minutes(5, 90), DEPLOY_BOT, rng=self.rng)

    def no_approval(self, created: datetime) -> None:
        """The seeded deviation: only a COMMENTED review, merged by its author, never deployed."""
        pr = self.pull(created, "Recalibrate PD model thresholds", 2)
        at = self.repo.commits[pr.head_sha].committed_at + self.minutes(20, 90)
        self.b.review(pr, self.pick(pr.author), "COMMENTED", at, body="Numbers look plausible, not approving")
        self.b.merge(self.repo, pr, pr.author, at + self.minutes(5, 30), "squash")
        self.truth.append(Deviation("CC8.1-APPROVED", f"{ORG}/{REPO}#{pr.number}",
                                    "merged with no approving review (only a COMMENTED review)"))

    def build(self) -> DemoGitHub:
        days = (datetime(2026, 9, 24, tzinfo=UTC) - PERIOD_START).days
        starts = sorted(PERIOD_START + timedelta(days=self.rng.randint(0, days), hours=self.rng.randint(8, 17))
                        for _ in range(REVIEWED_CHANGES))
        events = [(when, "reviewed") for when in starts] + [(datetime(2026, 8, 18, 11, tzinfo=UTC), "no-approval")]
        for when, kind in sorted(events):
            if kind == "reviewed":
                self.reviewed_change(when, f"{self.rng.choice(VERBS)} {self.rng.choice(THINGS)}")
            else:
                self.no_approval(when)
        return DemoGitHub(self.state, self.truth)


def build_labs(seed: int = 7) -> DemoGitHub:
    return _Labs(seed).build()


def build_labs_github(seed: int = 7) -> GitHubState:
    """The labs org's GitHub world; same seed, same data."""
    return build_labs(seed).state


def labs_truth(seed: int = 7) -> list[dict[str, str]]:
    """The seeded CC8.1 deviations of the labs org."""
    return truth_yaml.in_order(d.to_dict() for d in build_labs(seed).truth)


def render_truth(seed: int = 7) -> str:
    return truth_yaml.render(cc81_truth_header("auditbook.demo.github.labs", ORG), labs_truth(seed))


def main(argv: list[str] | None = None) -> None:
    truth_yaml.cli(__doc__, TRUTH_PATH, render_truth, argv)


if __name__ == "__main__":
    main()
