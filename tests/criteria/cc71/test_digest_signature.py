"""The digest signature is checked exactly as the AWS CLI's ``validate-logs`` checks it.

The CLI (aws/aws-cli, ``awscli/customizations/cloudtrail/validation.py``, ``Sha256RSADigestValidator``) verifies
PKCS #1 v1.5 SHA-256 over ``digestEndTime + "\\n" + digestS3Bucket + "/" + digestS3Object + "\\n" +
hex(sha256(inflated digest)) + "\\n" + previousDigestSignature``, with the text ``null`` for a digest that has no
previous one, the public key being ``ListPublicKeys``' ``Value`` as a DER PKCS #1 RSA key (the CLI base64-decodes the
wire value itself because it keeps blobs unparsed; boto3 hands the DER bytes over). The CLI is not installed here
and nothing of it is vendored: these are two fixed digests (the AWS user guide's sample, chained) signed once with a
throwaway 1024-bit key whose public part is below, and the strings the CLI would build for them, written out.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import pytest
from auditbook.demo.trail import build_digests, public_key_record
from auditbook.sources.aws.cloudtrail_digest import signature_problem, string_to_sign
from cryptography.hazmat.primitives.asymmetric import rsa

KEY = base64.b64decode(
    "MIGJAoGBAMHax/N06hxdr98Bm5yLsR/VtnYAKbhoEgpAhku+X5m3ejEm4AMlPjLWcIKPLcbsqxkQ/IMHDic9nJc2344WMYJFfnEZywDrUsa7j5J2"
    "IvJjECqLBM6t5EM0TQh6oGPK9WVUN42ilMSu2BbX1ZsbL9WT/56XsUDMT82i1IiJngM7AgMBAAE=")
BUCKET = "amzn-s3-demo-bucket"
FIRST_KEY = ("AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_"
             "your-trail-name_us-east-2_20150817T150131Z.json.gz")
SECOND_KEY = FIRST_KEY.replace("20150817T150131Z", "20150817T160131Z")
LOG = {"s3Bucket": BUCKET, "s3Object": "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_"
       "us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz",
       "hashValue": "9bb6196fc6b84d00c6ed1ef4e0a4f41d7aae1b5ad8e9b1a5d8a7f8bc6b8f1f6d", "hashAlgorithm": "SHA-256",
       "newestEventTime": "2015-08-17T14:52:27Z", "oldestEventTime": "2015-08-17T14:42:27Z"}
FIRST_SIGNATURE = (
    "1ca9a389e8152db353cabcb9036cc8d2f2652c3d345fc2bb66b45ceebc4eb080b481a156c771161b2cbe5fc413221f47b826f655bb7b8500"
    "1638aafdfd7f333c74bff8bdab2289dba3a5468c4623881049b1dee97f0d0e38b6efe6e4544342fa1506aa631469cc9f392f6142f9751399"
    "858f08ce39a8e9bb6795ed2b8cf838ec")
SECOND_SIGNATURE = (
    "c00eebae63eba1a9068a939dd46d6da5f792073342620bf530e68e81bbb795ee0f39c7db7fd2fa29aeb9267066cd3071188c2f15a0a7e397"
    "eb8d75ca642f57df37b6b926008822809e723ace6eaa27585f0e3a28a5634d366d0432804d6c4288603145f817ea98ddcad703fb1a120580"
    "80a41d47e02c61b17de1dabd18398929")
FIRST_SHA256 = "b674e43e29c31663e39304cadc194d6014ede0342274fa1277f25a82cc66ba07"
SECOND_SHA256 = "72ae32a183bced924531666d4fe8ed0bbfa0de4326bd0007dc290b06fa8016ae"


def digest(end: str, key: str, previous: tuple[str, str, str] | None) -> dict:
    prev_key, prev_hash, prev_sig = previous or (None, None, None)
    return {"awsAccountId": "111122223333", "digestStartTime": "2015-08-17T14:01:31Z", "digestEndTime": end,
            "digestS3Bucket": BUCKET, "digestS3Object": key,
            "digestPublicKeyFingerprint": hashlib.md5(KEY, usedforsecurity=False).hexdigest(),
            "digestSignatureAlgorithm": "SHA256withRSA", "newestEventTime": "2015-08-17T14:52:27Z",
            "oldestEventTime": "2015-08-17T14:42:27Z", "previousDigestS3Bucket": BUCKET if previous else None,
            "previousDigestS3Object": prev_key, "previousDigestHashValue": prev_hash,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None, "previousDigestSignature": prev_sig,
            "logFiles": [LOG]}


FIRST = digest("2015-08-17T15:01:31Z", FIRST_KEY, None)
SECOND = digest("2015-08-17T16:01:31Z", SECOND_KEY, (FIRST_KEY, FIRST_SHA256, FIRST_SIGNATURE))


def content(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def test_the_vectors_are_what_was_signed():
    assert hashlib.sha256(content(FIRST)).hexdigest() == FIRST_SHA256
    assert hashlib.sha256(content(SECOND)).hexdigest() == SECOND_SHA256


def test_the_string_to_sign_is_the_cli_s():
    assert string_to_sign(FIRST, content(FIRST)) == (
        f"2015-08-17T15:01:31Z\n{BUCKET}/{FIRST_KEY}\n{FIRST_SHA256}\nnull").encode()
    assert string_to_sign(SECOND, content(SECOND)) == (
        f"2015-08-17T16:01:31Z\n{BUCKET}/{SECOND_KEY}\n{SECOND_SHA256}\n{FIRST_SIGNATURE}").encode()


def test_known_signatures_verify():
    assert signature_problem(FIRST, content(FIRST), FIRST_SIGNATURE, KEY) == ""
    assert signature_problem(SECOND, content(SECOND), SECOND_SIGNATURE, KEY) == ""
    assert signature_problem(FIRST, content(FIRST), FIRST_SIGNATURE.upper(), KEY) == ""  # hex in either case


@pytest.mark.parametrize("change", ["one byte of the content", "the signature", "the previous signature",
                                    "null spelt None", "the key"])
def test_any_change_fails(change):
    doc, body, signature, key = SECOND, content(SECOND), SECOND_SIGNATURE, KEY
    if change == "one byte of the content":
        body = body.replace(b'"SHA-256"', b'"SHA-255"', 1)
    elif change == "the signature":
        signature = ("0" if signature[0] != "0" else "1") + signature[1:]
    elif change == "the previous signature":
        doc = {**doc, "previousDigestSignature": doc["previousDigestSignature"][:-1] + "0"}
    elif change == "null spelt None":  # the first digest is signed over the text "null", nothing else
        doc, body, signature = {**FIRST, "previousDigestSignature": "None"}, content(FIRST), FIRST_SIGNATURE
    else:
        key = public_key_record(rsa.generate_private_key(public_exponent=65537, key_size=1024))["Value"]
    assert signature_problem(doc, body, signature, key).startswith("signature does not verify")


def test_odd_signatures_and_keys_are_problems_not_exceptions():
    assert signature_problem(FIRST, content(FIRST), "not hex", KEY).startswith("signature does not verify")
    assert "does not load" in signature_problem(FIRST, content(FIRST), FIRST_SIGNATURE, b"\x30\x03junk")


def test_the_demo_signer_and_the_validator_agree():
    """Two implementations (demo/trail.py signs, sources/aws/cloudtrail_digest.py verifies) against each other."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    record = public_key_record(key)
    body = gzip.compress(json.dumps({"Records": [{"eventTime": "2026-08-01T10:15:00Z"}]}).encode())
    files = {f"audit/AWSLogs/210987654321/CloudTrail/us-east-1/2026/08/01/210987654321_CloudTrail_us-east-1_"
             f"20260801T{h:02d}00Z_{h:016x}.json.gz": body for h in (10, 11)}
    digests = build_digests(files, account_id="210987654321", key=key, bucket="b")
    assert len(digests) == 2
    for gz, meta in digests.values():
        doc = json.loads(gzip.decompress(gz))
        assert doc["digestPublicKeyFingerprint"] == record["Fingerprint"] and meta["signature-algorithm"] == \
            "SHA256withRSA"
        assert signature_problem(doc, gzip.decompress(gz), meta["signature"], record["Value"]) == ""
    first, second = (json.loads(gzip.decompress(gz)) for gz, _ in digests.values())
    assert first["previousDigestSignature"] is None and second["previousDigestS3Object"] == next(iter(digests))
