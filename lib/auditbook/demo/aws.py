"""The demo company's AWS account, served by an in-process moto server.

The collectors reach it only through ``AWS_ENDPOINT_URL``. History is backdated with freezegun
so ages are realistic; the few fields moto cannot set through its API (console last sign-in,
root MFA and keys) are set on moto's in-memory state, which is why the server runs in-process.
The deliberate deviations are declared next to the data that makes them (``demo_truth``).
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import boto3
import requests
from freezegun import freeze_time

from auditbook.demo import (
    aws_config,
    aws_monitoring,
    aws_organization,
    aws_resilience,
    aws_secrets,
    moto_config,
    moto_extensions,
    people,
    truth_yaml,
)
from auditbook.demo.trail import (
    PIPELINE_ROLE,
    TRAIL_BUCKET,
    TRAIL_NAME,
    TRAIL_PREFIX,
    Trail,
    business_hours,
    days,
    deliver,
    digest_signing_key,
    public_key_record,
    role_identity,
    service_identity,
    user_identity,
)

DEMO_ACCOUNT_ID = "123456789012"  # moto's default account
DEMO_REGION = "us-east-1"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ROOT_ROW_FIELDS = 22


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class DemoUser:
    name: str
    created: str
    groups: list[str] = field(default_factory=list)
    console: bool = True
    mfa: bool = True
    last_sign_in: str | None = "2026-09-24T09:12:00"
    access_keys: list[str] = field(default_factory=list)  # creation times
    attached: list[str] = field(default_factory=list)  # managed policies attached directly
    deviations: list[tuple[str, str]] = field(default_factory=list)  # (test id, why)


ENGINEER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ec2:Describe*", "ecs:*", "logs:Get*", "logs:Describe*",
                                       "cloudwatch:Get*", "s3:GetObject", "s3:ListBucket"], "Resource": "*"},
    ],
}
FULL_ADMIN_INLINE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT_ID}:root"},
                   "Action": "sts:AssumeRole"}],
}

GROUPS = {
    "Admins": [ADMIN_POLICY],
    "Engineers": ["EngineerAccess"],
    "ReadOnly": [READ_ONLY_POLICY],
}

USERS = [
    DemoUser("alice.admin", "2024-02-01T10:00:00", ["Admins"]),
    DemoUser("bob.ops", "2024-06-11T10:00:00", ["Admins"], last_sign_in="2026-09-29T17:40:00"),
    DemoUser("carol.eng", "2024-03-04T10:00:00", ["Engineers"]),
    DemoUser("dan.dev", "2024-09-16T10:00:00", ["Engineers"], attached=[ADMIN_POLICY],
             deviations=[("CC6.1-ADMIN", "AdministratorAccess attached directly, outside the Admins group"),
                         ("CC6.1-USER-POLICIES", "AdministratorAccess attached to the user, not through a group")]),
    DemoUser("erin.eng", "2025-01-13T10:00:00", ["Engineers"], last_sign_in="2026-08-30T08:05:00"),
    DemoUser("frank.eng", "2025-04-07T10:00:00", ["Engineers"]),
    DemoUser("grace.sre", "2025-05-19T10:00:00", ["Engineers"], last_sign_in="2026-07-20T11:00:00"),
    DemoUser("heidi.data", "2025-08-04T10:00:00", ["ReadOnly"], last_sign_in="2026-06-02T10:00:00",
             deviations=[("CC6.1-DORMANT", "last console sign-in 2026-06-02, 120 days before period end; the "
                                           "access review kept it (CC6.1-REVIEW-EFFECTIVE)")]),
    DemoUser("ivan.audit", "2025-10-20T10:00:00", ["ReadOnly"], last_sign_in="2026-09-02T14:30:00"),
    DemoUser("mallory.contractor", "2026-02-09T10:00:00", ["Engineers"], mfa=False,
             deviations=[("CC6.1-MFA", "contractor console user never enrolled an MFA device")]),
    DemoUser("trent.sales", "2025-11-03T10:00:00", ["ReadOnly"], mfa=False, last_sign_in="2026-09-15T09:00:00",
             deviations=[("CC6.1-MFA", "MFA device removed and never replaced")]),
    DemoUser("oscar.former", "2024-05-06T10:00:00", ["Engineers"], last_sign_in="2026-05-20T16:45:00",
             deviations=[("CC6.1-DORMANT", "last console sign-in 2026-05-20, 133 days before period end")]),
    DemoUser("walter.intern", "2026-04-02T10:00:00", ["ReadOnly"], last_sign_in=None,
             deviations=[("CC6.1-DORMANT", "console password issued 2026-04-02, never used")]),
    # Negative controls: must not be reported.
    DemoUser("peggy.newhire", "2026-09-21T10:00:00", ["Engineers"], last_sign_in=None),  # new, within 90 days
    DemoUser("ci-deployer", "2024-02-01T12:00:00", [], console=False, mfa=False, last_sign_in=None,
             access_keys=["2026-08-01T00:00:00"]),  # service user: no console, so no MFA test
    DemoUser("backup-agent", "2024-02-01T12:00:00", [], console=False, mfa=False, last_sign_in=None,
             access_keys=["2026-07-15T00:00:00"]),
]

ROLES: list[dict[str, Any]] = [
    {"name": "BreakGlassAdmin", "created": "2024-02-01T11:00:00", "attached": [ADMIN_POLICY], "inline": None},
    {"name": "OrganizationAccountAccessRole", "created": "2024-01-15T09:00:00", "attached": [ADMIN_POLICY],
     "inline": None},
    {"name": "ci-deploy-role", "created": "2024-02-01T12:00:00", "attached": ["EngineerAccess"], "inline": None},
    {"name": "legacy-automation", "created": "2023-11-20T09:00:00", "attached": [], "inline": FULL_ADMIN_INLINE,
     "deviation": ("CC6.1-ADMIN", "inline policy allows every action on every resource; role not approved")},
]

PASSWORD_POLICY = {
    "MinimumPasswordLength": 8,  # deviation: the standard asks for 14
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
    "AllowUsersToChangePassword": True,
}
ROOT = {"mfa": True, "access_key_active": True, "access_key_created": "2023-06-01T08:00:00"}


def demo_truth() -> list[dict[str, str]]:
    """Every deviation the demo seeds, as the reports must find them: (test, resource, why)."""
    acct = DEMO_ACCOUNT_ID
    trail = Trail(DEMO_ACCOUNT_ID)
    truth = seed_activity(trail) + [
        {"test": "CC8.1-ARTIFACTS", "resource": f"{acct}:{name}", "why": why}
        for name, (_, _, why) in ECR_REPOSITORIES.items() if why
    ]
    truth += [{"test": test, "resource": f"{acct}:{u.name}", "why": why} for u in USERS for test, why in u.deviations]
    truth += [{"test": r["deviation"][0], "resource": f"{acct}:{r['name']}", "why": r["deviation"][1]}
              for r in ROLES if "deviation" in r]
    if not ROOT["mfa"]:
        truth.append({"test": "CC6.1-ROOT", "resource": f"{acct}:root", "why": "root has no MFA"})
    if ROOT["access_key_active"]:
        truth.append({"test": "CC6.1-ROOT", "resource": f"{acct}:root", "why": "root access key active"})
    truth.append({"test": "CC6.1-PASSWORD-POLICY", "resource": f"{acct}:MinimumPasswordLength",
                  "why": "minimum length 8, standard 14"})
    truth += aws_secrets.truth()
    truth += aws_monitoring.truth()  # CC7.1, CC7.2 alarm firings, and the CC8.1 manual UpdateTrail
    truth += aws_resilience.truth()  # CC9.1 IaC and container findings, A1.1, A1.2
    truth += aws_config.truth()  # in-period changes only AWS Config history shows (CC7.1-TRAIL, A1.1-ASG)
    truth += aws_organization.truth()  # CC6.1-ACCOUNT-SCOPE: a member account missing from scope
    return truth_yaml.in_order(truth)


def _install_root_row() -> None:
    """moto's credential report lacks the ``<root_account>`` row real AWS always has: add it.

    Built from moto's account summary state (AccountMFAEnabled / AccountAccessKeysPresent),
    which the demo sets, so the emulator stays consistent with GetAccountSummary.
    """
    from moto.iam import models

    if getattr(models.IAMBackend.get_credential_report, "_auditbook_root", False):
        return
    original = models.IAMBackend.get_credential_report

    def get_credential_report(self: Any) -> str:
        report = original(self)
        header, _, rows = report.partition("\n")
        summary = self.account_summary
        key_active = "true" if summary._account_access_keys_present else "false"
        key_rotated = getattr(self, "_auditbook_root_key_created", "N/A")
        created = getattr(self, "_auditbook_root_created", "2023-01-01T00:00:00+00:00")
        root = [
            "<root_account>", f"arn:aws:iam::{self.account_id}:root", created, "not_supported",
            getattr(self, "_auditbook_root_last_used", "no_information"), "not_supported", "not_supported",
            "true" if summary._account_mfa_enabled else "false",
            key_active, key_rotated if key_active == "true" else "N/A", "N/A", "N/A", "N/A",
            "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A",
        ]
        assert len(root) == ROOT_ROW_FIELDS
        return f"{header}\n{','.join(root)}\n{rows}"

    get_credential_report._auditbook_root = True  # type: ignore[attr-defined]
    models.IAMBackend.get_credential_report = get_credential_report  # type: ignore[method-assign]
    _install_report_time()


# When the demo account's credential report was generated: moto answers a fixed 2015 time. None: at the last
# GenerateCredentialReport, as AWS does for a report it (re)generates; a test sets an old time to see it refused.
REPORT_GENERATED_AT: dict[str, datetime | None] = {"override": None}


def _install_report_time() -> None:
    from moto.core.responses import ActionResult
    from moto.iam import models
    from moto.iam.responses import IamResponse

    original = models.IAMBackend.generate_report

    def generate_report(self: Any) -> None:
        original(self)
        self._auditbook_generated_at = datetime.now(UTC)

    def get_credential_report(self: Any) -> Any:
        result = {"Content": self.backend.get_credential_report(), "ReportFormat": "text/csv"}
        when = REPORT_GENERATED_AT["override"] or getattr(self.backend, "_auditbook_generated_at", None)
        result["GeneratedTime"] = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return ActionResult(result)

    models.IAMBackend.generate_report = generate_report  # type: ignore[method-assign]
    IamResponse.get_credential_report = get_credential_report  # type: ignore[method-assign]


def seed_iam(endpoint: str) -> None:
    """Create the demo account's IAM history through the real API, backdated."""
    from moto.iam.models import iam_backends

    _install_root_row()
    iam = _client("iam", endpoint)
    backend = iam_backends[DEMO_ACCOUNT_ID]["global"]
    with freeze_time(_t("2024-01-10T09:00:00")) as clock:
        created = iam.create_policy(PolicyName="EngineerAccess", PolicyDocument=json.dumps(ENGINEER_POLICY))
        policy_arn = {"EngineerAccess": created["Policy"]["Arn"]}
        for group, policies in GROUPS.items():
            iam.create_group(GroupName=group)
            for pol in policies:
                iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn.get(pol, pol))
        iam.update_account_password_policy(**{k: v for k, v in PASSWORD_POLICY.items()})
        for role in sorted(ROLES, key=lambda r: r["created"]):
            clock.move_to(_t(role["created"]))
            iam.create_role(RoleName=role["name"], AssumeRolePolicyDocument=json.dumps(TRUST_ACCOUNT))
            for pol in role["attached"]:
                iam.attach_role_policy(RoleName=role["name"], PolicyArn=policy_arn.get(pol, pol))
            if role["inline"]:
                iam.put_role_policy(RoleName=role["name"], PolicyName="legacy-full-access",
                                    PolicyDocument=json.dumps(role["inline"]))
        for user in sorted(USERS, key=lambda u: u.created):
            clock.move_to(_t(user.created))
            iam.create_user(UserName=user.name)
            for group in user.groups:
                iam.add_user_to_group(GroupName=group, UserName=user.name)
            for pol in user.attached:
                iam.attach_user_policy(UserName=user.name, PolicyArn=pol)
            if user.console:
                iam.create_login_profile(UserName=user.name, Password="Demo-Password-Not-A-Secret-1!")
            if user.mfa:
                device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user.name)["VirtualMFADevice"]
                serial = device["SerialNumber"]
                iam.enable_mfa_device(UserName=user.name, SerialNumber=serial,
                                      AuthenticationCode1="123456", AuthenticationCode2="654321")
            for created in user.access_keys:
                clock.move_to(_t(created))
                iam.create_access_key(UserName=user.name)
            if user.last_sign_in:
                backend.users[user.name].password_last_used = _t(user.last_sign_in)
    backend.account_summary._account_mfa_enabled = 1 if ROOT["mfa"] else 0
    backend.account_summary._account_access_keys_present = 1 if ROOT["access_key_active"] else 0
    backend._auditbook_root_key_created = f"{ROOT['access_key_created']}+00:00"


# name → (tag mutability, scan on push, why it deviates)
ECR_REPOSITORIES: dict[str, tuple[str, bool, str]] = {
    "payments-api": ("IMMUTABLE", True, ""),
    "ledger-service": ("IMMUTABLE", True, ""),
    "web-app": ("MUTABLE", True, "tags are mutable: a released tag can be overwritten by a different image"),
}
HUMAN_READERS = ["alice.admin", "bob.ops", "carol.eng", "erin.eng", "frank.eng", "grace.sre", "ivan.audit"]
READ_CALLS = [("ec2.amazonaws.com", "DescribeInstances"), ("s3.amazonaws.com", "ListBuckets"),
              ("logs.amazonaws.com", "GetLogEvents"), ("cloudwatch.amazonaws.com", "GetMetricData"),
              ("ecs.amazonaws.com", "DescribeServices"), ("rds.amazonaws.com", "DescribeDBInstances")]
PIPELINE_WRITES = [("ecs.amazonaws.com", "UpdateService"), ("ecr.amazonaws.com", "PutImage"),
                   ("cloudformation.amazonaws.com", "UpdateStack"), ("lambda.amazonaws.com", "UpdateFunctionCode")]
HISTORY_DAYS = (date(2026, 6, 1), date(2026, 10, 15))  # trail files around the demo quarter


def seed_activity(trail: Trail) -> list[dict[str, str]]:
    """A quarter of routine API activity plus the seeded manual changes; returns their truth."""
    rng = random.Random(5)
    acct = trail.account_id
    for day in days(*HISTORY_DAYS):
        for _ in range(rng.randint(3, 6)):
            who = rng.choice(HUMAN_READERS)
            source, name = rng.choice(READ_CALLS)
            trail.record(business_hours(rng, day), source, name, user_identity(acct, who), read_only=True)
        trail.record(business_hours(rng, day), "signin.amazonaws.com", "ConsoleLogin",
                     user_identity(acct, rng.choice(HUMAN_READERS)), read_only=False,
                     event_type="AwsConsoleSignIn")
        if day.weekday() < 5:
            for _ in range(rng.randint(1, 3)):
                source, name = rng.choice(PIPELINE_WRITES)
                trail.record(business_hours(rng, day), source, name,
                             role_identity(acct, PIPELINE_ROLE, f"gha-{rng.randint(10**6, 10**7)}"), read_only=False)
        trail.record(business_hours(rng, day), "sts.amazonaws.com", "AssumeRole",
                     service_identity("ecs-tasks.amazonaws.com"), read_only=True)
        trail.record(business_hours(rng, day), "kms.amazonaws.com", "GenerateDataKey",
                     service_identity("s3.amazonaws.com"), read_only=True)
    truth = []
    manual = [
        (datetime(2026, 8, 14, 16, 22, tzinfo=UTC), "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
         user_identity(acct, "dan.dev"), {"groupId": "sg-0payments", "ipPermissions": {"items": [{"fromPort": 5432}]}},
         "security group opened to the database port from the console, outside the pipeline"),
        (datetime(2026, 9, 3, 2, 41, tzinfo=UTC), "rds.amazonaws.com", "ModifyDBInstance",
         role_identity(acct, "BreakGlassAdmin", "grace.sre"), {"dBInstanceIdentifier": "ledger-prod",
                                                                "allocatedStorage": 800},
         "break-glass role used to resize the ledger database by hand at night"),
    ]
    for when, source, name, identity, params, why in manual:
        rec = trail.record(when, source, name, identity, read_only=False, params=params)
        truth.append({"test": "CC8.1-MANUAL-CHANGE", "resource": f"{acct}:{rec['eventID']}",
                      "why": f"{name} by {identity['arn'].rsplit('/', 1)[-1]}: {why}"})
    # Not deviations: a denied attempt changes nothing; a human change before the period is out of scope.
    trail.record(datetime(2026, 8, 20, 10, 5, tzinfo=UTC), "iam.amazonaws.com", "AttachUserPolicy",
                 user_identity(acct, "mallory.contractor"), read_only=False, error="AccessDenied",
                 params={"userName": "mallory.contractor"})
    trail.record(datetime(2026, 6, 28, 15, 0, tzinfo=UTC), "ec2.amazonaws.com", "RevokeSecurityGroupIngress",
                 user_identity(acct, "bob.ops"), read_only=False, params={"groupId": "sg-0legacy"})
    return truth


def seed_ecr(endpoint: str) -> None:
    ecr = _client("ecr", endpoint)
    for name, (mutability, scan, _) in ECR_REPOSITORIES.items():
        ecr.create_repository(repositoryName=name, imageTagMutability=mutability,
                              imageScanningConfiguration={"scanOnPush": scan})


def seed_trail(endpoint: str, trail: Trail) -> None:
    """The trail itself and its bucket, then every log file and digest file the trail delivered (its digest
    signing key's public part served by ``cloudtrail:ListPublicKeys``)."""
    moto_extensions.install()
    moto_extensions.publish_public_keys(trail.account_id, [public_key_record(digest_signing_key())])
    s3 = _client("s3", endpoint)
    s3.create_bucket(Bucket=TRAIL_BUCKET, ObjectLockEnabledForBucket=True)  # immutable logs (CC7.1)
    ct = _client("cloudtrail", endpoint)
    ct.create_trail(Name=TRAIL_NAME, S3BucketName=TRAIL_BUCKET, S3KeyPrefix=TRAIL_PREFIX, IsMultiRegionTrail=True,
                    EnableLogFileValidation=True, IncludeGlobalServiceEvents=True)
    ct.start_logging(Name=TRAIL_NAME)
    aws_monitoring.configure_trail(s3, ct)
    deliver(trail)


def _client(service: str, endpoint: str):  # noqa: ANN202 - a boto3 client
    return boto3.client(service, endpoint_url=endpoint, region_name=DEMO_REGION,
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def _install_query_engines() -> None:
    """Athena queries run on DuckDB, and CloudTrail Lake exists (moto has neither): the events engines."""
    from auditbook.demo import moto_athena, moto_lake

    for engine in (moto_athena, moto_lake):
        engine.install()
        engine.reset()


class DemoAws:
    """An in-process moto server on 127.0.0.1 with a port chosen at start."""

    def __init__(self) -> None:
        # AWS managed policies (AdministratorAccess...) exist only when moto loads them at start.
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""

    def start(self) -> DemoAws:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        moto_config.reset()
        _install_query_engines()
        trail = Trail(DEMO_ACCOUNT_ID)
        seed_iam(self.endpoint)
        aws_organization.seed(self.endpoint)
        seed_activity(trail)
        aws_secrets.seed(self.endpoint, trail)
        people.seed(self.endpoint, trail)
        seed_ecr(self.endpoint)
        aws_monitoring.seed(self.endpoint, trail)
        aws_resilience.seed(self.endpoint)
        aws_config.record_calls(trail)
        from auditbook.demo import snapshots as demo_snapshots  # it names this module's account

        demo_snapshots.record_calls(self.endpoint, trail)
        seed_trail(self.endpoint, trail)
        aws_config.seed(self.endpoint)
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def env(self) -> dict[str, str]:
        """How a collector (or a user's shell) is pointed at the demo account: standard variables only."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": DEMO_REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


@contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


TRUTH_PATH = truth_yaml.TRUTH_DIR / "aws.yaml"


def write_truth() -> None:
    TRUTH_PATH.write_text(truth_yaml.render(
        "# Generated by `python -m auditbook.demo.aws`: every deviation the demo AWS account seeds.\n",
        demo_truth(), width=120), encoding="utf-8")


if __name__ == "__main__":
    write_truth()
