"""The emulator dying mid-run: connections refused from then on, bounded retries, ERROR — never a shorter list."""

from __future__ import annotations

import json
import time

import pytest
from auditbook.demo import faults as f
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION, DemoAws, patched_environ
from auditbook.provenance import CollectionError, RawStore
from faultcases import AWS_COLLECTORS, GITHUB_COLLECTORS


@pytest.fixture
def bare_aws():
    """A moto server of its own (not the session's): this test kills it."""
    aws = DemoAws()
    aws._server.start()
    host, port = aws._server.get_host_and_port()
    aws.endpoint = f"http://{host}:{port}"
    yield aws
    aws.stop()


def test_aws_emulator_dying_mid_collection_is_a_collection_error(bare_aws, tmp_path, fast_backoff):
    from auditbook.sources.aws.session import open_account

    injector = f.attach_aws(bare_aws)
    with patched_environ(bare_aws.env):
        import boto3

        iam = boto3.client("iam")
        users = [f"user-{i}" for i in range(3)]
        for user in users:
            iam.create_user(UserName=user)
        account = open_account({"id": DEMO_ACCOUNT_ID}, DEMO_REGION)
        try:
            assert len(AWS_COLLECTORS["iam-entitlements"](account, RawStore(tmp_path / "ok")).frame) >= 3
        finally:  # moto keeps one state per process: left there, they are orphaned accounts in a later demo run
            for user in users:
                iam.delete_user(UserName=user)
        injector.inject(f.operation("iam", "GetAccountAuthorizationDetails"), f.die(), times=1)
        started = time.monotonic()
        with pytest.raises(CollectionError, match="GetAccountAuthorizationDetails.*(connect|Connection)"):
            AWS_COLLECTORS["iam-entitlements"](account, RawStore(tmp_path / "dead"))
        assert time.monotonic() - started < 30
        assert injector.dead


def test_github_emulator_dying_mid_collection_is_a_collection_error(tmp_path, monkeypatch):
    from auditbook.demo.github.company import DEMO_TOKEN, build_demo_github
    from auditbook.demo.github.server import GitHubEmulator
    from auditbook.sources.github import connect

    with GitHubEmulator(build_demo_github()) as emulator:
        injector = f.attach_github(emulator)
        gh = connect(DEMO_TOKEN, emulator.url, backoff_factor=0.01, retries=2)
        injector.inject(f.path_matches("/repos/*/deployments/*/statuses"), f.die(), times=1)
        with pytest.raises(CollectionError, match="statuses"):
            GITHUB_COLLECTORS["github-deployments"](gh, RawStore(tmp_path / "dead"))
        assert injector.dead


@pytest.mark.slow
@pytest.mark.e2e
def test_whole_run_with_the_aws_emulator_dying_is_error_and_complete_elsewhere(tmp_path, capsys):
    """A demo environment of its own; AWS dies after the first S3 GetObject of the trail: every test that
    needed AWS evidence not yet collected is ERROR, GitHub-only tests still run, exit status 1."""
    from auditbook.cli import main
    from auditbook.demo.environment import DEMO_PARAMS, DEMO_PERIOD, DemoEnvironment

    with DemoEnvironment() as env:
        env.faults.aws.inject(f.operation("s3", "GetObject"), f.die(), times=1)
        code = main(["run", "--params", str(DEMO_PARAMS), "--period", DEMO_PERIOD, "--out", str(tmp_path / "out")])
    assert code == 1
    run_dir = next((tmp_path / "out").glob("*/*"))
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "ERROR"
    tests = [t for c in results["criteria"] for t in c["tests"]]
    errored = [t for t in tests if t["status"] == "ERROR"]
    assert errored and all("onnect" in t["cause"] or "could not be collected" in t["cause"] for t in errored)
    assert any(t["status"] in ("PASS", "FAIL") for t in tests), "GitHub-only tests still ran"
    assert "status: ERROR exit=1" in capsys.readouterr().out
