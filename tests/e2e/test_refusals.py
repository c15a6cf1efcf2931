"""Bad input is refused in one line, exit status 2, with nothing written."""

from __future__ import annotations

import json

import pytest
import yaml
from auditbook import locker, runner
from auditbook.cli import main
from auditbook.demo.environment import DEMO_PARAMS


@pytest.fixture
def out(tmp_path):
    return tmp_path / "outputs"


def refused(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert expected in err, err
    return err


@pytest.mark.parametrize(("content", "expected"), [
    ("organization: X\nscope: {}\ncolour: blue\n", "unknown key colour"),
    ("organization: X\nscope: {}\ncriteria: {CC6.1: {dormant_days: soon}}\n", "criteria.CC6.1.dormant_days"),
    ("organization: [\n", "invalid YAML"),
    ("organization: X\nscope: {github: {org: acme}}\n", "unknown key scope.github.org"),
    ("organization: X\nscope: {github: {orgs: [{name: acme}, {name: Acme}]}}\n",
     "scope.github.orgs: acme is listed twice"),
    ("organization: X\nscope: {aws: {accounts: [{id: '111111111111'}, {id: '111111111111'}]}}\n",
     "scope.aws.accounts: 111111111111 is listed twice"),
    ("organization: X\nscope: {}\ncriteria: {CC7.2: {incident_repos: [incidents]}}\n",
     "criteria.CC7.2.incident_repos.0"),
    ("organization: X\nscope: {}\ncriteria: {CC9.1: {scanner_exemptions: {infra: [image_scan]}}}\n",
     "criteria.CC9.1.scanner_exemptions"),
])
def test_bad_params(tmp_path, out, capsys, content, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    refused(capsys, ["run", "--params", str(bad), "--period", "2026-Q3", "--out", str(out)], expected)
    assert not out.exists()


@pytest.mark.parametrize(("period", "expected"), [("2026-Q7", "period '2026-Q7'"),
                                                  ("2099-Q1", "has not ended")])
def test_bad_period(repo_root, out, capsys, period, expected):
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", period,
                     "--out", str(out)], expected)
    assert not out.exists()


def test_unknown_criterion(repo_root, out, capsys):
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3",
                     "--criteria", "CC6.9", "--out", str(out)], "unknown criterion 'CC6.9'")
    assert not out.exists()


def test_unreachable_aws_is_refused_before_a_package_is_started(repo_root, out, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "demo")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "demo")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # A1.1 reads AWS only, so the refusal cannot come from the GitHub check, whatever ran before.
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3",
                     "--criteria", "A1.1", "--out", str(out)], "AWS account 123456789012: Could not connect")
    assert not out.exists()


def test_missing_github_token_is_refused_before_a_package_is_started(repo_root, out, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3",
                     "--criteria", "CC8.1", "--out", str(out)], "GitHub credentials: no GitHub token")
    assert not out.exists()


def test_an_org_the_token_cannot_see_is_refused_before_a_package_is_started(demo_env, repo_root, tmp_path, out,
                                                                           capsys):
    params = yaml.safe_load(DEMO_PARAMS.read_text())
    params["report"]["logo"] = str(DEMO_PARAMS.parent / params["report"]["logo"])  # relative to the demo params
    params["exceptions_file"] = None
    params["scope"]["github"]["orgs"].append({"name": "no-such-org", "production_repos": ["api"]})
    path = tmp_path / "two-orgs.yaml"
    path.write_text(yaml.safe_dump(params))
    refused(capsys, ["run", "--params", str(path), "--period", "2026-Q3", "--criteria", "CC8.1", "--out", str(out)],
            "GitHub org no-such-org: GET /orgs/no-such-org: GitHub answered 404")
    assert not out.exists()


# -- the output folder: never inside a package or a run's staging folder ---------------------------
@pytest.mark.parametrize("inside", [".", "reports", "populations/new/deeper"])
def test_output_folder_inside_a_package_is_refused(demo_env, writable_copy, tmp_path, capsys, inside):
    """A package written inside another changed the older one after its seal (verify then failed)."""
    package = writable_copy(tmp_path / "2026-Q3" / "20261128T183216Z")  # writable: the refusal is ours, not EACCES
    target = package / inside
    before = sorted(p.relative_to(package).as_posix() for p in package.rglob("*"))
    err = refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", "--criteria", "A1.1",
                           "--out", str(target)], "is inside the package")
    assert str(package) in err and "manifest.json" in err
    assert sorted(p.relative_to(package).as_posix() for p in package.rglob("*")) == before
    assert locker.verify(package).ok


def test_output_folder_inside_a_staging_folder_is_refused(demo_env, tmp_path, out, capsys):
    staging = tmp_path / "outputs" / "2026-Q3" / ".staging-20261128T183216Z"
    staging.mkdir(parents=True)
    (staging / "run.json").write_text(json.dumps({"run_id": "20261128T183216Z", "period": {"label": "2026-Q3"}}))
    for target in (staging, staging / "reports"):
        refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", "--criteria", "A1.1",
                         "--out", str(target)], "staging folder")
    assert [p.name for p in staging.iterdir()] == ["run.json"]


def test_another_tools_manifest_does_not_make_a_package(tmp_path):
    """A web project's manifest.json (no run id, no period) is not a package: running inside it is fine."""
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "my-pwa", "files": {}}))
    (tmp_path / "run.json").write_text("not json at all")
    runner.refuse_output_inside_package(tmp_path / "outputs")  # no RunError
