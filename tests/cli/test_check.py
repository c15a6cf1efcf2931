"""``auditbook check`` against the demo emulators: a table and exit 0 when everything reads; a principal missing
one permission named (exit 1); params run would refuse refused (exit 2); the simulator's evaluation rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
import yaml
from auditbook.check import check
from auditbook.cli import main
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.demo.moto_extensions import evaluate
from auditbook.sources.aws.permissions import SHIPPED_POLICY, collector_actions, principal_arn

ROLE = "auditbook-check-test"


def test_the_simulator_applies_iam_evaluation_rules():
    allow = {"Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "s3:ListAllMyBuckets"], "Resource": "*"}]}
    deny = {"Statement": {"Effect": "Deny", "Action": "iam:GetCredentialReport", "Resource": "*"}}
    assert evaluate([allow], "iam:GetAccountPasswordPolicy") == "allowed"
    assert evaluate([allow], "IAM:getaccountpasswordpolicy") == "allowed"  # actions are case-insensitive
    assert evaluate([allow, deny], "iam:GetCredentialReport") == "explicitDeny"  # an explicit Deny wins
    assert evaluate([allow], "kms:ListKeys") == "implicitDeny"
    assert evaluate([], "kms:ListKeys") == "implicitDeny"
    conditional = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                                  "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}}]}
    assert evaluate([conditional], "kms:Decrypt") == "implicitDeny"  # no context keys: the condition fails
    scoped = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    assert evaluate([scoped], "s3:GetObject") == "implicitDeny"
    everything_but = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert (evaluate([everything_but], "kms:ListKeys"), evaluate([everything_but], "iam:GetUser")) == \
        ("allowed", "implicitDeny")


def test_the_checked_actions_are_the_shipped_policys_unconditional_reads():
    actions = collector_actions()
    assert "iam:GenerateCredentialReport" in actions and "organizations:ListAccounts" in actions
    assert "kms:Decrypt" not in actions and "s3:GetObject" not in actions  # conditional / resource-scoped
    assert principal_arn("arn:aws:sts::123456789012:assumed-role/Audit/auditbook") == \
        "arn:aws:iam::123456789012:role/Audit"
    assert principal_arn("arn:aws:iam::123456789012:user/ci") == "arn:aws:iam::123456789012:user/ci"


def test_the_demo_checks_clean_by_dry_reads_when_the_caller_cannot_be_simulated(demo_env, capsys):
    rows = check(DEMO_PARAMS)
    assert all(r.ok for r in rows), [r for r in rows if not r.ok]
    simulation = [r for r in rows if r.what == "policy simulation"]
    assert simulation and "NoSuchEntity" in simulation[0].detail and "one read per service" in simulation[0].detail
    assert {r.what.split(" ")[0] for r in rows if r.system == "aws" and "dry read" in r.how} >= {"iam", "s3", "kms"}
    assert {r.what for r in rows if r.system == "github" and r.scope == "demo-fintech"} >= {
        "organization.members:read", "repository.pull_requests:read", "repository.deployments:read"}
    assert main(["check", "--params", str(DEMO_PARAMS)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["system", "scope", "check", "how", "result"]
    assert out.rstrip().endswith(f"check: {len(rows)} of {len(rows)} ok")


def _params_with_role(tmp_path: Path, role_arn: str) -> Path:
    params = yaml.safe_load(DEMO_PARAMS.read_text())
    params["scope"]["aws"]["accounts"][0]["role_arn"] = role_arn
    for name in ("exceptions.yaml", "demo-fintech-logo.svg"):
        shutil.copyfile(DEMO_PARAMS.parent / name, tmp_path / name)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.fixture
def audit_role(demo_env):
    """A role in the demo account carrying the shipped policy without iam:GenerateCredentialReport (removed
    again afterwards: the session's demo run must not see it)."""
    iam = boto3.client("iam", region_name=DEMO_REGION)
    policy = json.loads(SHIPPED_POLICY.read_text())
    reads = policy["Statement"][0]
    reads["Action"] = [a for a in reads["Action"] if a != "iam:GenerateCredentialReport"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT_ID}:root"}}]}
    arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="auditbook-readonly", PolicyDocument=json.dumps(policy))
    try:
        yield arn
    finally:
        iam.delete_role_policy(RoleName=ROLE, PolicyName="auditbook-readonly")
        iam.delete_role(RoleName=ROLE)


def test_a_role_missing_one_permission_is_named_and_exits_1(audit_role, tmp_path, capsys):
    params = _params_with_role(tmp_path, audit_role)
    rows = check(params, ["CC6.1"])
    missing = [r for r in rows if not r.ok]
    assert [(r.system, r.what) for r in missing] == [("aws", "iam (3 of 4 actions)")]
    assert "iam:GenerateCredentialReport (implicitDeny)" in missing[0].detail and missing[0].how == "simulated"
    assert any(r.what == "credentials" and f"assumed-role/{ROLE}/" in r.detail for r in rows)
    assert main(["check", "--params", str(params), "--criteria", "CC6.1"]) == 1
    assert "missing: iam:GenerateCredentialReport" in capsys.readouterr().out


def test_params_run_would_refuse_are_refused_in_one_line(demo_env, tmp_path, capsys):
    bad = tmp_path / "params.yaml"
    bad.write_text("organization: A\norganization: B\n")
    assert main(["check", "--params", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "organization" in err and "twice" in err
    assert main(["check", "--params", str(DEMO_PARAMS), "--criteria", "CC0.0"]) == 2
