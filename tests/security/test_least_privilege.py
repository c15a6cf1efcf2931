"""Least privilege, proven: every AWS operation and GitHub endpoint the collectors called is covered by the
shipped IAM policy / token permission list, and none of them returns secret material.

The calls come from the emulators' request log (``auditbook.demo.faults``) during the session's demo run,
plus one run of every collector (some criteria may not have a notebook yet). IAM policy semantics:
``*`` and ``?`` wildcards in actions and resources, an explicit Deny wins, a conditional statement is
read as the condition says (``kms:ViaService``; ``kms:MessageType`` in the signing policy).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
from auditbook.provenance import RawStore

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
IAM_POLICY = json.loads((POLICY_DIR / "auditbook-readonly-policy.json").read_text())
SIGNING_POLICY = json.loads((POLICY_DIR / "auditbook-signing-policy.json").read_text())
GITHUB = json.loads((POLICY_DIR / "github-token-permissions.json").read_text())
DEMO_BUCKETS = {"CLOUDTRAIL-BUCKET": "demo-fintech-cloudtrail",
                "TERRAFORM-STATE-BUCKET": "demo-fintech-terraform-state"}

# API operations that return secret material or credentials: never called, never allowed.
FORBIDDEN = {
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "secretsmanager:GetRandomPassword",
    "kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair",
    "kms:ReEncryptFrom", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "ssm:GetParameterHistory", "ec2:GetPasswordData", "ecr:GetAuthorizationToken", "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer", "lambda:GetFunction", "rds:DownloadDBLogFilePortion", "logs:GetLogEvents",
    "logs:FilterLogEvents", "iam:CreateAccessKey", "sts:GetSessionToken", "sts:GetFederationToken",
}
WRITE_PREFIXES = ("Create", "Put", "Delete", "Update", "Attach", "Detach", "Modify", "Start", "Stop", "Tag", "Untag",
                  "Enable", "Disable", "Set", "Reset", "Revoke", "Authorize", "Add", "Remove", "Upload", "Restore",
                  "Run", "Invoke", "Send", "Publish", "Rotate", "Cancel", "Register", "Deregister")
# botocore service → IAM service prefix, and the S3 operations whose IAM action has another name.
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing", "sso-admin": "sso"}
S3_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "ListBuckets": "ListAllMyBuckets",
              "GetBucketEncryption": "GetEncryptionConfiguration",
              "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration", "HeadObject": "GetObject",
              "HeadBucket": "ListBucket"}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


def iam_action(call) -> str:
    operation = S3_ACTIONS.get(call.operation, call.operation) if call.service == "s3" else call.operation
    return f"{IAM_PREFIX.get(call.service, call.service)}:{operation}"


def resource(call) -> str:
    if call.service == "s3" and call.operation in ("GetObject", "HeadObject"):
        return f"arn:aws:s3:::{call.path.lstrip('/')}"
    return "*"


def _matches(patterns, value: str) -> bool:
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(value.lower(), _demo(p).lower()) for p in patterns)


def _demo(pattern: str) -> str:
    for placeholder, bucket in DEMO_BUCKETS.items():
        pattern = pattern.replace(placeholder, bucket)
    return pattern


def _applies(statement, action: str, res: str, context: dict[str, str]) -> bool:
    if "Action" in statement and not _matches(statement["Action"], action):
        return False
    if "Resource" in statement and not _matches(statement["Resource"], res):
        return False
    if "NotResource" in statement and _matches(statement["NotResource"], res):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        for key, expected in conditions.items():
            got = context.get(key)
            if operator == "StringEquals":
                hit = got in ([expected] if isinstance(expected, str) else expected)
            elif operator in ("StringLike", "StringNotLike"):
                hit = got is not None and _matches(expected, got)
            else:
                raise AssertionError(f"the test does not evaluate the condition operator {operator}")
            if (operator in ("StringLike", "StringEquals") and not hit) or (operator == "StringNotLike" and hit):
                return False
    return True


def decision(action: str, res: str = "*", context: dict[str, str] | None = None,
             policy: dict | None = None) -> str:
    """IAM evaluation: an explicit Deny wins, then an Allow, else the implicit deny."""
    statements = (policy or IAM_POLICY)["Statement"]
    if any(s["Effect"] == "Deny" and _applies(s, action, res, context or {}) for s in statements):
        return "denied"
    if any(s["Effect"] == "Allow" and _applies(s, action, res, context or {}) for s in statements):
        return "allowed"
    return "not allowed"


@pytest.fixture(scope="module")
def aws_calls(demo_run, demo_env, account, tmp_path_factory):
    """The demo run's AWS calls, and those of every collector run once."""
    from faultcases import AWS_COLLECTORS

    demo_env.faults.aws.clear()
    for collect in AWS_COLLECTORS.values():
        collect(account, RawStore(tmp_path_factory.mktemp("lp") / "raw"))
    return demo_run.calls["aws"] + list(demo_env.faults.aws.calls)


@pytest.fixture(scope="module")
def github_calls(demo_run, demo_env, tmp_path_factory):
    from auditbook.sources.github import connect
    from faultcases import GITHUB_COLLECTORS

    demo_env.faults.github.clear()
    gh = connect()
    for collect in GITHUB_COLLECTORS.values():
        collect(gh, RawStore(tmp_path_factory.mktemp("lp") / "raw"))
    return demo_run.calls["github"] + list(demo_env.faults.github.calls)


def test_the_demo_run_was_recorded(demo_run):
    assert {c.action for c in demo_run.calls["aws"]} >= {"iam:GetCredentialReport", "s3:GetObject",
                                                         "secretsmanager:ListSecrets"}
    assert any(c.operation.startswith("POST /graphql") for c in demo_run.calls["github"])


def test_every_aws_call_is_allowed_by_the_shipped_policy(aws_calls):
    unknown = sorted({c.action for c in aws_calls if c.operation == "unknown"})
    assert not unknown, f"requests the recorder could not name: {unknown}"
    refused = sorted({(iam_action(c), resource(c), decision(iam_action(c), resource(c))) for c in aws_calls
                      if c.action not in NEEDS_NO_PERMISSION and decision(iam_action(c), resource(c)) != "allowed"})
    assert not refused, refused


def test_no_aws_call_returns_secret_material_or_writes(aws_calls):
    called = {iam_action(c) for c in aws_calls}
    assert not called & FORBIDDEN, sorted(called & FORBIDDEN)
    writes = sorted(a for a in called if a.split(":", 1)[1].startswith(WRITE_PREFIXES)
                    and a != "iam:GenerateCredentialReport")
    assert not writes, writes


def test_the_policy_is_read_only_and_denies_secret_material():
    for statement in IAM_POLICY["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        if statement["Effect"] == "Allow":
            assert all("*" not in a for a in actions), f"wildcard actions in {statement['Sid']}"
            assert all(not a.split(":", 1)[1].startswith(WRITE_PREFIXES) or a == "iam:GenerateCredentialReport"
                       for a in actions), statement["Sid"]
    for action in sorted(FORBIDDEN):
        assert decision(action) == "denied", action
    assert decision("kms:Decrypt", context={"kms:ViaService": "s3.us-east-1.amazonaws.com"}) == "allowed"
    assert decision("kms:Decrypt", context={"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}) == "denied"
    assert decision("s3:GetObject", "arn:aws:s3:::demo-fintech-cloudtrail/AWSLogs/x.json.gz") == "allowed"
    assert decision("s3:GetObject", "arn:aws:s3:::payroll-exports/2026-09.csv") == "denied"
    assert decision("iam:ListUsers") == "not allowed", "only what the collectors call"


def _github_allowed(call) -> bool:
    from auditbook.demo.faults import github_template

    request = call.operation if call.operation.startswith("POST /graphql") else \
        f"{call.method} {github_template(call.path)}"
    return any(entry["request"] == request for entry in GITHUB["endpoints"])


def test_every_github_call_is_in_the_token_permission_list(github_calls):
    refused = sorted({c.operation for c in github_calls if not _github_allowed(c)})
    assert not refused, refused
    permissions = {f"{scope}.{name}:{level}" for scope, names in GITHUB["permissions"].items()
                   for name, level in names.items()}
    for entry in GITHUB["endpoints"]:
        assert entry["permission"] is None or entry["permission"] in permissions, entry
    assert all(level == "read" for names in GITHUB["permissions"].values() for level in names.values())


def test_no_github_call_is_forbidden(github_calls):
    from auditbook.demo.faults import github_template

    for call in github_calls:
        request = call.operation if call.operation.startswith("POST /graphql") else \
            f"{call.method} {github_template(call.path)}"
        hits = [f["request"] for f in GITHUB["forbidden"] if fnmatch.fnmatchcase(request, f["request"])]
        assert not hits, (request, hits)
        assert call.method == "GET" or call.operation.startswith("POST /graphql query"), request
    scanning = [c for c in github_calls if c.path.endswith("/secret-scanning/alerts")]
    assert scanning and all("hide_secret=true" in c.query for c in scanning)


def test_the_signing_policy_signs_package_digests_with_one_key_only():
    """The role that signs gets the KMS key's signing operations on that key alone, for digests only: it can
    sign a package's manifest-sha256.txt digest and nothing else, and no other key."""
    key = "SIGNING-KEY-ARN"
    digest = {"kms:MessageType": "DIGEST"}
    for action in ("kms:DescribeKey", "kms:GetPublicKey"):
        assert decision(action, key, policy=SIGNING_POLICY) == "allowed"
    for action in ("kms:Sign", "kms:Verify"):
        assert decision(action, key, digest, policy=SIGNING_POLICY) == "allowed"
        assert decision(action, key, {"kms:MessageType": "RAW"}, policy=SIGNING_POLICY) == "not allowed"
        assert decision(action, "arn:aws:kms:us-east-1:123456789012:key/other", digest,
                        policy=SIGNING_POLICY) == "not allowed"
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:CreateKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"):
        assert decision(action, key, digest, policy=SIGNING_POLICY) == "not allowed"
