"""KMS: every customer-managed key in every region in scope, with its rotation status.

``ListKeys`` lists AWS-managed keys too; ``DescribeKey`` tells them apart (``KeyManager``) and
they are counted in the provenance notes, not kept. ``GetKeyRotationStatus`` is asked for every
key whose rotation status AWS can report: symmetric encryption keys (``KeySpec`` SYMMETRIC_DEFAULT,
the only spec with automatic rotation) not pending deletion or import. Which keys must rotate is
the control's rule (:func:`auditbook.controls.cc62.rotation_eligible`), not this module's.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, aws_errors, provenance, required
from auditbook.sources.aws.session import AwsAccount

log = logging.getLogger(__name__)

_NO_ROTATION_STATES = {"PendingDeletion", "PendingReplicaDeletion", "PendingImport", "Unavailable"}
_DESCRIBED = ("KeyId", "Arn", "KeyManager", "KeyState", "KeyUsage")  # DescribeKey: always present for a key


def rotation_status_reported(key_spec: str, key_state: str) -> bool:
    """AWS answers GetKeyRotationStatus for symmetric encryption keys that are usable or disabled."""
    return key_spec == "SYMMETRIC_DEFAULT" and key_state not in _NO_ROTATION_STATES


def collect_keys(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    prov = provenance(account, "aws:kms")
    rows: list[dict[str, Any]] = []
    aws_managed = 0
    for region in regions:
        kms = account.client("kms", region)
        key_pages = all_pages(kms, "list_keys", f"kms:ListKeys ({region})")
        alias_pages = all_pages(kms, "list_aliases", f"kms:ListAliases ({region})")
        keys = [k for p in key_pages for k in p.get("Keys", [])]
        aliases: dict[str, list[str]] = {}
        for alias in (a for p in alias_pages for a in p.get("Aliases", [])):
            if alias.get("TargetKeyId"):
                aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
        prov.add_operation("kms:ListKeys", {"region": region}, pages=len(key_pages), records=len(keys))
        prov.add_operation("kms:ListAliases", {"region": region}, pages=len(alias_pages),
                           records=sum(len(v) for v in aliases.values()))
        described_all, statuses = [], {}
        for key in keys:
            with aws_errors(f"kms:DescribeKey {key['KeyId']} ({region})"):
                meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            described_all.append(meta)
            required(meta, _DESCRIBED, "kms:DescribeKey", key["KeyId"])
            if meta["KeyManager"] != "CUSTOMER":
                aws_managed += 1
                log.debug("KMS key %s (%s): AWS managed, not in the rotation population", key["KeyId"], region)
                continue
            spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec") or ""
            if not spec:
                required(meta, ("KeySpec",), "kms:DescribeKey", key["KeyId"])
            usage = meta["KeyUsage"]
            rotation = None
            if rotation_status_reported(spec, meta["KeyState"]):
                with aws_errors(f"kms:GetKeyRotationStatus {key['KeyId']} ({region})"):
                    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
                status.pop("ResponseMetadata", None)
                statuses[key["KeyId"]] = status
                rotation = bool(status.get("KeyRotationEnabled"))
            rows.append({
                "account_id": account.account_id, "region": region, "key_id": meta["KeyId"], "arn": meta["Arn"],
                "aliases": ";".join(sorted(aliases.get(meta["KeyId"], []))),
                "description": meta.get("Description", ""), "key_manager": meta["KeyManager"],
                "key_state": meta["KeyState"], "key_spec": spec, "key_usage": usage,
                "rotation_enabled": rotation, "created": meta.get("CreationDate"),
            })
        prov.add_operation("kms:DescribeKey", {"region": region}, pages=len(keys), records=len(keys))
        prov.add_operation("kms:GetKeyRotationStatus", {"region": region}, pages=len(statuses),
                           records=len(statuses))
        base = f"aws/{account.account_id}/kms/{region}"
        prov.raw_files.append(raw.save(f"{base}/list-keys.json", key_pages))
        prov.raw_files.append(raw.save(f"{base}/list-aliases.json", alias_pages))
        prov.raw_files.append(raw.save(f"{base}/describe-key.json", described_all))
        prov.raw_files.append(raw.save(f"{base}/get-key-rotation-status.json", statuses))
    prov.notes.append(f"{aws_managed} AWS-managed keys listed and left out (AWS rotates them).")
    return Collected(pd.DataFrame(rows), prov)


ROTATION_EVENTS = {"EnableKeyRotation": True, "DisableKeyRotation": False}


def rotation_changes(events: pd.DataFrame) -> pd.DataFrame:
    """Successful ``EnableKeyRotation``/``DisableKeyRotation`` calls as changes of a key's rotation setting.

    The request names the key by id or ARN (``keyId``); a call whose key cannot be read from its request concerns
    some key of its account and region, which are then unknown after it.
    """
    from auditbook.timeline import changes_from

    def interpret(name: str, request: dict[str, Any] | None) -> tuple[str, Any, Any]:
        key = str((request or {}).get("keyId") or "")
        return key.rsplit("key/", 1)[-1] if key.startswith("arn:") else key, ROTATION_EVENTS[name], None
    return changes_from(events, "kms.amazonaws.com", list(ROTATION_EVENTS), interpret)
