"""The demo company's GitHub: "demo-fintech", its history around the demo quarter, and the truth.

The seeded CC8.1 deviations are recorded by the same code that creates them, so the truth
file (``demo/truth/github-cc8.1.yaml``) can never drift from the data. Regenerate it with
``python -m auditbook.demo.github.company --write-truth``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auditbook.demo import truth_yaml
from auditbook.demo.github.history import HistoryBuilder
from auditbook.demo.github.secret_scanning import add_alerts as add_secret_scanning_alerts
from auditbook.demo.github.security_alerts import add_security_alerts
from auditbook.demo.github.state import (
    BranchProtection,
    GitHubState,
    Membership,
    Org,
    PullRequest,
    Repo,
    Ruleset,
    User,
)
from auditbook.demo.incidents import add_issues as add_incident_issues

ORG = "demo-fintech"
DEMO_TOKEN = "demo-token"
DEMO_BOT = "auditbook-demo-bot"
DEPLOY_BOT = "demo-deploy[bot]"
PERIOD_START = datetime(2026, 7, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 10, 1, tzinfo=UTC)
HISTORY_START = datetime(2026, 3, 2, 9, tzinfo=UTC)
PRODUCTION_BRANCHES = {"payments-api": "main", "ledger-service": "main", "infra-live": "main", "web-app": "main"}
MERGE_STYLE = {"ledger-service": "merge"}  # the others squash-merge
TRUTH_PATH = truth_yaml.TRUTH_DIR / "github-cc8.1.yaml"

ADMINS = ["alice-ng", "bruno-silva"]
MEMBERS = ["chen-wei", "dana-okafor", "eli-cohen", "farah-haddad", "gus-moreno", "hana-sato",
           "ivan-petrov", "julia-costa", "kofi-mensah", "lena-fischer"]
OUTSIDE_COLLABORATOR = "max-contractor"
TWO_FACTOR_DISABLED = {"kofi-mensah"}
FORMER_MEMBERS = {"lena-fischer"}  # a leaver removed from the org (CC6.1 people, demo/people.py)


@dataclass
class Deviation:
    test: str
    resource: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"test": self.test, "resource": self.resource, "why": self.why}


@dataclass
class DemoGitHub:
    state: GitHubState
    truth: list[Deviation] = field(default_factory=list)


def person(login: str) -> User:
    """A demo-fintech person's GitHub user; other demo orgs reuse it, as a GitHub user is not per org."""
    first, _, last = login.partition("-")
    return User(login, 5001 + [*ADMINS, *MEMBERS, OUTSIDE_COLLABORATOR].index(login),
                f"{first.title()} {last.title()}", f"{first}@demo-fintech.example",
                two_factor_enabled=login not in TWO_FACTOR_DISABLED)


def bots() -> list[User]:
    """The deployment bot and the bot the demo token acts as."""
    return [User(DEPLOY_BOT, 9001, "Demo Deploy", "", type="Bot"),
            User(DEMO_BOT, 9002, "auditbook demo", "", type="Bot")]


def _people(state: GitHubState) -> None:
    for login in [*ADMINS, *MEMBERS, OUTSIDE_COLLABORATOR]:
        state.users[login] = person(login)
    for bot in bots():
        state.users[bot.login] = bot
    state.tokens[DEMO_TOKEN] = DEMO_BOT
    state.org.members = [Membership(login, "admin") for login in ADMINS] + [
        Membership(login, "member") for login in MEMBERS if login not in FORMER_MEMBERS]
    state.org.outside_collaborators = [OUTSIDE_COLLABORATOR]
    state.org.two_factor_requirement_enabled = False  # so a member without 2FA can exist, as on GitHub


def _repos(state: GitHubState, b: HistoryBuilder) -> list[Deviation]:
    """Repositories and their protection; returns the protection deviations it seeds."""
    topics = {"docs-site": ["docs"]}
    for name in [*PRODUCTION_BRANCHES, "docs-site"]:
        repo = Repo(name, b.next_id(), topics=topics.get(name, ["production"]), created_at=HISTORY_START)
        state.repos[name] = repo
        b.push(repo, "main", "Initial commit", ADMINS[0], HISTORY_START)
    state.repos["payments-api"].protection["main"] = BranchProtection(
        required_approving_review_count=1, required_status_checks=["ci/test"])
    state.repos["ledger-service"].protection["main"] = BranchProtection(
        required_approving_review_count=2, enforce_admins=False, required_status_checks=["build"])
    seeded = [
        Deviation("CC8.1-PROTECTION", f"{ORG}/ledger-service:main",
                  "classic protection does not apply to administrators (enforce_admins disabled)"),
        Deviation("CC8.1-PROTECTION", f"{ORG}/web-app:main", "no branch protection and no ruleset"),
    ]
    state.repos["infra-live"].rulesets.append(Ruleset(
        id=b.next_id(), name="protect-main", created_at=HISTORY_START, updated_at=HISTORY_START,
        rules=[
            {"type": "deletion"}, {"type": "non_fast_forward"},
            {"type": "pull_request", "parameters": {
                "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True,
                "require_code_owner_review": False, "require_last_push_approval": True,
                "required_review_thread_resolution": False, "allowed_merge_methods": ["squash"]}},
            {"type": "required_status_checks", "parameters": {
                "strict_required_status_checks_policy": True, "do_not_enforce_on_create": False,
                "required_status_checks": [{"context": "terraform-plan"}]}},
        ]))
    state.repos["infra-live"].rulesets.append(Ruleset(
        id=b.next_id(), name="release-tags-draft", enforcement="disabled", target="branch",
        include=["refs/heads/release/*"], created_at=HISTORY_START, updated_at=HISTORY_START,
        rules=[{"type": "deletion"}]))
    return seeded


class _Company:
    """Writes the demo history event by event, recording every seeded deviation."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.state = GitHubState(Org(ORG, 4242, "Demo Fintech", audit_log=True))
        self.b = HistoryBuilder(self.state, seed)
        _people(self.state)
        self.truth: list[Deviation] = _repos(self.state, self.b)

    def pick(self, exclude: str | set[str] = frozenset()) -> str:
        excluded = {exclude} if isinstance(exclude, str) else exclude
        return self.rng.choice([m for m in [*ADMINS, *MEMBERS] if m not in excluded])

    def minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    def at(self, start: datetime, end: datetime) -> datetime:
        seconds = int((end - start).total_seconds())
        return start + timedelta(seconds=self.rng.randint(0, seconds))

    def ref(self, repo: str, pr: PullRequest) -> str:
        return f"{ORG}/{repo}#{pr.number}"

    def deviation(self, test: str, resource: str, why: str) -> None:
        self.truth.append(Deviation(test, resource, why))

    def uncounted(self, approvals: list[tuple[str, datetime]]) -> list[str]:
        """The approvals the HR roster does not let count: an account on no roster line (ivan-petrov), or a
        person not employed that day (hana-sato after 2026-08-14), as "login (why)"."""
        return [f"{login} ({why})" for login, at in approvals if (why := _not_employed(login, at))]

    def approval_truth(self, repo: str, pr: PullRequest, approvals: list[tuple[str, datetime]], merged_at: datetime,
                       deployed: tuple[int, datetime] | None, test: str = "CC8.1-APPROVED") -> bool:
        """Record what a change approved only by approvals that do not count fails (in the period): ``test``, and
        CC8.1-DEPLOY for its deployment. Whether it was approved, by the roster."""
        if len(self.uncounted(approvals)) < len(approvals):
            return True
        if PERIOD_START <= merged_at < PERIOD_END:
            self.deviation(test, self.ref(repo, pr), "approved only by "
                           + ", ".join(self.uncounted(approvals)) + ": approvals that do not count")
            if deployed is not None and PERIOD_START <= deployed[1] < PERIOD_END:
                self.deviation("CC8.1-DEPLOY", f"{ORG}/{repo}/deployments/{deployed[0]}",
                               f"deployed {self.ref(repo, pr)}, whose approvals do not count")
        return False

    # -- one pull request, from branch to merge ----------------------------------------
    def pull(self, repo_name: str, created: datetime, title: str, *, author: str | None = None,
             commits: int | None = None, base: str = "main", labels: list[str] | None = None) -> PullRequest:
        repo = self.state.repos[repo_name]
        author = author or self.pick()
        slug = title.lower().replace(" ", "-")[:30]
        pr = self.b.open_pr(repo, title, author, created, f"{author.split('-')[0]}/{slug}", base, labels)
        at = created
        for i in range(commits or self.rng.randint(1, 4)):
            at += self.minutes(5, 240)
            self.b.add_commit(repo, pr, f"{title}: part {i + 1}" if i else title, at)
        return pr

    def last_commit_at(self, repo_name: str, pr: PullRequest) -> datetime:
        return self.state.repos[repo_name].commits[pr.head_sha].committed_at

    def merge(self, repo_name: str, pr: PullRequest, by: str, at: datetime) -> str:
        return self.b.merge(self.state.repos[repo_name], pr, by, at, MERGE_STYLE.get(repo_name, "squash"))

    def deploy(self, repo_name: str, sha: str, at: datetime, environment: str = "production",
               ref: str = "main") -> int:
        return self.b.deploy(self.state.repos[repo_name], sha, ref, environment, at, DEPLOY_BOT, rng=self.rng).id

    def reviewed_change(self, repo_name: str, created: datetime, title: str, deploy: bool = True) -> PullRequest:
        """A compliant change: discussion, approval by someone else on the final commit, merge."""
        repo = self.state.repos[repo_name]
        pr = self.pull(repo_name, created, title)
        at = self.last_commit_at(repo_name, pr)
        first_reviewer = self.pick(pr.author)
        if len(pr.commits) > 1 and self.rng.random() < 0.5:
            early = repo.commits[pr.commits[0]].committed_at + self.minutes(1, 4)
            state = self.rng.choice(["COMMENTED", "CHANGES_REQUESTED", "DISMISSED"])
            self.b.review(pr, first_reviewer, state, early, commit_id=pr.commits[0])
        approvals = 2 if repo_name == "ledger-service" else self.rng.choice([1, 1, 2])
        approvers = self.rng.sample([m for m in [*ADMINS, *MEMBERS] if m != pr.author], approvals)
        given = []
        for approver in approvers:
            at += self.minutes(10, 600)
            self.b.review(pr, approver, "APPROVED", at)
            given.append((approver, at))
        if self.rng.random() < 0.3:
            self.b.review(pr, self.pick(pr.author), "COMMENTED", at + self.minutes(1, 30))
            at += timedelta(minutes=31)
        merged_at = at + self.minutes(5, 180)
        merger = self.rng.choice([pr.author, approvers[0]])
        sha = self.merge(repo_name, pr, merger, merged_at)
        deployed = None
        if deploy:
            deployed_at = merged_at + self.minutes(5, 90)
            deployed = (self.deploy(repo_name, sha, deployed_at), deployed_at)
        self.approval_truth(repo_name, pr, given, merged_at, deployed)
        return pr

    def unreviewed_change(self, repo_name: str, created: datetime, title: str, base: str = "main",
                          commits: int | None = None) -> PullRequest:
        pr = self.pull(repo_name, created, title, base=base, commits=commits)
        self.merge(repo_name, pr, pr.author, self.last_commit_at(repo_name, pr) + self.minutes(5, 60))
        return pr

    # -- the seeded deviations -----------------------------------------------------------
    def no_approval(self, created: datetime) -> None:
        repo = "web-app"
        pr = self.pull(repo, created, "Checkout button redesign", commits=2)
        at = self.last_commit_at(repo, pr) + self.minutes(20, 90)
        self.b.review(pr, self.pick(pr.author), "COMMENTED", at, body="Looks fine, not approving formally")
        self.merge(repo, pr, pr.author, at + self.minutes(5, 30))
        self.deviation("CC8.1-APPROVED", self.ref(repo, pr),
                       "merged with no approving review (only a COMMENTED review)")

    def late_self_approval(self, created: datetime) -> None:
        repo = "ledger-service"
        author = ADMINS[1]
        pr = self.pull(repo, created, "Rounding of FX conversions", author=author, commits=2)
        merged_at = self.last_commit_at(repo, pr) + self.minutes(10, 40)
        self.merge(repo, pr, author, merged_at)
        self.b.review(pr, self.pick(author), "APPROVED", merged_at + timedelta(hours=3))
        self.deviation("CC8.1-APPROVED", self.ref(repo, pr),
                       "self-merged by the author; the only approval was submitted 3 h after the merge")

    def stale_approval(self, created: datetime) -> None:
        repo = "web-app"
        pr = self.pull(repo, created, "Session cookie flags", commits=1)
        first = pr.head_sha
        at = self.last_commit_at(repo, pr) + self.minutes(15, 60)
        approver, approved_at = self.pick(pr.author), at
        self.b.review(pr, approver, "APPROVED", at, commit_id=first)
        for i in range(2):
            at += self.minutes(20, 90)
            self.b.add_commit(self.state.repos[repo], pr, f"Session cookie flags: follow-up {i + 1}", at)
        self.merge(repo, pr, pr.author, at + self.minutes(5, 30))
        if self.approval_truth(repo, pr, [(approver, approved_at)], at, None):
            self.deviation("CC8.1-FINAL-COMMIT", self.ref(repo, pr),
                           "approved on an earlier commit; two commits pushed afterwards, merged without re-approval")

    def direct_push(self, at: datetime) -> None:
        repo = "payments-api"
        commit = self.b.push(self.state.repos[repo], "main", "Raise gateway timeout to 30s", ADMINS[0], at)
        self.deviation("CC8.1-DIRECT-PUSH", f"{ORG}/{repo}@{commit.sha}",
                       "pushed directly to main; belongs to no pull request")

    def hotfix_deploy(self, at: datetime) -> None:
        repo = self.state.repos["payments-api"]
        branch = "hotfix/settlement-retry"
        repo.branches[branch] = list(repo.branches["main"])
        commit = self.b.push(repo, branch, "Retry settlement on 503", ADMINS[0], at)
        deployment = self.deploy(repo.name, commit.sha, at + self.minutes(10, 30), ref=branch)
        self.deviation("CC8.1-DEPLOY", f"{ORG}/{repo.name}/deployments/{deployment}",
                       f"production deployment of {commit.sha[:7]} from {branch}, which went through no pull request")

    def emergency(self, created: datetime, approval_after: timedelta, deploy: bool) -> PullRequest:
        repo = "ledger-service"
        pr = self.pull(repo, created, "Emergency: stop duplicate ledger postings", author=ADMINS[0],
                       commits=1, labels=["emergency"])
        merged_at = self.last_commit_at(repo, pr) + self.minutes(5, 20)
        sha = self.merge(repo, pr, pr.author, merged_at)
        approver = self.pick(pr.author)
        self.b.review(pr, approver, "APPROVED", merged_at + approval_after)
        deployed = None
        if deploy:
            deployed_at = merged_at + self.minutes(5, 15)
            deployed = (self.deploy(repo, sha, deployed_at), deployed_at)
        if approval_after <= timedelta(hours=48):  # a late review is CC8.1-EMERGENCY's seeded deviation anyway
            self.approval_truth(repo, pr, [(approver, merged_at + approval_after)], merged_at, deployed,
                                test="CC8.1-EMERGENCY")
        return pr

    # -- the whole history -------------------------------------------------------------
    def build(self) -> DemoGitHub:
        q = (PERIOD_START, PERIOD_END)
        self.state.repos["payments-api"].branches["develop"] = list(self.state.repos["payments-api"].branches["main"])
        # Events per repo in time order: (time, action). Deviations sit at fixed days.
        events: list[tuple[datetime, str, Any]] = []
        for repo in PRODUCTION_BRANCHES:
            for _ in range(8):  # before the quarter; deployed well before it starts
                events.append((self.at(datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC)),
                               repo, "reviewed"))
            for _ in range(self.rng.randint(20, 30)):
                events.append((self.at(q[0], datetime(2026, 9, 26, tzinfo=UTC)), repo, "reviewed"))
            for _ in range(2):  # a few days after the quarter
                events.append((self.at(datetime(2026, 10, 1, 2, tzinfo=UTC),
                                       datetime(2026, 10, 4, tzinfo=UTC)), repo, "reviewed"))
        for _ in range(8):
            events.append((self.at(q[0], datetime(2026, 9, 26, tzinfo=UTC)), "docs-site", "unreviewed"))
        events += [
            (datetime(2026, 6, 30, 18, 5, tzinfo=UTC), "payments-api", "boundary-before"),
            (datetime(2026, 10, 1, 0, 20, tzinfo=UTC), "web-app", "boundary-after"),
            (datetime(2026, 8, 11, 10, tzinfo=UTC), "payments-api", "develop"),
            (datetime(2026, 9, 18, 9, 30, tzinfo=UTC), "web-app", "open"),
            (datetime(2026, 7, 14, 9, 10, tzinfo=UTC), "web-app", "no-approval"),
            (datetime(2026, 8, 4, 16, 0, tzinfo=UTC), "ledger-service", "late-self-approval"),
            (datetime(2026, 9, 2, 8, 45, tzinfo=UTC), "web-app", "stale-approval"),
            (datetime(2026, 8, 20, 23, 12, tzinfo=UTC), "payments-api", "direct-push"),
            (datetime(2026, 9, 9, 3, 40, tzinfo=UTC), "payments-api", "hotfix-deploy"),
            (datetime(2026, 7, 28, 2, 5, tzinfo=UTC), "ledger-service", "emergency-ok"),
            (datetime(2026, 9, 22, 4, 30, tzinfo=UTC), "ledger-service", "emergency-late"),
        ]
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for n, (when, repo, kind) in enumerate(events):
            self.apply(n, when, repo, kind)
        add_secret_scanning_alerts(self.state)  # CC6.2; no random draws, no shared ids
        add_incident_issues(self.state)  # CC7.2; its own repository, no random draws, no shared ids
        add_security_alerts(self.state)  # CC9.1: Dependabot, code scanning, scanner checks
        self.truth += _unlisted_repositories(self.state, self.b)  # CC8.1 scope; last, so no earlier id moves
        return DemoGitHub(self.state, self.truth)

    def apply(self, n: int, when: datetime, repo: str, kind: str) -> None:
        title = f"{self.rng.choice(VERBS)} {self.rng.choice(THINGS)}"
        match kind:
            case "reviewed":
                self.reviewed_change(repo, when, title, deploy=self.rng.random() < 0.85)
            case "unreviewed":
                self.unreviewed_change(repo, when, f"Docs: {title}")
            case "boundary-before" | "boundary-after":
                self.unreviewed_change(repo, when, f"Unreviewed outside the quarter: {title}", commits=1)
            case "develop":
                self.unreviewed_change(repo, when, f"Experiment: {title}", base="develop")
            case "open":
                pr = self.pull(repo, when, f"WIP: {title}")
                self.b.review(pr, self.pick(pr.author), "CHANGES_REQUESTED", when + timedelta(hours=6))
                self.deploy(repo, pr.head_sha, when + timedelta(hours=7), environment="staging", ref=pr.head_ref)
            case "no-approval":
                self.no_approval(when)
            case "late-self-approval":
                self.late_self_approval(when)
            case "stale-approval":
                self.stale_approval(when)
            case "direct-push":
                self.direct_push(when)
            case "hotfix-deploy":
                self.hotfix_deploy(when)
            case "emergency-ok":
                self.emergency(when, timedelta(hours=10), deploy=True)
            case "emergency-late":
                pr = self.emergency(when, timedelta(days=5), deploy=False)
                self.deviation("CC8.1-EMERGENCY", self.ref(repo, pr),
                               "emergency change approved by a non-author 5 days after the merge (limit 48 h)")


def _unlisted_repositories(state: GitHubState, b: HistoryBuilder) -> list[Deviation]:
    """Repositories params do not list as production, for scope completeness (CC8.1-REPO-SCOPE): card-vault
    deploys to production and protects main (missing from scope: the deviation), sandbox-tools protects its
    default branch by a ruleset (excluded in the demo params with a reason), legacy-billing is archived and last
    deployed before the period (not production). docs-site and incident-response show no sign of production."""
    vault = Repo("card-vault", b.next_id(), topics=["payments"], created_at=datetime(2026, 5, 4, 9, tzinfo=UTC))
    tools = Repo("sandbox-tools", b.next_id(), topics=["tooling"], created_at=HISTORY_START)
    legacy = Repo("legacy-billing", b.next_id(), topics=["payments"], created_at=datetime(2024, 2, 1, 9, tzinfo=UTC))
    for repo in (vault, tools, legacy):
        state.repos[repo.name] = repo
        b.push(repo, "main", "Initial commit", ADMINS[0], repo.created_at)
    vault.protection["main"] = BranchProtection(required_approving_review_count=1)
    for day in (datetime(2026, 7, 21, 15, 10, tzinfo=UTC), datetime(2026, 8, 19, 14, 2, tzinfo=UTC)):
        sha = b.push(vault, "main", "Rotate tokenization key reference", "chen-wei", day).sha
        b.deploy(vault, sha, "main", "production", day + timedelta(minutes=20), DEPLOY_BOT)
    tools.rulesets.append(Ruleset(id=b.next_id(), name="protect-default", created_at=HISTORY_START,
                                  updated_at=HISTORY_START, rules=[{"type": "deletion"}]))
    b.deploy(tools, tools.branches["main"][-1], "main", "staging", datetime(2026, 8, 3, 10, tzinfo=UTC), DEPLOY_BOT)
    legacy.protection["main"] = BranchProtection(required_approving_review_count=1)
    b.deploy(legacy, legacy.branches["main"][-1], "main", "production", datetime(2025, 11, 3, 16, tzinfo=UTC),
             DEPLOY_BOT)
    legacy.archived = True
    return [Deviation("CC8.1-REPO-SCOPE", f"{ORG}/card-vault",
                      "deployed to production on 2026-07-21 and 2026-08-19 and its main branch is protected, but "
                      "params neither list it as a production repository nor exclude it")]


VERBS = ["Add", "Fix", "Refactor", "Harden", "Speed up", "Document", "Remove", "Upgrade", "Rework", "Test"]
THINGS = ["refund flow", "ledger export", "rate limiter", "audit log", "webhook retries", "currency table",
          "login form", "terraform state", "IAM roles", "card tokenizer", "batch settlement", "health checks"]


def _not_employed(login: str, at: datetime) -> str:
    """Why the HR roster (demo/people.py) does not let an approval by ``login`` at ``at`` count ('' if it does)."""
    from auditbook.demo import people

    person = next((p for p in people.PEOPLE if p.github == login), None)
    if person is None:
        return "on no HR roster line"
    if at.date() < datetime.fromisoformat(person.start).date():
        return f"before {person.name} started"
    if person.termination and at.date() > datetime.fromisoformat(person.termination).date():
        return f"after {person.name}'s termination on {person.termination}"
    return ""


def build_demo(seed: int = 7) -> DemoGitHub:
    return _Company(seed).build()


def build_demo_github(seed: int = 7) -> GitHubState:
    """The demo company's GitHub world; same seed, same data."""
    return build_demo(seed).state


def cc81_truth_header(module: str, org: str) -> str:
    return (f"# Generated by `python -m {module} --write-truth`; do not edit.\n"
            f"# Seeded CC8.1 deviations of {org} in {PERIOD_START:%Y-%m-%d}..{PERIOD_END:%Y-%m-%d} (closed-open).\n")


def demo_truth(seed: int = 7) -> list[dict[str, str]]:
    """The seeded CC8.1 deviations of demo-fintech."""
    return truth_yaml.in_order(d.to_dict() for d in build_demo(seed).truth)


def render_truth(seed: int = 7) -> str:
    return truth_yaml.render(cc81_truth_header("auditbook.demo.github.company", ORG), demo_truth(seed))


def main(argv: list[str] | None = None) -> None:
    truth_yaml.cli(__doc__, TRUTH_PATH, render_truth, argv)


if __name__ == "__main__":
    main()
