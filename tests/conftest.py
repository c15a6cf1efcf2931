"""Shared fixtures: the demo emulators, one demo run per test session, the demo company's GitHub alone."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from auditbook.demo.environment import DEMO_PARAMS, DEMO_PERIOD, DemoEnvironment
from auditbook.demo.github.company import DEMO_TOKEN, build_demo_github
from auditbook.demo.github.server import GitHubEmulator
from auditbook.demo.github.state import GitHubState
from auditbook.sources.github import connect
from github import Github


@pytest.fixture(scope="session")
def demo_env():
    with DemoEnvironment() as env:
        yield env


@pytest.fixture(scope="session")
def demo_run(demo_env, tmp_path_factory):
    """The whole demo quarter, run once for the session like `make demo` does."""
    from auditbook.demo.signing_key import demo_signer
    from auditbook.demo.snapshots import take_all
    from auditbook.runner import run

    out = tmp_path_factory.mktemp("outputs")
    signer, allowed = demo_signer(out)  # signed like `auditbook demo` signs
    take_all(demo_env, str(DEMO_PARAMS), out)  # and with the demo company's daily snapshots, as `auditbook demo`
    demo_env.faults.clear()  # the emulators' request log then holds exactly what the run called (tests/security)
    outcome = run(DEMO_PARAMS, DEMO_PERIOD, out_dir=out, signer=signer)
    outcome.allowed_signers = allowed
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


# -- the demo company's GitHub alone, on an emulator of its own (GitHub source and emulator tests) --
@pytest.fixture(scope="session")
def demo_state() -> GitHubState:
    return build_demo_github()


@pytest.fixture(scope="session")
def emulator(demo_state: GitHubState) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(demo_state) as emu:
        yield emu


@pytest.fixture
def client_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[GitHubEmulator], Github]:
    """A client configured the standard way, through the environment, on a cleared emulator."""
    def make(emulator: GitHubEmulator) -> Github:
        emulator.clear()
        monkeypatch.setenv("GITHUB_API_URL", emulator.url)
        monkeypatch.setenv("GITHUB_TOKEN", DEMO_TOKEN)
        return connect(backoff_factor=0.01, max_wait=5)
    return make


@pytest.fixture
def gh(emulator: GitHubEmulator, client_for: Callable[[GitHubEmulator], Github]) -> Github:
    return client_for(emulator)
