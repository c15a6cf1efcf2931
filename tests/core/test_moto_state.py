"""The demo's bulk S3 writes (straight into moto's backend) leave what an HTTP PutObject leaves, as the API shows it."""

from __future__ import annotations

import boto3
import pytest
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.demo.moto_state import put_objects

BUCKET = "auditbook-test-bulk-writes"
# What differs between two objects written a moment apart, whichever way they were written.
VOLATILE = {"LastModified", "VersionId", "Key", "RetainUntilDate", "ObjectLockRetainUntilDate", "date",
            "last-modified", "x-amz-version-id", "x-amz-object-lock-retain-until-date", "x-amzn-requestid",
            "x-amz-request-id", "x-amz-id-2", "RequestId", "HostId", "RetryAttempts"}


def _stable(value):
    """A response without what differs between any two objects (times, version and request ids)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    return value


@pytest.fixture
def bucket(demo_env):
    """A locked, versioned, encrypted bucket like the trail's, removed afterwards (compliance mode forbids the API)."""
    from moto.s3.models import s3_backends

    s3 = boto3.client("s3", endpoint_url=demo_env.aws.endpoint, region_name=DEMO_REGION)
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}}})
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"},
         "BucketKeyEnabled": True}]})
    try:
        yield s3
    finally:
        backend = s3_backends[DEMO_ACCOUNT_ID]["aws"]
        for key in backend.buckets[BUCKET].keys.values():
            key.dispose()
        backend.buckets.pop(BUCKET)
        s3_backends.bucket_accounts.pop(BUCKET, None)


@pytest.mark.parametrize("metadata", [{}, {"signature": "3045022100ab"}])
def test_put_objects_stores_what_put_object_stores(bucket, metadata):
    body = b'{"Records": []}' * 7
    bucket.put_object(Bucket=BUCKET, Key="over-http", Body=body, Metadata=metadata)
    assert put_objects(BUCKET, {"direct": (body, metadata) if metadata else body}) == 1

    def seen(key: str) -> list[dict]:
        got = bucket.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert got.pop("Body").read() == body
        return [
            bucket.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED"), got,
            bucket.get_object_attributes(Bucket=BUCKET, Key=key,
                                         ObjectAttributes=["ETag", "Checksum", "ObjectSize", "StorageClass"]),
            bucket.get_object_acl(Bucket=BUCKET, Key=key), bucket.get_object_tagging(Bucket=BUCKET, Key=key),
            next(o for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"] if o["Key"] == key),
        ]

    for over_http, direct in zip(seen("over-http"), seen("direct"), strict=True):
        assert _stable(direct) == _stable(over_http)
    head = {key: bucket.head_object(Bucket=BUCKET, Key=key) for key in ("over-http", "direct")}
    assert head["direct"]["Metadata"] == metadata and head["direct"]["ObjectLockMode"] == "COMPLIANCE"
    retained = [h["ObjectLockRetainUntilDate"] for h in head.values()]  # 400 days from the write
    assert abs((retained[0] - retained[1]).total_seconds()) < 60
