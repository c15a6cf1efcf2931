"""Fault tests share the session's demo environment; every test leaves its injectors clear."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))  # secretscan
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.sources.aws.session import open_account
from auditbook.sources.github import connect
from faultcases import CASES


@pytest.fixture
def faults(demo_env):
    demo_env.faults.clear()
    yield demo_env.faults
    demo_env.faults.clear()


@pytest.fixture(scope="session")
def account(demo_env):
    return open_account({"id": DEMO_ACCOUNT_ID, "name": "demo-production"}, DEMO_REGION)


@pytest.fixture
def gh(demo_env):
    """The notebooks' client, with short backoff so a test waits milliseconds, not seconds, between retries."""
    return connect(backoff_factor=0.01, max_wait=5)


@pytest.fixture
def fast_backoff(monkeypatch):
    """botocore's standard-mode backoff shortened; the number of attempts stays the real one."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.01)


def pytest_terminal_summary(terminalreporter):
    if CASES:
        kinds = sorted({c[2] for c in CASES})
        errors = sum(1 for c in CASES if c[3] == "ERROR")
        terminalreporter.write_line(
            f"fault cases: {len(CASES)} ({errors} ended in a collection error; "
            f"{len(CASES) - errors} retried to the complete answer) over "
            f"{len({c[0] for c in CASES})} collectors, kinds: {', '.join(kinds)}")
