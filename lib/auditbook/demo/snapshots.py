"""The demo company's daily snapshots, and the configuration that changed inside the quarter between them.

The company ran ``auditbook snapshot`` every morning for part of the quarter, with a few mornings missed.
Configuration changed in between and was put back before the quarterly run: a console user without MFA for
three days, a KMS key's rotation switched off for four, a production branch without protection for a week.
The quarterly run reads none of that at collection; the snapshots show it, on the days they were taken.

Each snapshot is a real ``snapshots.take`` against the emulators, on a clock set to that morning, with the
emulators' state as it was then (each change applied through the API, then undone). The AWS changes are on the
trail as well (:func:`record_calls`): the quarterly run replays them between the snapshots' readings, so the
KMS key's rotation timeline shows the exact hours it was off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from freezegun import freeze_time

from auditbook import snapshots
from auditbook.demo import truth_yaml
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.demo.github.company import ORG
from auditbook.demo.trail import PIPELINE_ROLE, Trail, role_identity, user_identity

FIRST, LAST = date(2026, 8, 10), date(2026, 8, 31)
MISSED = {date(2026, 8, 18), date(2026, 8, 19), date(2026, 8, 20)}  # the schedule did not run
TAKEN_AT_HOUR = 6
SNAPSHOT_DAYS = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)
                 if FIRST + timedelta(days=i) not in MISSED]


@dataclass(frozen=True)
class Change:
    """Configuration changed at ``start`` and put back at ``end`` (both inside the quarter)."""

    tests: tuple[str, ...]  # every test the change shows in
    resource: str
    start: datetime
    end: datetime
    apply: Callable[[Any], None]
    undo: Callable[[Any], None]
    why: str
    on_the_trail: bool = False  # the calls are on the trail: the run's timeline gives the change's exact interval

    def active(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def days_seen(self) -> list[date]:
        return [d for d in SNAPSHOT_DAYS if self.active(_morning(d))]


TRUTH_PATH = truth_yaml.TRUTH_DIR / "snapshots.yaml"


def _iam(env: Any) -> Any:
    return _client(env, "iam")


def _client(env: Any, service: str) -> Any:
    return boto3.client(service, endpoint_url=env.aws.endpoint, region_name=DEMO_REGION,
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def _mfa_off(env: Any) -> None:
    iam = _iam(env)
    for device in iam.list_mfa_devices(UserName="carol.eng")["MFADevices"]:
        iam.deactivate_mfa_device(UserName="carol.eng", SerialNumber=device["SerialNumber"])


def _mfa_on(env: Any) -> None:
    iam = _iam(env)
    serial = f"arn:aws:iam::{DEMO_ACCOUNT_ID}:mfa/carol.eng"
    iam.enable_mfa_device(UserName="carol.eng", SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")


def _rotation(enabled: bool) -> Callable[[Any], None]:
    def change(env: Any) -> None:
        kms = _client(env, "kms")
        key = kms.describe_key(KeyId="alias/payments-data")["KeyMetadata"]["KeyId"]
        (kms.enable_key_rotation if enabled else kms.disable_key_rotation)(KeyId=key)
    return change


def _protection(removed: bool) -> Callable[[Any], None]:
    def change(env: Any) -> None:
        repo = env.github.state.repos["payments-api"]
        if removed:
            env.demo_saved_protection = repo.protection.pop("main")
        else:
            repo.protection["main"] = env.demo_saved_protection
    return change


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CHANGES = [
    Change(("CC6.1-MFA",), f"{DEMO_ACCOUNT_ID}:carol.eng", _t("2026-08-12T15:20:00"), _t("2026-08-15T10:05:00"),
           _mfa_off, _mfa_on, "MFA device deactivated on 2026-08-12 and enabled again on 2026-08-15",
           on_the_trail=True),
    Change(("CC6.2-KMS-ROTATION",), f"{DEMO_ACCOUNT_ID}:alias/payments-data", _t("2026-08-22T09:00:00"),
           _t("2026-08-26T11:30:00"), _rotation(False), _rotation(True),
           "automatic rotation switched off on 2026-08-22 and on again on 2026-08-26", on_the_trail=True),
    Change(("CC8.1-PROTECTION", "CC9.1-SCANNERS"), f"{ORG}/payments-api:main", _t("2026-08-24T10:00:00"),
           _t("2026-08-31T10:00:00"), _protection(True), _protection(False),
           "branch protection (with its required checks, the scanners among them) removed on 2026-08-24 and "
           "restored a week later"),
]


# Seen by no snapshot (September has none): a Terraform change suspended versioning on a production bucket and the
# next apply enabled it again. Only the trail shows it; the run's versioning timeline replays it from the readings.
SUSPENDED_BUCKET = ("demo-fintech-uploads", _t("2026-09-15T10:00:00"), _t("2026-09-16T08:30:00"))


def record_calls(endpoint: str, trail: Trail) -> None:
    """The API calls that made and undid the AWS changes, as the trail delivered them: carol.eng deactivating and
    enabling her MFA device, the pipeline switching the key's rotation off and on (a Terraform change reverted)."""
    kms = boto3.client("kms", endpoint_url=endpoint, region_name=DEMO_REGION, aws_access_key_id="demo",
                       aws_secret_access_key="demo")
    key = kms.describe_key(KeyId="alias/payments-data")["KeyMetadata"]["KeyId"]
    mfa, rotation = CHANGES[0], CHANGES[1]
    carol = user_identity(DEMO_ACCOUNT_ID, "carol.eng")
    device = {"userName": "carol.eng", "serialNumber": f"arn:aws:iam::{DEMO_ACCOUNT_ID}:mfa/carol.eng"}
    trail.record(mfa.start, "iam.amazonaws.com", "DeactivateMFADevice", carol, read_only=False, params=device)
    trail.record(mfa.end, "iam.amazonaws.com", "EnableMFADevice", carol, read_only=False, params=device)
    for when, name, session in ((rotation.start, "DisableKeyRotation", "gha-terraform-4702"),
                                (rotation.end, "EnableKeyRotation", "gha-terraform-4719")):
        trail.record(when, "kms.amazonaws.com", name, role_identity(DEMO_ACCOUNT_ID, PIPELINE_ROLE, session),
                     read_only=False, region=DEMO_REGION, params={"keyId": key})
    bucket, off, on = SUSPENDED_BUCKET
    for when, status, session in ((off, "Suspended", "gha-terraform-5301"), (on, "Enabled", "gha-terraform-5322")):
        trail.record(when, "s3.amazonaws.com", "PutBucketVersioning",
                     role_identity(DEMO_ACCOUNT_ID, PIPELINE_ROLE, session), read_only=False, region=DEMO_REGION,
                     params={"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", "versioning": "",
                             "VersioningConfiguration": {"Status": status,
                                                         "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}})


def record_audit_log(state: Any) -> None:
    """demo-fintech's organization audit log over the quarter: the branch protection removed and restored (the
    week CHANGES[2] stands for), among other org events that change no protection."""
    protection = CHANGES[2]
    repo = f"{ORG}/payments-api"

    def entry(when: datetime, action: str, actor: str, **more: Any) -> dict[str, Any]:
        stamp = int(when.timestamp() * 1000)
        return {"@timestamp": stamp, "created_at": stamp, "action": action, "actor": actor, "org": ORG,
                "_document_id": f"demo-{action}-{stamp}", **more}
    state.audit_log.extend([
        entry(_t("2026-07-14T09:12:00"), "team.add_member", "alice-ng", team=f"{ORG}/payments", user="chen-wei"),
        entry(protection.start, "protected_branch.destroy", "bruno-silva", repo=repo, name="main"),
        entry(_t("2026-08-27T16:40:00"), "repo.create", "alice-ng", repo=f"{ORG}/sandbox", visibility="private"),
        entry(protection.end, "protected_branch.create", "alice-ng", repo=repo, name="main"),
        entry(_t("2026-11-20T11:00:00"), "org.update_member", "alice-ng", user="bruno-silva", permission="admin"),
    ])


def _morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, TAKEN_AT_HOUR, tzinfo=UTC)


def take_all(env: Any, params_file: str, out_root: Path) -> list[Path]:
    """Every morning's snapshot the demo company has (those already in ``out_root`` are kept, not taken again)."""
    taken = []
    for day in SNAPSHOT_DAYS:
        at = _morning(day)
        if (Path(out_root) / snapshots.FOLDER / f"{at:{snapshots.STAMP}}").exists():
            continue
        active = [c for c in CHANGES if c.active(at)]
        for change in active:
            change.apply(env)
        try:
            with freeze_time(at, tick=True):
                folder, errors = snapshots.take(params_file, Path(out_root), now=at)
            if errors:
                raise RuntimeError(f"demo snapshot {folder.name}: {errors}")
            taken.append(folder)
        finally:
            for change in reversed(active):
                change.undo(env)
    return taken


def truth() -> list[dict[str, str]]:
    """The deviations only the snapshots show, as the reports must find them."""
    def found(c: Change) -> str:
        if c.on_the_trail:
            return f"its timeline: CloudTrail's calls from {c.start:%Y-%m-%d %H:%M} to {c.end:%Y-%m-%d %H:%M} " \
                   "between the snapshots' readings"
        return f"seen in the snapshots of {c.days_seen()[0]} to {c.days_seen()[-1]}"
    bucket, off, on = SUSPENDED_BUCKET
    return [{"test": test, "resource": c.resource, "why": f"{c.why} ({found(c)})"}
            for c in CHANGES for test in c.tests] + [
        {"test": "A1.2-S3-VERSIONING", "resource": f"{DEMO_ACCOUNT_ID}:s3:{bucket}",
         "why": f"versioning suspended by a Terraform change from {off:%Y-%m-%d %H:%M} to {on:%Y-%m-%d %H:%M} (on "
                "the trail only: no snapshot in September)"}]


def render_truth() -> str:
    return truth_yaml.render("# Generated by `python -m auditbook.demo.snapshots --write-truth`; do not edit: the "
                             "in-period changes put back before collection\n"
                             "# (the snapshots and the trail show them).\n",
                             truth(), width=120)


if __name__ == "__main__":
    truth_yaml.cli(__doc__, TRUTH_PATH, render_truth, None)
