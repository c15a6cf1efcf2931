"""The demo account's CloudTrail: a multi-region trail and its log files in S3.

Every part of the demo that needs an API call on record (a manual change, a secret read, a user
deleted) adds a CloudTrail record here with :func:`record`; :func:`deliver` writes them as the
trail does: one gzipped ``{"Records": [...]}`` file per region and hour of activity, under
``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``. A day with no file is a gap in logging.

Log file validation is on, so :func:`deliver` also writes the trail's digest files
(:func:`build_digests`): one per region and hour it delivers, under ``CloudTrail-Digest/``, listing
that hour's files with the SHA-256 of their uncompressed content, chained to the previous digest
and signed (SHA256withRSA, the hex signature in the object's ``signature`` metadata) with
:func:`digest_signing_key`, whose public part the emulated ``cloudtrail:ListPublicKeys`` serves.
The signing string is built here on its own (not imported from the validator), as the AWS CLI's
``validate-logs`` reads it, so the validator is tested against an independent signer.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import random
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from auditbook.demo.moto_state import put_objects

TRAIL_NAME = "org-trail"
TRAIL_BUCKET = "demo-fintech-cloudtrail"
TRAIL_PREFIX = "audit"
TRAIL_HOME_REGION = "us-east-1"
PIPELINE_ROLE = "ci-deploy-role"
DIGEST_INTERVAL = timedelta(hours=1)
DIGEST_KEY_VALID_FROM = datetime(2025, 11, 1, tzinfo=UTC)  # before the trail was created (2025-11-03)
_LOG_KEY = re.compile(r"/CloudTrail/(?P<region>[a-z0-9-]+)/\d{4}/\d{2}/\d{2}/[^/]*_(?P<when>\d{8}T\d{4}Z)_[^/]*$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
EVENT_NAMESPACE = uuid.UUID("6f1d9a52-5c1e-4d0b-9a57-2f0e6f3c0a11")


def _stable_id(text: str) -> str:
    """Deterministic principal id digits (str hash() is salted per process)."""
    return f"{int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) % 10**12:012d}"


def user_identity(account_id: str, user: str) -> dict[str, Any]:
    return {"type": "IAMUser", "principalId": f"AIDA{_stable_id(user)}",
            "arn": f"arn:aws:iam::{account_id}:user/{user}", "accountId": account_id, "userName": user}


def role_identity(account_id: str, role: str, session: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole", "principalId": f"AROA{_stable_id(role)}:{session}",
        "arn": f"arn:aws:sts::{account_id}:assumed-role/{role}/{session}", "accountId": account_id,
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": f"AROA{_stable_id(role)}",
                                             "arn": f"arn:aws:iam::{account_id}:role/{role}",
                                             "accountId": account_id, "userName": role}},
    }


def service_identity(service: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


@dataclass
class Trail:
    """The records the demo account's trail will deliver, and which days it was not logging."""

    account_id: str
    seed: int = 11
    records: list[dict[str, Any]] = field(default_factory=list)
    not_logging: set[date] = field(default_factory=set)  # days with no delivery at all

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._seen: Counter[str] = Counter()

    def record(self, when: datetime, source: str, name: str, identity: dict[str, Any], *, read_only: bool,
               region: str = "us-east-1", params: dict[str, Any] | None = None, error: str | None = None,
               event_type: str = "AwsApiCall", category: str = "Management", resources: list | None = None,
               ) -> dict[str, Any]:
        """Add one record. Its event id is derived from what it records, so it does not depend
        on the order in which the demo's parts add their records (the truth files name ids)."""
        when_text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        key = f"{when_text}|{source}|{name}|{identity.get('arn', identity.get('invokedBy'))}"
        self._seen[key] += 1
        event_id = str(uuid.uuid5(EVENT_NAMESPACE, f"{key}|{self._seen[key]}"))
        rec: dict[str, Any] = {
            "eventVersion": "1.09", "userIdentity": identity,
            "eventTime": when_text,
            "eventSource": source, "eventName": name, "awsRegion": region,
            "sourceIPAddress": identity.get("invokedBy") or f"198.51.100.{self._rng.randint(2, 250)}",
            "userAgent": "aws-cli/2.17.0" if identity.get("type") != "AWSService" else identity["invokedBy"],
            "requestParameters": params, "responseElements": None,
            "requestID": str(uuid.uuid5(EVENT_NAMESPACE, f"request|{event_id}")),
            "eventID": event_id,
            "readOnly": read_only, "eventType": event_type, "managementEvent": category == "Management",
            "recipientAccountId": self.account_id, "eventCategory": category,
        }
        if resources:
            rec["resources"] = resources
        if error:
            rec["errorCode"] = error
            rec["errorMessage"] = f"User is not authorized to perform {source.split('.')[0]}:{name}"
        self.records.append(rec)
        return rec

    def files(self) -> dict[str, bytes]:
        """Key → gzipped body, one file per region and hour, as CloudTrail delivers them."""
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for rec in self.records:
            when = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
            if when.date() in self.not_logging:
                continue
            grouped[(rec["awsRegion"], when.strftime("%Y%m%dT%H00Z"))].append(rec)
        out = {}
        for (region, hour), recs in sorted(grouped.items()):
            day = datetime.strptime(hour, "%Y%m%dT%H00Z")
            key = (f"{TRAIL_PREFIX}/AWSLogs/{self.account_id}/CloudTrail/{region}/{day:%Y/%m/%d}/"
                   f"{self.account_id}_CloudTrail_{region}_{hour}_{uuid.UUID(int=self._rng.getrandbits(128)).hex[:16]}"
                   ".json.gz")
            recs = sorted(recs, key=lambda r: (r["eventTime"], r["eventID"]))
            out[key] = gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0)
        return out


def deliver(trail: Trail) -> int:
    """Write every log file to the trail's bucket, then its digest files with their signature metadata, straight
    into the emulator's S3 (moto_state.put_objects); returns the number of log files."""
    files = trail.files()
    put_objects(TRAIL_BUCKET, files, trail.account_id)
    put_objects(TRAIL_BUCKET, build_digests(files, account_id=trail.account_id), trail.account_id)
    return len(files)


# -- log file validation: digest files -----------------------------------------------------------------------
@functools.cache
def digest_signing_key() -> rsa.RSAPrivateKey:
    """The key the emulated CloudTrail signs digests with: made once per process (it proves nothing outside the
    demo; ListPublicKeys serves its public part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_key_record(key: rsa.RSAPrivateKey, valid_from: datetime = DIGEST_KEY_VALID_FROM) -> dict[str, Any]:
    """The key as ``ListPublicKeys`` returns it: ``Value`` is the DER of the PKCS #1 RSA public key (what the
    AWS CLI loads), ``Fingerprint`` the 32-hex-digit fingerprint digests name; no end: the current key."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return {"Value": der, "ValidityStartTime": valid_from,
            "Fingerprint": hashlib.md5(der, usedforsecurity=False).hexdigest()}


def digest_key(account_id: str, region: str, end: datetime, *, prefix: str = TRAIL_PREFIX,
               trail_name: str = TRAIL_NAME, home_region: str = TRAIL_HOME_REGION) -> str:
    """``<prefix>/AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_
    <trail>_<home region>_<end YYYYMMDDTHHmmssZ>.json.gz``: the day and time are the digest's end."""
    head = f"{prefix}/" if prefix else ""
    return (f"{head}AWSLogs/{account_id}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{account_id}_CloudTrail-Digest_"
            f"{region}_{trail_name}_{home_region}_{end:%Y%m%dT%H%M%SZ}.json.gz")


def _log_file(key: str, body: bytes) -> dict[str, Any]:
    content = gzip.decompress(body)
    times = [r["eventTime"] for r in json.loads(content)["Records"]]
    return {"s3Bucket": TRAIL_BUCKET, "s3Object": key, "hashValue": hashlib.sha256(content).hexdigest(),
            "hashAlgorithm": "SHA-256", "newestEventTime": max(times, default=None),
            "oldestEventTime": min(times, default=None)}


def build_digests(files: dict[str, bytes], *, account_id: str, key: rsa.RSAPrivateKey | None = None,
                  bucket: str = TRAIL_BUCKET, validation_off: Iterable[tuple[datetime, datetime]] = ()
                  ) -> dict[str, tuple[bytes, dict[str, str]]]:
    """The digest files of a trail's log files (``{key: gzipped body}``): ``{digest key: (gzipped body, metadata)}``.

    One digest per region and hour in which files were delivered (a log file's hour is the time in its name),
    each chained to the region's previous digest. Files delivered while validation was off (``validation_off``:
    ``[off, on)`` windows) are in no digest, and the chain restarts after such a window (the first digest has no
    previous digest), as CloudTrail does.
    """
    key = key or digest_signing_key()
    fingerprint = public_key_record(key)["Fingerprint"]
    windows = list(validation_off)
    hours: dict[tuple[str, datetime], list[str]] = defaultdict(list)
    for name in sorted(files):
        found = _LOG_KEY.search(name)
        if not found:
            continue
        when = datetime.strptime(found["when"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        if any(off <= when < on for off, on in windows):
            continue
        hours[(found["region"], when.replace(minute=0))].append(name)
    out: dict[str, tuple[bytes, dict[str, str]]] = {}
    previous: dict[str, tuple[str, datetime, bytes, str]] = {}  # region → (key, start, content, signature)
    for (region, start), names in sorted(hours.items()):
        end = start + DIGEST_INTERVAL
        logs = [_log_file(name, files[name]) for name in names]
        before = previous.get(region)
        if before and any(before[1] < off <= start for off, _ in windows):
            before = None  # validation was switched off since: a new chain
        name = digest_key(account_id, region, end)
        doc = {
            "awsAccountId": account_id, "digestStartTime": f"{start:{_TIME}}", "digestEndTime": f"{end:{_TIME}}",
            "digestS3Bucket": bucket, "digestS3Object": name, "digestPublicKeyFingerprint": fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": max((f["newestEventTime"] for f in logs if f["newestEventTime"]), default=None),
            "oldestEventTime": min((f["oldestEventTime"] for f in logs if f["oldestEventTime"]), default=None),
            "previousDigestS3Bucket": bucket if before else None,
            "previousDigestS3Object": before[0] if before else None,
            "previousDigestHashValue": hashlib.sha256(before[2]).hexdigest() if before else None,
            "previousDigestHashAlgorithm": "SHA-256" if before else None,
            "previousDigestSignature": before[3] if before else None,
            "logFiles": logs,
        }
        content = json.dumps(doc, separators=(",", ":")).encode()
        signed = (f"{doc['digestEndTime']}\n{bucket}/{name}\n{hashlib.sha256(content).hexdigest()}\n"
                  f"{before[3] if before else 'null'}").encode()
        signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256()).hex()
        out[name] = (gzip.compress(content, mtime=0), {"signature": signature, "signature-algorithm": "SHA256withRSA"})
        previous[region] = (name, start, content, signature)
    return out


def business_hours(rng: random.Random, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59),
                    tzinfo=UTC)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
