"""Shared fixtures: the demo emulators and one demo run per test session."""

from __future__ import annotations

import shutil
from collections.abc import Callable
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
    demo_env.faults.clear()  # the emulators' request log then holds exactly what the run called (tests/security)
    outcome = run(DEMO_PARAMS, DEMO_PERIOD, out_dir=out)
    outcome.calls = {"aws": list(demo_env.faults.aws.calls), "github": list(demo_env.faults.github.calls)}
    return outcome


@pytest.fixture(scope="session")
def writable_copy(demo_run) -> Callable[[Path], Path]:
    """Copy the sealed demo package to ``dest`` with write permission, for tests that tamper with it."""
    def copy(dest: Path) -> Path:
        shutil.copytree(demo_run.run_dir, dest)
        for path in [dest, *dest.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        return dest
    return copy


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture
def account(demo_env):
    """The demo AWS account, opened the way a run opens it."""
    from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
    from auditbook.sources.aws.session import open_account

    return open_account({"id": DEMO_ACCOUNT_ID}, DEMO_REGION)


@pytest.fixture
def raw(tmp_path):
    from auditbook.provenance import RawStore

    return RawStore(tmp_path / "raw")
