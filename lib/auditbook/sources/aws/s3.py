"""S3: every bucket's versioning and tags, and Terraform state files kept in S3.

A Terraform state holds secrets in resource attributes: only identifiers (``id``, ``arn``, names)
are kept; the raw store gets that extract and the sha256 of the state file as read.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from auditbook.provenance import Collected, CollectionError, RawStore, sha256_bytes
from auditbook.sources.aws.base import all_pages, aws_errors, items, provenance, tag_text
from auditbook.sources.aws.session import AwsAccount

IDENTIFIER_ATTRIBUTES = ("id", "arn", "name", "bucket", "identifier", "db_instance_identifier")


def collect_bucket_versioning(account: AwsAccount, raw: RawStore) -> Collected:
    """Every bucket of the account with its versioning status and tags."""
    prov = provenance(account, "aws:s3")
    s3 = account.client("s3")
    pages = all_pages(s3, "list_buckets", "s3:ListBuckets")  # a ContinuationToken is followed, never ignored
    listing = {"Buckets": items(pages, "Buckets"), "Owner": pages[0].get("Owner") if pages else None}
    buckets = listing["Buckets"]
    prov.add_operation("s3:ListBuckets", {}, len(pages), len(buckets))
    details, rows = {}, []
    for b in buckets:
        name = b["Name"]
        with aws_errors(f"s3:GetBucketLocation {name}"):
            region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        with aws_errors(f"s3:GetBucketVersioning {name}"):
            versioning = s3.get_bucket_versioning(Bucket=name)
        versioning.pop("ResponseMetadata", None)
        tags = _bucket_tags(s3, name)
        details[name] = {"region": region, "versioning": versioning, "tags": tags}
        rows.append({"account_id": account.account_id, "bucket": name, "region": region,
                     "versioning": versioning.get("Status", "Never enabled"),
                     "mfa_delete": versioning.get("MFADelete", "Disabled"), "tags": tag_text(tags),
                     "created": b.get("CreationDate")})
    for op in ("s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketTagging"):
        prov.add_operation(op, {}, len(buckets), len(buckets))
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/s3/bucket-versioning.json",
                                   {"ListBuckets": listing, "buckets": details}))
    return Collected(pd.DataFrame(rows), prov)


def _bucket_tags(s3: Any, bucket: str) -> list[dict[str, str]]:
    """A bucket's tags; ``NoSuchTagSet`` (a bucket without tags) is an empty list, any other error fails."""
    try:
        with aws_errors(f"s3:GetBucketTagging {bucket}"):
            return s3.get_bucket_tagging(Bucket=bucket).get("TagSet", [])
    except CollectionError as exc:
        if ": NoSuchTagSet:" in str(exc):
            return []
        raise


def _s3_location(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise CollectionError(f"Terraform state file {uri!r}: expected s3://bucket/key")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def terraform_resources(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Managed resources of a Terraform state (format version 4), identifiers only."""
    if state.get("version") != 4 or not isinstance(state.get("resources"), list):
        raise ValueError(f"not a Terraform state of format version 4 (version {state.get('version')!r})")
    rows = []
    for res in state["resources"]:
        if res.get("mode") != "managed":
            continue
        prefix = f"{res['module']}." if res.get("module") else ""
        for inst in res.get("instances", []):
            attrs = inst.get("attributes") or {}
            key = inst.get("index_key")
            address = f"{prefix}{res['type']}.{res['name']}" + (f"[{json.dumps(key)}]" if key is not None else "")
            ids = sorted({str(attrs[a]) for a in IDENTIFIER_ATTRIBUTES if attrs.get(a)})
            rows.append({"address": address, "type": res["type"], "id": str(attrs.get("id", "")),
                         "arn": str(attrs.get("arn", "")), "identifiers": ";".join(ids)})
    return rows


def collect_terraform_state(account: AwsAccount, raw: RawStore, state_files: list[str]) -> Collected:
    prov = provenance(account, "aws:s3")
    s3 = account.client("s3")
    rows = []
    for uri in state_files:
        bucket, key = _s3_location(uri)
        with aws_errors(f"s3:GetObject {uri}"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            resources = terraform_resources(json.loads(body))
        except (ValueError, KeyError) as exc:
            raise CollectionError(f"Terraform state file {uri}: {exc}") from None
        prov.add_operation("s3:GetObject", {"Bucket": bucket, "Key": key, "sha256": sha256_bytes(body)}, 1,
                           len(resources))
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/terraform/{bucket}/{key.replace('/', '_')}"
                                       ".identifiers.json", {"state_file": uri, "sha256": sha256_bytes(body),
                                                             "resources": resources}))
        rows += [{"account_id": account.account_id, "state_file": uri, **r} for r in resources]
    prov.notes.append("Terraform state attributes can hold secrets: only resource identifiers were kept; the "
                      "sha256 of each state file as read is recorded with its GetObject operation.")
    return Collected(pd.DataFrame(rows), prov)


def versioning_changes(events: pd.DataFrame) -> pd.DataFrame:
    """Successful bucket calls that set a bucket's versioning: ``PutBucketVersioning`` (its ``Status``) and
    ``CreateBucket`` (a new bucket has never had versioning). A ``PutBucketVersioning`` whose status cannot be
    read from its request makes the bucket unknown after it; one naming no bucket, every bucket of its region."""
    from auditbook.timeline import changes_from

    def interpret(name: str, request: dict[str, Any] | None) -> tuple[str, Any, Any]:
        bucket = str((request or {}).get("bucketName") or "")
        if name == "CreateBucket":
            return bucket, "Never enabled", None
        return bucket, ((request or {}).get("VersioningConfiguration") or {}).get("Status") or None, None
    return changes_from(events, "s3.amazonaws.com", ["PutBucketVersioning", "CreateBucket"], interpret)
