"""Security tests read the fault tests' collector registry and the shared demo environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))


@pytest.fixture(scope="session")
def account(demo_env):
    from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
    from auditbook.sources.aws.session import open_account

    return open_account({"id": DEMO_ACCOUNT_ID, "name": "demo-production"}, DEMO_REGION)
