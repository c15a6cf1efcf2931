"""The demo account's credentials and secrets (CC6.2): Secrets Manager, KMS, service users' keys.

Created through the real APIs, backdated with freezegun; the few fields moto cannot set through
its API (a secret's rotation Lambda, whose invocation would need Docker; an access key's last
use) are set on moto's in-memory state. Rotation history and secret reads go into the trail.
The deliberate deviations are declared next to the data that makes them (:func:`truth`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun import freeze_time

from auditbook.demo.trail import Trail, days, role_identity, service_identity, user_identity

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROTATION_LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:secrets-rotation"
QUARTER = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class DemoSecret:
    name: str
    created: str
    rotation_days: int | None  # None: rotation never enabled
    last_rotated: str | None = None
    kms_alias: str | None = None
    policy: dict[str, Any] | None = None
    # rotation outcomes in the trail: (time, "succeeded" | "failed")
    rotations: list[tuple[str, str]] = field(default_factory=list)
    readers: list[str] = field(default_factory=list)  # roles / users expected to read it (params)
    deviations: list[tuple[str, str]] = field(default_factory=list)  # (test id, why)


def _policy(principal: Any, condition: dict[str, Any] | None = None, sid: str = "PartnerRead") -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal,
                                 "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


SECRETS = [
    DemoSecret("prod/payments/db", "2024-03-01T09:00:00", 30, "2026-09-21T03:00:00", "alias/payments-data",
               rotations=[("2026-07-23T03:00:00", "succeeded"), ("2026-08-22T03:00:00", "succeeded"),
                          ("2026-09-21T03:00:00", "succeeded")],
               readers=["payments-api-task"]),
    DemoSecret("prod/ledger/db", "2024-03-01T09:30:00", 30, "2026-09-10T03:00:00",
               rotations=[("2026-07-11T03:00:00", "succeeded"), ("2026-08-10T03:00:00", "failed"),
                          ("2026-08-12T09:00:00", "succeeded"), ("2026-09-10T03:00:00", "succeeded")],
               readers=["ledger-service-task"],
               deviations=[("CC6.2-ROTATION-FAILURES", "rotation failed 2026-08-10; next success 54 h later")]),
    # Negative controls: a failure fixed 2 h later; a '*' policy restricted to the organization.
    DemoSecret("prod/payments/stripe-api-key", "2025-01-15T10:00:00", 60, "2026-09-18T04:00:00",
               policy=_policy("*", {"StringEquals": {"aws:PrincipalOrgID": "o-demofintech"}}, "OrgOnly"),
               rotations=[("2026-07-20T04:00:00", "succeeded"), ("2026-09-18T02:00:00", "failed"),
                          ("2026-09-18T04:00:00", "succeeded")],
               readers=["payments-api-task"]),
    DemoSecret("prod/reporting/warehouse", "2025-06-02T10:00:00", 30, "2026-03-15T00:00:00",
               readers=["reporting-etl"],
               deviations=[("CC6.2-SECRET-ROTATION", "rotation enabled but the secret was last rotated "
                                                     "2026-03-15, 200 days before period end")]),
    DemoSecret("prod/web/session-signing-key", "2025-11-03T10:00:00", None,
               deviations=[("CC6.2-SECRET-ROTATION", "automatic rotation never enabled")]),
    DemoSecret("prod/partner/sftp-credentials", "2025-09-01T10:00:00", 90, "2026-08-25T05:00:00",
               policy=_policy({"AWS": "*"}),
               rotations=[("2026-08-25T05:00:00", "succeeded")],
               deviations=[("CC6.2-SECRET-ACCESS-POLICY", "resource policy grants GetSecretValue to any AWS "
                                                          "principal, no condition")]),
    # Negative control: rotation enabled, never rotated, created 6 days before period end.
    DemoSecret("prod/ledger/api-token", "2026-09-25T10:00:00", 90, None),
]


@dataclass
class ServiceUser:
    name: str
    created: str
    keys: list[tuple[str, str | None]]  # (created, last used)
    deviations: list[tuple[str, str]] = field(default_factory=list)
    reads: str | None = None  # the secret its inline policy lets it read


SERVICE_USERS = [
    ServiceUser("reporting-etl", "2025-08-20T10:00:00", [("2025-08-27T00:00:00", "2026-09-29T02:00:00")],
                [("CC6.2-KEY-AGE", "access key created 2025-08-27, 400 days old at period end"),
                 ("CC6.1-USER-POLICIES", "inline policy read-secrets on the user, not through a group")],
                reads="prod/reporting/warehouse"),
    ServiceUser("analytics-export", "2026-07-10T10:00:00", [("2026-07-10T10:00:00", "2026-08-02T00:00:00")],
                [("CC6.2-KEY-UNUSED", "access key last used 2026-08-02, 60 days before period end")]),
    ServiceUser("metrics-shipper", "2026-09-01T10:00:00",
                [("2026-09-01T10:00:00", "2026-09-30T12:00:00"), ("2026-09-15T10:00:00", "2026-09-30T12:00:00")],
                [("CC6.2-KEY-COUNT", "two active access keys")]),
    # Negative control: a 30-day-old key in use.
    ServiceUser("payments-batch", "2026-09-01T00:00:00", [("2026-09-01T00:00:00", "2026-09-30T23:00:00")]),
]
# The service users of demo/aws.py use their keys every day (their users are not changed otherwise).
EXISTING_KEY_USE = {"ci-deployer": "2026-09-30T18:00:00", "backup-agent": "2026-09-30T01:00:00"}

SERVICE_TRUST = {"ecs": "ecs-tasks.amazonaws.com", "lambda": "lambda.amazonaws.com"}
ROLES = {  # role → (trusted service, secrets its inline policy may read; "*" = all)
    "payments-api-task": ("ecs", ["prod/payments/db", "prod/payments/stripe-api-key"]),
    "ledger-service-task": ("ecs", ["prod/ledger/db", "prod/ledger/api-token"]),
    "secrets-rotation": ("lambda", ["*"]),  # approved secret reader (params secret_reader_principals)
}
# (alias, key spec, key usage, rotation enabled, created, why it deviates)
KMS_KEYS = [
    ("alias/payments-data", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", True, "2024-03-01T08:00:00", ""),
    ("alias/ledger-backups", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", False, "2024-05-10T08:00:00",
     "customer-managed encryption key with automatic rotation off"),
    ("alias/release-signing", "RSA_2048", "SIGN_VERIFY", False, "2025-02-03T08:00:00", ""),  # not rotatable
]
# A human IAM user reading the payments database secret: (user, secret, times); plus negative controls.
UNEXPECTED_READS = [("carol.eng", "prod/payments/db", ["2026-08-19T10:14:07", "2026-08-19T10:16:52"])]
DENIED_READS = [("trent.sales", "prod/ledger/db", "2026-09-08T15:02:00")]  # AccessDenied: read nothing
BEFORE_PERIOD_READS = [("frank.eng", "prod/payments/db", "2026-06-25T11:00:00")]  # outside the period


def truth() -> list[dict[str, str]]:
    rows = [{"test": test, "resource": f"{ACCOUNT}:{s.name}", "why": why}
            for s in SECRETS for test, why in s.deviations]
    rows += [{"test": test, "resource": f"{ACCOUNT}:{u.name}" if test in ("CC6.2-KEY-COUNT", "CC6.1-USER-POLICIES")
              else f"{ACCOUNT}:{u.name}/access_key_1", "why": why}
             for u in SERVICE_USERS for test, why in u.deviations]
    rows += [{"test": "CC6.2-KMS-ROTATION", "resource": f"{ACCOUNT}:{alias}", "why": why}
             for alias, *_, why in KMS_KEYS if why]
    rows += [{"test": "CC6.2-SECRET-READERS", "resource": f"{ACCOUNT}:{secret}:{user}",
              "why": f"IAM user {user} read {secret} {len(times)} times; not an expected reader"}
             for user, secret, times in UNEXPECTED_READS]
    # Not seeded here: demo/aws.py's legacy-automation role holds an inline Allow * on *, which reads every secret.
    rows.append({"test": "CC6.2-SECRET-ACCESS-POLICY", "resource": f"{ACCOUNT}:legacy-automation",
                 "why": "inline policy allows every action on every resource, so every secret can be read"})
    return sorted(rows, key=lambda d: (d["test"], d["resource"]))


def expected_readers() -> dict[str, list[str]]:
    """The ``expected_readers`` params the demo's data is consistent with (params/demo.yaml holds a copy)."""
    return {s.name: s.readers for s in SECRETS if s.readers}


def _client(service: str, endpoint: str):  # noqa: ANN202 - a boto3 client
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def seed(endpoint: str, trail: Trail) -> None:
    arns = _seed_kms_and_secrets(endpoint)
    _seed_iam(endpoint, arns)
    _seed_trail(trail, arns)


def _seed_kms_and_secrets(endpoint: str) -> dict[str, str]:
    from moto.secretsmanager.models import secretsmanager_backends

    kms, sm = _client("kms", endpoint), _client("secretsmanager", endpoint)
    arns: dict[str, str] = {}
    with freeze_time(_t("2024-01-01T00:00:00")) as clock:
        for alias, spec, usage, rotate, created, _ in KMS_KEYS:
            clock.move_to(_t(created))
            key = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=alias.split("/", 1)[1])["KeyMetadata"]
            kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
            if rotate:
                kms.enable_key_rotation(KeyId=key["KeyId"])
        for secret in sorted(SECRETS, key=lambda s: s.created):
            clock.move_to(_t(secret.created))
            extra = {"KmsKeyId": secret.kms_alias} if secret.kms_alias else {}
            arns[secret.name] = sm.create_secret(Name=secret.name, SecretString="demo-placeholder-not-a-secret",
                                                 Tags=[{"Key": "owner", "Value": secret.name.split("/")[1]}],
                                                 **extra)["ARN"]
            if secret.policy:
                sm.put_resource_policy(SecretId=secret.name, ResourcePolicy=json.dumps(secret.policy))
            if secret.rotation_days and secret.last_rotated:
                clock.move_to(_t(secret.last_rotated))
                # No Lambda ARN here: moto would invoke it (Docker). The ARN is set on the state below.
                sm.rotate_secret(SecretId=secret.name, RotationRules={"AutomaticallyAfterDays": secret.rotation_days})
    backend = secretsmanager_backends[ACCOUNT][REGION]
    for secret in SECRETS:
        state = backend.secrets[secret.name]
        if secret.rotation_days:
            state.rotation_requested = True
            state.rotation_enabled = True
            state.auto_rotate_after_days = secret.rotation_days
            state.rotation_lambda_arn = ROTATION_LAMBDA
            last = _t(secret.last_rotated or secret.created)
            state.last_rotation_date = int(last.timestamp()) if secret.last_rotated else None
            state.next_rotation_date = int((last + timedelta(days=secret.rotation_days)).timestamp())
    return arns


def _inline_read_policy(arns: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
         "Resource": arns}]})


def _seed_iam(endpoint: str, arns: dict[str, str]) -> None:
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    iam = _client("iam", endpoint)
    backend = iam_backends[ACCOUNT]["global"]
    with freeze_time(_t("2024-03-01T08:30:00")) as clock:
        for role, (service, secrets) in ROLES.items():
            trust = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": SERVICE_TRUST[service]}, "Action": "sts:AssumeRole"}]}
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
            resources = ["*"] if secrets == ["*"] else [arns[s] for s in secrets]
            iam.put_role_policy(RoleName=role, PolicyName="read-secrets", PolicyDocument=_inline_read_policy(resources))
        for user in sorted(SERVICE_USERS, key=lambda u: u.created):
            clock.move_to(_t(user.created))
            iam.create_user(UserName=user.name)  # no console password, no group: a service user
            if user.reads:
                iam.put_user_policy(UserName=user.name, PolicyName="read-secrets",
                                    PolicyDocument=_inline_read_policy([arns[user.reads]]))
            for created, _ in user.keys:
                clock.move_to(_t(created))
                iam.create_access_key(UserName=user.name)
    last_use = {u.name: [used for _, used in u.keys] for u in SERVICE_USERS}
    last_use.update({name: [used] for name, used in EXISTING_KEY_USE.items()})
    for name, uses in last_use.items():
        for key, used in zip(backend.users[name].access_keys, uses, strict=False):
            if used:
                key.last_used = AccessKeyLastUsed(timestamp=_t(used), service="secretsmanager", region=REGION)


def _seed_trail(trail: Trail, arns: dict[str, str]) -> None:
    """Rotation history (service events) and secret reads (GetSecretValue) around the quarter."""
    rotation = service_identity("secretsmanager.amazonaws.com")
    for secret in SECRETS:
        for when, outcome in secret.rotations:
            at = _t(when)
            started = trail.record(at - timedelta(minutes=3), "secretsmanager.amazonaws.com", "RotationStarted",
                                   rotation, read_only=False, event_type="AwsServiceEvent")
            done = trail.record(at, "secretsmanager.amazonaws.com",
                                "RotationSucceeded" if outcome == "succeeded" else "RotationFailed",
                                rotation, read_only=False, event_type="AwsServiceEvent")
            for rec in (started, done):
                rec["additionalEventData"] = {"SecretId": arns[secret.name]}
    rng = random.Random(62)
    readers = {"payments-api-task": "prod/payments/db", "ledger-service-task": "prod/ledger/db"}
    for day in days(QUARTER[0].date() - timedelta(days=14), QUARTER[1].date() + timedelta(days=7)):
        for role, secret in readers.items():
            at = datetime(day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), tzinfo=UTC)
            _read(trail, at, role_identity(ACCOUNT, role, f"ecs-task-{rng.randint(10**5, 10**6)}"), arns[secret])
        if day.weekday() == 0:
            at = datetime(day.year, day.month, day.day, 6, rng.randint(0, 59), tzinfo=UTC)
            _read(trail, at, role_identity(ACCOUNT, "payments-api-task", "ecs-task-deploy"),
                  arns["prod/payments/stripe-api-key"])
        at = datetime(day.year, day.month, day.day, 2, rng.randint(0, 59), tzinfo=UTC)
        _read(trail, at, user_identity(ACCOUNT, "reporting-etl"), arns["prod/reporting/warehouse"])
    for user, secret, times in UNEXPECTED_READS:
        for when in times:
            _read(trail, _t(when), user_identity(ACCOUNT, user), secret)  # by name, as the CLI user typed it
    for user, secret, when in DENIED_READS:
        _read(trail, _t(when), user_identity(ACCOUNT, user), secret, error="AccessDenied")
    for user, secret, when in BEFORE_PERIOD_READS:
        _read(trail, _t(when), user_identity(ACCOUNT, user), arns[secret])


def _read(trail: Trail, at: datetime, identity: dict[str, Any], secret_id: str, error: str | None = None) -> None:
    trail.record(at, "secretsmanager.amazonaws.com", "GetSecretValue", identity, read_only=True,
                 params={"secretId": secret_id}, error=error)
