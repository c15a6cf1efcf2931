"""PR history costs one GraphQL request per 100 PRs, whatever their reviews."""

from __future__ import annotations

import math
import time

import pytest
from auditbook.demo.github.company import DEMO_TOKEN, PERIOD_END, PERIOD_START
from auditbook.demo.github.server import GitHubEmulator
from auditbook.demo.github.synthetic import ORG, REPO, build_synthetic_github
from auditbook.provenance import RawStore
from auditbook.sources.github import collect_merged_pulls, connect


def measure(merged_prs: int, raw: RawStore) -> tuple[int, int, float]:
    """(PRs collected, HTTP requests, seconds) for one collection over a synthetic repo."""
    with GitHubEmulator(build_synthetic_github(merged_prs)) as emulator:
        gh = connect(DEMO_TOKEN, emulator.url)
        started = time.perf_counter()
        pulls, _ = collect_merged_pulls(gh, ORG, {REPO: "main"}, raw, PERIOD_START, PERIOD_END)
        elapsed = time.perf_counter() - started
        return len(pulls.frame), len(emulator.requests), elapsed


def test_thousand_prs_take_ten_graphql_requests(tmp_path):
    collected, requests, _ = measure(1000, RawStore(tmp_path))
    assert collected == 1000
    assert requests == math.ceil(1000 / 100) + 1  # + GET /user for the caller's login


@pytest.mark.skip(reason="benchmark: python tests/github/test_request_count.py")
def test_ten_thousand_prs(tmp_path):
    collected, requests, _ = measure(10_000, RawStore(tmp_path))
    assert (collected, requests) == (10_000, 101)


if __name__ == "__main__":
    import tempfile

    for n in (1_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            collected, requests, elapsed = measure(n, RawStore(tmp))
            print(f"{n:>6} merged PRs: {collected} collected, {requests} HTTP requests, {elapsed:.2f} s")
