"""Bulk demo state written straight into the in-process moto backends, not through HTTP.

The demo's moto server runs in this process, so what a thousand ``PutObject`` calls over HTTP would store
(5 to 10 ms each: a request, a server thread, a response) can be stored on moto's S3 backend directly
(microseconds each). Only the seeding takes this path: the collectors still reach the same state through
``AWS_ENDPOINT_URL`` and the real S3 API, and see exactly what an HTTP ``PutObject`` would have left
(``tests/core/test_moto_state.py`` compares the two through the API).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

Body = bytes | tuple[bytes, Mapping[str, str]]  # a body, or a body and its user metadata (boto3's ``Metadata``)


def put_objects(bucket: str, objects: Mapping[str, Body], account_id: str = DEFAULT_ACCOUNT_ID,
                partition: str = "aws") -> int:
    """Store ``objects`` (key → body, or key → (body, metadata)) in ``bucket`` as boto3's ``put_object`` does
    through moto's server: the bucket's default encryption, object lock retention and ACL applied, a CRC32
    checksum (botocore sends one by default), user metadata as ``x-amz-meta-<name>``. Returns the number stored."""
    from moto.s3.models import s3_backends

    backend = s3_backends[account_id][partition]
    target = backend.get_bucket(bucket)  # NoSuchBucket, as the API would answer
    for key, item in objects.items():
        body, metadata = item if isinstance(item, tuple) else (item, {})
        lock_mode = lock_until = None
        if target.object_lock_enabled and target.has_default_lock:
            lock_mode, lock_until = target.default_lock_mode, target.default_retention()
        stored: Any = backend.put_object(bucket, key, body, storage="STANDARD", lock_mode=lock_mode,
                                         lock_until=lock_until, checksum_value=_crc32(body))
        stored.set_metadata({**{f"x-amz-meta-{name.lower()}": value for name, value in metadata.items()},
                             "x-amz-content-sha256": hashlib.sha256(body).hexdigest()})  # SigV4's payload hash
        stored.set_acl(target.acl)
        stored.checksum_algorithm = "CRC32"
        backend.put_object_tagging(stored, {})
    return len(objects)


def _crc32(body: bytes) -> str:
    return base64.b64encode(binascii.crc32(body).to_bytes(4, "big")).decode()
