"""Secrets Manager inventory: every secret in every region in scope, metadata only.

``ListSecrets`` (paginated) gives the population; ``DescribeSecret`` and ``GetResourcePolicy``
per secret give its rotation configuration and resource policy. Nothing here reads a secret's
value: the only operations this module calls are :data:`OPERATIONS` (a test checks it), never
``GetSecretValue`` or ``BatchGetSecretValue``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, call, provenance
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# Calls that may change a secret's configuration: all but storing a value and the rotation runs' own events.
SECRET_CHANGES = ChangeCalls("secretsmanager.amazonaws.com",
                             "(?!PutSecretValue|UpdateSecretVersionStage|Rotation(Started|Succeeded|Failed|Abandoned)$)"
                             ".*", "Secrets Manager calls on secrets' settings and policies")

OPERATIONS = ("ListSecrets", "DescribeSecret", "GetResourcePolicy")
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(day|days|hour|hours)\s*\)$")


def rotation_days(rules: dict[str, Any] | None) -> float | None:
    """The rotation interval in days: ``AutomaticallyAfterDays``, or a ``rate(N days|hours)`` schedule.

    A ``cron(...)`` schedule has no single interval: None (the control reports it for review).
    """
    rules = rules or {}
    if rules.get("AutomaticallyAfterDays"):
        return float(rules["AutomaticallyAfterDays"])
    match = _RATE.match((rules.get("ScheduleExpression") or "").strip())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    return float(amount) if unit.startswith("day") else amount / 24


def _secret_row(account_id: str, region: str, described: dict[str, Any], policy: str | None) -> dict[str, Any]:
    rules = described.get("RotationRules") or {}
    return {
        "account_id": account_id, "region": region,
        "name": described["Name"], "arn": described["ARN"],
        "created": described.get("CreatedDate"), "last_changed": described.get("LastChangedDate"),
        "last_rotated": described.get("LastRotatedDate"),
        "rotation_enabled": bool(described.get("RotationEnabled")),
        "rotation_lambda_arn": described.get("RotationLambdaARN") or "",
        "rotation_days": rotation_days(rules) if described.get("RotationEnabled") else None,
        "rotation_schedule": rules.get("ScheduleExpression") or (
            f"every {rules['AutomaticallyAfterDays']} days" if rules.get("AutomaticallyAfterDays") else ""),
        "next_rotation": described.get("NextRotationDate"),
        "kms_key_id": described.get("KmsKeyId") or "aws/secretsmanager",
        "resource_policy": json.dumps(json.loads(policy), sort_keys=True) if policy else "",
        "tags": json.dumps({t["Key"]: t["Value"] for t in described.get("Tags") or []}, sort_keys=True),
    }


def collect_secrets(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """One row per secret (not scheduled for deletion) in each region in scope."""
    prov = provenance(account, "aws:secretsmanager")
    rows: list[dict[str, Any]] = []
    for region in regions:
        sm = account.client("secretsmanager", region)
        pages = all_pages(sm, "list_secrets", f"secretsmanager:ListSecrets ({region})")
        listed = [s for p in pages for s in p.get("SecretList", [])]
        prov.add_operation("secretsmanager:ListSecrets", {"region": region}, pages=len(pages), records=len(listed))
        described_all, policies = [], []
        for secret in listed:
            described = call(f"secretsmanager:DescribeSecret {secret['Name']} ({region})", sm.describe_secret,
                             SecretId=secret["ARN"])
            policy = call(f"secretsmanager:GetResourcePolicy {secret['Name']} ({region})", sm.get_resource_policy,
                          SecretId=secret["ARN"])
            described_all.append(described)
            policies.append(policy)
            rows.append(_secret_row(account.account_id, region, described, policy.get("ResourcePolicy")))
        prov.add_operation("secretsmanager:DescribeSecret", {"region": region}, pages=len(listed),
                           records=len(listed))
        prov.add_operation("secretsmanager:GetResourcePolicy", {"region": region}, pages=len(listed),
                           records=sum(1 for p in policies if p.get("ResourcePolicy")))
        base = f"aws/{account.account_id}/secretsmanager/{region}"
        prov.raw_files.append(raw.save(f"{base}/list-secrets.json", pages))
        prov.raw_files.append(raw.save(f"{base}/describe-secret.json", described_all))
        prov.raw_files.append(raw.save(f"{base}/get-resource-policy.json", policies))
    prov.notes.append("Metadata only: secret values are never read (no GetSecretValue / BatchGetSecretValue).")
    prov.notes.append("Secrets scheduled for deletion are not listed by ListSecrets and are not in the population.")
    return Collected(pd.DataFrame(rows), prov)


def secret_name(secret_id: str) -> str:
    """A secret's name from the id a request used: the name itself, or its ARN (``...:secret:NAME-AbCdEf``)."""
    if not secret_id.startswith("arn:") or ":secret:" not in secret_id:
        return secret_id
    name = secret_id.split(":secret:", 1)[1]
    stem, _, suffix = name.rpartition("-")
    return stem if stem and len(suffix) == 6 and suffix.isalnum() else name


def rotation_changes(events: pd.DataFrame) -> pd.DataFrame:
    """Successful calls that switch a secret's automatic rotation: ``RotateSecret`` (rotation configured and on),
    ``CancelRotateSecret`` (off) and ``CreateSecret`` (a new secret has none)."""
    from auditbook.timeline import changes_from

    setting = {"RotateSecret": True, "CancelRotateSecret": False, "CreateSecret": False}

    def interpret(name: str, request: dict[str, Any] | None) -> tuple[str, Any, Any]:
        secret = str((request or {}).get("name" if name == "CreateSecret" else "secretId") or "")
        return secret_name(secret), setting[name], None
    return changes_from(events, "secretsmanager.amazonaws.com", list(setting), interpret)
