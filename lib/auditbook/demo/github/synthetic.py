"""A synthetic org with one repo and N approved, merged PRs in the demo quarter: for load tests."""

from __future__ import annotations

import random
from datetime import timedelta

from auditbook.demo.github.company import DEMO_TOKEN, PERIOD_END, PERIOD_START
from auditbook.demo.github.history import HistoryBuilder
from auditbook.demo.github.state import GitHubState, Membership, Org, Repo, User

ORG = "synthetic-co"
REPO = "monorepo"
DEVELOPERS = [f"dev-{i:02d}" for i in range(20)]


def build_synthetic_github(merged_prs: int, seed: int = 1) -> GitHubState:
    """``merged_prs`` PRs merged into ``main`` of ``synthetic-co/monorepo``, spread over the quarter."""
    rng = random.Random(seed)
    state = GitHubState(Org(ORG, 7000, "Synthetic Co"))
    for uid, login in enumerate(DEVELOPERS, start=7100):
        state.users[login] = User(login, uid, login, f"{login}@synthetic.example")
    state.users["load-bot"] = User("load-bot", 7999, type="Bot")
    state.tokens[DEMO_TOKEN] = "load-bot"
    state.org.members = [Membership(login, "member") for login in DEVELOPERS]
    builder = HistoryBuilder(state, seed)
    repo = Repo(REPO, builder.next_id(), created_at=PERIOD_START - timedelta(days=30))
    state.repos[REPO] = repo
    builder.push(repo, "main", "Initial commit", DEVELOPERS[0], PERIOD_START - timedelta(days=30))
    step = (PERIOD_END - PERIOD_START - timedelta(days=1)) / max(merged_prs, 1)
    for i in range(merged_prs):
        created = (PERIOD_START + step * i).replace(microsecond=0)
        author, reviewer = rng.sample(DEVELOPERS, 2)
        pr = builder.open_pr(repo, f"Change {i}", author, created, f"{author}/change-{i}")
        builder.add_commit(repo, pr, f"Change {i}", created + timedelta(minutes=5))
        builder.review(pr, reviewer, "APPROVED", created + timedelta(minutes=30))
        builder.merge(repo, pr, author, created + timedelta(minutes=40), "squash")
    return state
