"""CloudTrail log file integrity: the trail's digest files for the period, each signature and link checked.

With log file validation on, CloudTrail writes about one digest file per region and hour under
``<prefix>/AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/`` (the day and the time in the
name are the digest's end). A digest lists every log file delivered in its hour with the SHA-256 of
the file's uncompressed content, names the previous digest with the SHA-256 of its uncompressed
content and its signature, and is signed: SHA256withRSA over

    digestEndTime \\n digestS3Bucket/digestS3Object \\n hex(sha256(uncompressed digest)) \\n previousDigestSignature

(``null`` when there is no previous digest), the hex signature in the object's ``signature`` metadata,
the public key from ``cloudtrail:ListPublicKeys`` by the digest's ``digestPublicKeyFingerprint``. This is
what ``aws cloudtrail validate-logs`` checks (awscli/customizations/cloudtrail/validation.py); this
module also checks what the CLI leaves implicit: that the previous digest a digest names still hashes to
``previousDigestHashValue`` and carries ``previousDigestSignature``.

Two populations come back: the digests (signature valid, chain unbroken, why not) and the log files
they list. A bad signature or a broken chain is data the control judges; an API failure, or a digest
object that does not even decompress (indistinguishable from a broken answer), is a CollectionError.
Only digest objects are read; the log files themselves are hashed by the events collector.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import botocore.exceptions
import pandas as pd
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from auditbook.period import Period
from auditbook.provenance import Collected, CollectionError, RawStore, iso
from auditbook.sources.aws.base import aws_errors, provenance
from auditbook.sources.aws.cloudtrail import trail_destination
from auditbook.sources.aws.session import AwsAccount

# The log files checked are those cloudtrail-log-files lists: of the period's days and the next (whose first files
# hold the period's last minutes). Digests are listed by the day of their end: one ending up to EDGE after that
# covers its edge.
AFTER = timedelta(days=1)
EDGE = timedelta(hours=2)
REQUIRED = ("digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "digestEndTime", "digestStartTime")
ALGORITHM = "SHA256withRSA"
READERS = 8  # digest objects read in parallel (S3 serves thousands of GETs a second per prefix)
DIGEST_COLUMNS = ["account_id", "region", "digest_key", "digest_start", "digest_end", "previous_digest_key",
                  "public_key_fingerprint", "signature_valid", "chain_ok", "log_files", "problem"]
LISTED_COLUMNS = ["account_id", "region", "digest_key", "key", "content_sha256", "oldest_event", "newest_event"]


def string_to_sign(digest: dict[str, Any], content: bytes) -> bytes:
    """What CloudTrail signed, exactly as the AWS CLI's ``Sha256RSADigestValidator._create_string_to_sign``
    builds it (a missing previous signature is the text ``null``, to match CloudTrail's Java signer)."""
    previous = digest.get("previousDigestSignature")
    return (f"{digest['digestEndTime']}\n{digest['digestS3Bucket']}/{digest['digestS3Object']}\n"
            f"{hashlib.sha256(content).hexdigest()}\n{'null' if previous is None else previous}").encode()


def signature_problem(digest: dict[str, Any], content: bytes, signature_hex: str, public_key_der: bytes) -> str:
    """"" when ``signature_hex`` is the SHA256withRSA signature of the digest under the DER public key (PKCS #1,
    as ListPublicKeys returns it, or SubjectPublicKeyInfo), else why not."""
    try:
        key = serialization.load_der_public_key(public_key_der)
    except (ValueError, UnsupportedAlgorithm):
        return "the public key CloudTrail lists for this fingerprint does not load"
    if not isinstance(key, rsa.RSAPublicKey):
        return "the public key CloudTrail lists for this fingerprint is not an RSA key"
    try:
        key.verify(bytes.fromhex(signature_hex), string_to_sign(digest, content), padding.PKCS1v15(),
                   hashes.SHA256())
    except (InvalidSignature, ValueError):
        return "signature does not verify: the digest was changed after CloudTrail signed it"
    return ""


@dataclass
class _Digest:
    """One digest object as read: its parsed content, uncompressed bytes and S3 metadata."""

    key: str
    bucket: str
    body: bytes
    content: bytes
    doc: dict[str, Any]
    metadata: dict[str, str]
    response: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    chain_problems: list[str] = field(default_factory=list)
    restarts: bool = False

    @property
    def end(self) -> datetime | None:
        return _time(self.doc.get("digestEndTime"))

    @property
    def start(self) -> datetime | None:
        return _time(self.doc.get("digestStartTime"))

    @property
    def signature(self) -> str:
        return self.metadata.get("signature", "")

    @property
    def log_files(self) -> list[dict[str, Any]]:
        """The digest's ``logFiles`` (entries that are not objects are left out: such a digest fails its
        signature check anyway)."""
        files = self.doc.get("logFiles")
        return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []

    @property
    def backfill(self) -> bool:
        return self.key.endswith("_backfill.json.gz")


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _key_time(key: str) -> datetime | None:
    """The end time in a digest's name (``..._YYYYMMDDTHHmmssZ[_backfill].json.gz``), as the CLI reads it."""
    stamp = key[-33:-17] if key.endswith("_backfill.json.gz") else key[-24:-8]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class _Reader:
    """Reads digest objects (and only those) from the trail's bucket, keeping each as received."""

    def __init__(self, account: AwsAccount, raw: RawStore, pattern: re.Pattern[str]) -> None:
        self.s3 = account.client("s3")
        self.account, self.raw, self.pattern = account, raw, pattern
        self.read = 0
        self.raw_files: list[dict[str, Any]] = []
        self.responses: dict[str, dict[str, Any]] = {}

    def get(self, bucket: str, key: str, missing_ok: bool = False) -> _Digest | None:
        """The digest at ``key``; None when it does not exist and ``missing_ok`` (a deleted previous digest)."""
        try:
            answer = self.s3.get_object(Bucket=bucket, Key=key)
            body = answer["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if missing_ok and exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            with aws_errors(f"s3:GetObject {key}"):
                raise
        except botocore.exceptions.BotoCoreError:
            with aws_errors(f"s3:GetObject {key}"):
                raise
        try:
            content = gzip.decompress(body)
            doc = json.loads(content)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except (OSError, EOFError, ValueError) as exc:
            raise CollectionError(f"s3:GetObject {key}: not a CloudTrail digest file ({type(exc).__name__})") \
                from None
        meta = {"Metadata": answer.get("Metadata", {}), "ETag": answer.get("ETag"),
                "LastModified": answer.get("LastModified"), "VersionId": answer.get("VersionId")}
        return _Digest(key, bucket, body, content, doc, dict(answer.get("Metadata") or {}), meta)

    def keep(self, digest: _Digest) -> None:
        self.read += 1
        self.responses[digest.key] = digest.response
        self.raw_files.append(self.raw.save(f"aws/{self.account.account_id}/cloudtrail/{digest.key}", digest.body))

    def read_all(self, bucket: str, keys: list[str]) -> list[_Digest]:
        """Every listed digest, read in parallel; the first failure stops the reads not yet started."""
        pool = ThreadPoolExecutor(max_workers=READERS)
        try:
            futures = [pool.submit(self.listed, bucket, key) for key in keys]
            digests = [future.result() for future in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for digest in digests:
            self.keep(digest)
        return digests

    def listed(self, bucket: str, key: str) -> _Digest:
        """A digest the listing named: it must be there."""
        digest = self.get(bucket, key)
        if digest is None:  # only a read that allows a missing digest returns None
            raise CollectionError(f"s3:GetObject {key}: listed but not found")
        return digest


def _public_keys(account: AwsAccount, region: str, start: datetime, end: datetime,
                 raw_doc: dict[str, Any]) -> tuple[dict[str, bytes], int]:
    """Fingerprint → DER public key for the keys CloudTrail used in ``region`` between ``start`` and ``end``."""
    ct = account.client("cloudtrail", region)
    pages = []
    with aws_errors(f"cloudtrail:ListPublicKeys ({region})"):
        for page in ct.get_paginator("list_public_keys").paginate(StartTime=start, EndTime=end):
            page.pop("ResponseMetadata", None)
            pages.append(page)
    keys = [k for page in pages for k in page.get("PublicKeyList", [])]
    raw_doc.setdefault("ListPublicKeys", {}).setdefault(region, []).append(
        {"StartTime": start, "EndTime": end, "PublicKeyList": [
            {**k, "Value": _b64(k.get("Value", b""))} for k in keys]})
    return {k["Fingerprint"]: bytes(k.get("Value") or b"") for k in keys if k.get("Fingerprint")}, len(pages)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _check_signature(d: _Digest, bucket: str, keys: dict[str, bytes]) -> None:
    missing = [f for f in REQUIRED if not d.doc.get(f)] + (
        ["previousDigestSignature"] if "previousDigestSignature" not in d.doc else [])
    if missing:
        d.problems.append(f"not a valid digest: lacks {', '.join(missing)}")
        return
    if d.doc["digestS3Bucket"] != bucket or d.doc["digestS3Object"] != d.key:
        d.problems.append(f"moved from its original location s3://{d.doc['digestS3Bucket']}/{d.doc['digestS3Object']}")
        return
    if not d.signature or not d.metadata.get("signature-algorithm"):
        d.problems.append("no signature in the object's metadata (signature, signature-algorithm)")
        return
    if ALGORITHM not in (d.doc.get("digestSignatureAlgorithm"), d.metadata.get("signature-algorithm")):
        d.problems.append(f"signature algorithm {d.doc.get('digestSignatureAlgorithm')} is not {ALGORITHM}")
        return
    fingerprint = str(d.doc["digestPublicKeyFingerprint"])
    if fingerprint not in keys:
        d.problems.append(f"signed with a key CloudTrail does not list for the period (fingerprint {fingerprint})")
        return
    problem = signature_problem(d.doc, d.content, d.signature, keys[fingerprint])
    if problem:
        d.problems.append(problem)


def _link_problem(d: _Digest, previous: _Digest) -> str:
    """Why ``d`` does not chain to ``previous`` (the digest it names), "" when it does."""
    problems = []
    if d.doc.get("previousDigestHashValue") != hashlib.sha256(previous.content).hexdigest():
        problems.append(f"previous digest {previous.key} no longer hashes to previousDigestHashValue")
    if d.doc.get("previousDigestSignature") != previous.signature:
        problems.append(f"previous digest {previous.key} no longer carries previousDigestSignature")
    return "; ".join(problems)


def _check_chain(chain: list[_Digest], reader: _Reader, loaded: dict[tuple[str, str], _Digest],
                 consecutive: bool = True) -> None:
    """Each digest names the one before it in the region (by key, content hash and signature); a digest with no
    previous digest after another one restarts the chain (validation or logging was off in between). Backfill
    digests are a chain of their own, not checked for being consecutive (``consecutive``)."""
    before: _Digest | None = None
    for d in chain:
        named, bucket = (str(d.doc.get(f) or "") for f in ("previousDigestS3Object", "previousDigestS3Bucket"))
        if not named:
            d.restarts = before is not None
        elif not reader.pattern.match(named):
            d.chain_problems.append(f"names {named} as its previous digest, which is not a digest of this trail")
        else:
            previous = loaded.get((bucket or d.bucket, named))
            if previous is None:
                previous = reader.get(bucket or d.bucket, named, missing_ok=True)
                if previous is not None:
                    reader.keep(previous)
                    loaded[(previous.bucket, previous.key)] = previous
            if previous is None:
                d.chain_problems.append(f"previous digest {named} is missing: the chain is broken")
            else:
                if consecutive and before is not None and previous is not before:
                    d.chain_problems.append(f"names {named} as its previous digest, skipping {before.key}")
                link = _link_problem(d, previous)
                if link:
                    d.chain_problems.append(link)
        before = d


def collect_digests(account: AwsAccount, raw: RawStore, period: Period, regions: list[str]
                    ) -> tuple[Collected, Collected]:
    """Every digest file of the trail that covers the period's days and the next (the days cloudtrail-log-files
    reads), per region in scope, with its signature and chain checked; and every log file those digests list."""
    prov = provenance(account, "aws:cloudtrail+s3")
    trail, bucket, prefix = trail_destination(account)
    prov.add_operation("cloudtrail:DescribeTrails", {"includeShadowTrails": False}, records=1)
    home = trail.get("HomeRegion") or account.region
    s3 = account.client("s3")
    until = period.end + AFTER  # the end of the last day whose log files are checked
    first_day, last_day = period.start.date(), (until + EDGE).date()
    raw_doc: dict[str, Any] = {"trail": trail.get("TrailARN"), "bucket": bucket, "prefix": prefix}
    digest_rows: list[dict[str, Any]] = []
    listed_rows: list[dict[str, Any]] = []
    all_prov_files: list[dict[str, Any]] = []
    reads = 0
    for region in regions:
        base = f"{prefix}AWSLogs/{account.account_id}/CloudTrail-Digest/{region}/"
        name = (f"{re.escape(account.account_id)}_CloudTrail-Digest_{re.escape(region)}_{re.escape(trail['Name'])}_"
                f"{re.escape(home)}_\\d{{8}}T\\d{{6}}Z(?:_backfill)?\\.json\\.gz")
        pattern = re.compile(f"^{re.escape(base)}\\d{{4}}/\\d{{2}}/\\d{{2}}/{name}$")
        keys, pages = [], 0
        for day in _days(first_day, last_day):
            with aws_errors(f"s3:ListObjectsV2 {base}{day:%Y/%m/%d}/"):
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                         Prefix=f"{base}{day:%Y/%m/%d}/"):
                    pages += 1
                    keys += [obj["Key"] for obj in page.get("Contents", [])]
        prov.add_operation("s3:ListObjectsV2", {"Bucket": bucket, "Prefix": f"{base}YYYY/MM/DD/ for each day "
                                                f"{first_day} to {last_day}"}, pages=pages, records=len(keys))
        ends = {k: _key_time(k) for k in keys if pattern.match(k)}
        wanted = sorted((k for k, end in ends.items() if end and period.start < end <= until + EDGE),
                        key=lambda k: (ends[k], k))
        reader = _Reader(account, raw, pattern)
        digests = reader.read_all(bucket, wanted)
        digests = [d for d in digests if not (d.start and d.start >= until)]  # wholly after the last day
        keys_by_fp: dict[str, bytes] = {}
        if digests:
            keys_by_fp, key_pages = _public_keys(account, region, period.start, until + EDGE, raw_doc)
            if not keys_by_fp:
                raise CollectionError(f"cloudtrail:ListPublicKeys ({region}): no public key for {period.label}: the "
                                      "digest signatures cannot be checked")
            prov.add_operation("cloudtrail:ListPublicKeys", {"region": region, "StartTime": iso(period.start),
                                                             "EndTime": iso(until + EDGE)}, pages=key_pages,
                               records=len(keys_by_fp))
        for d in digests:
            if d.backfill and d.doc.get("digestPublicKeyFingerprint") not in keys_by_fp:
                generated = _time(d.metadata.get("backfill-generation-timestamp"))
                if generated:  # the CLI looks a backfill digest's key up around when it was generated
                    more, more_pages = _public_keys(account, region, generated - timedelta(hours=1),
                                                    generated + timedelta(hours=1), raw_doc)
                    keys_by_fp.update(more)
                    prov.add_operation("cloudtrail:ListPublicKeys", {"region": region, "backfill": d.key},
                                       pages=more_pages, records=len(more))
            _check_signature(d, bucket, keys_by_fp)
        loaded = {(d.bucket, d.key): d for d in digests}
        for backfill in (False, True):
            chain = sorted((d for d in digests if d.backfill is backfill), key=lambda d: (d.end or period.start, d.key))
            _check_chain(chain, reader, loaded, consecutive=not backfill)
        reads += reader.read
        all_prov_files += reader.raw_files
        raw_doc.setdefault("GetObject", {}).update(reader.responses)
        for d in digests:
            digest_rows.append(_digest_row(account.account_id, region, d))
            listed_rows += [{"account_id": account.account_id, "region": region, "digest_key": d.key,
                             "key": str(log.get("s3Object") or ""), "content_sha256": str(log.get("hashValue") or ""),
                             "oldest_event": _time(log.get("oldestEventTime")),
                             "newest_event": _time(log.get("newestEventTime"))} for log in d.log_files]
        restarts = [d.key for d in digests if d.restarts]
        prov.notes.append(f"{region}: {len(digests)} digest files cover the period and the day after; "
                          f"{sum(not d.problems for d in digests)} signatures valid; "
                          f"{sum(not d.chain_problems for d in digests)} chained to their previous digest"
                          + (f"; the chain restarts {len(restarts)} times (validation or logging off before "
                             f"{', '.join(restarts[:3])}{' ...' if len(restarts) > 3 else ''})" if restarts else ""))
    prov.add_operation("s3:GetObject", {"Bucket": bucket, "Keys": "every digest file listed for the period, and the "
                                        "previous digest each names when it is not among them"},
                       pages=reads, records=reads)
    prov.raw_files += all_prov_files
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudtrail-digest/responses.json", raw_doc))
    prov.notes.insert(0, f"Trail {trail['Name']} (log file validation "
                         f"{'on' if trail.get('LogFileValidationEnabled') else 'off'}) "
                         f"delivers to s3://{bucket}/{prefix}; digest signatures checked as `aws cloudtrail "
                         "validate-logs` does (SHA256withRSA, public keys from cloudtrail:ListPublicKeys).")
    listed_prov = provenance(account, "aws:cloudtrail+s3")
    listed_prov.operations, listed_prov.raw_files = list(prov.operations), list(prov.raw_files)
    listed_prov.notes = [f"The log files the digest files list, read from the same {reads} digest files "
                         "(cloudtrail-digests)."]
    return (Collected(pd.DataFrame(digest_rows, columns=DIGEST_COLUMNS), prov),
            Collected(pd.DataFrame(listed_rows, columns=LISTED_COLUMNS), listed_prov))


def _digest_row(account_id: str, region: str, d: _Digest) -> dict[str, Any]:
    return {
        "account_id": account_id, "region": region, "digest_key": d.key, "digest_start": d.start,
        "digest_end": d.end, "previous_digest_key": str(d.doc.get("previousDigestS3Object") or ""),
        "public_key_fingerprint": str(d.doc.get("digestPublicKeyFingerprint") or ""),
        "signature_valid": not d.problems, "chain_ok": not d.chain_problems,
        "log_files": len(d.log_files), "problem": "; ".join(d.problems + d.chain_problems),
    }
