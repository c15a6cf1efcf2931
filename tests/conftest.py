"""Shared fixtures: the demo emulators and one demo run per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from auditbook.demo.environment import DEMO_PARAMS, DEMO_PERIOD, DemoEnvironment


@pytest.fixture(scope="session")
def demo_env():
    with DemoEnvironment() as env:
        yield env


@pytest.fixture(scope="session")
def demo_run(demo_env, tmp_path_factory):
    """The whole demo quarter, run once for the session like `make demo` does."""
    from auditbook.runner import run

    out = tmp_path_factory.mktemp("outputs")
    outcome = run(DEMO_PARAMS, DEMO_PERIOD, out_dir=out)
    return outcome


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
