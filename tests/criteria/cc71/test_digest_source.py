"""The CloudTrail digest collector against the demo trail (every digest valid) and against fixture trails in
accounts of their own on the same emulator: one with a tampered log file, a missing log file, a digest with a bad
signature, a deleted digest and a digest signed with a key CloudTrail does not list; one with validation off."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd
import pytest
from auditbook import catalog
from auditbook.catalog import trail_selection
from auditbook.controls import cc71
from auditbook.demo import moto_extensions
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.trail import (
    TRAIL_BUCKET,
    TRAIL_NAME,
    TRAIL_PREFIX,
    Trail,
    build_digests,
    public_key_record,
    user_identity,
)
from auditbook.period import parse_period
from auditbook.provenance import CollectionError, RawStore
from auditbook.results import Status
from auditbook.sources.aws import cloudtrail, cloudtrail_digest
from auditbook.sources.aws.session import AwsAccount
from cryptography.hazmat.primitives.asymmetric import rsa

FIXTURE, VALIDATION_OFF = "210987654321", "210987654322"
PERIOD = parse_period("2026-08-01..2026-08-03")
REGIONS = ["us-east-1", "eu-west-1"]
KNOWN = rsa.generate_private_key(public_exponent=65537, key_size=1024)
UNKNOWN = rsa.generate_private_key(public_exponent=65537, key_size=1024)


def bucket_of(account_id: str) -> str:
    return f"fixture-trail-{account_id}"


def assumed(account_id: str) -> AwsAccount:
    """Another account on the demo's emulator (moto keeps accounts apart by the assumed role's credentials)."""
    sts = boto3.client("sts", region_name=DEMO_REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/auditbook-fixture",
                            RoleSessionName="fixture")["Credentials"]
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name=DEMO_REGION)
    return AwsAccount(account_id, "fixture", session, DEMO_REGION)


def log_files(account_id: str, hours: list[tuple[str, datetime]]) -> dict[str, bytes]:
    trail = Trail(account_id, seed=3)
    for region, at in hours:
        trail.record(at, "ec2.amazonaws.com", "DescribeInstances", user_identity(account_id, "ops"), read_only=True,
                     region=region)
    return {k.replace(TRAIL_BUCKET, bucket_of(account_id)): v for k, v in trail.files().items()}


def delivered(account: AwsAccount, period, regions: list[str], tmp_path) -> pd.DataFrame:
    """The files as the events collector lists and hashes them (cloudtrail-log-files)."""
    files, _ = cloudtrail.collect_trail_logs(account, RawStore(tmp_path / "trail-raw"), period, regions,
                                             selection=trail_selection())
    return catalog.population("cloudtrail-log-files", files).frame


def digest_at(digests: dict, region: str, end: str) -> str:
    return next(k for k in digests if f"/CloudTrail-Digest/{region}/" in k and k.endswith(f"_{end}.json.gz"))


def file_at(files: dict, region: str, when: str) -> str:
    return next(k for k in files if f"/CloudTrail/{region}/" in k and f"_{when}_" in k)


@pytest.fixture(scope="module")
def fixture_trail(demo_env):
    """Three days of hourly files in us-east-1 (and one file the day before, so the first digest of the period has a
    previous one outside it), one file in eu-west-1; then the five faults."""
    account = assumed(FIXTURE)
    s3, ct = account.client("s3"), account.client("cloudtrail")
    bucket = bucket_of(FIXTURE)
    s3.create_bucket(Bucket=bucket)
    ct.create_trail(Name=TRAIL_NAME, S3BucketName=bucket, S3KeyPrefix=TRAIL_PREFIX, IsMultiRegionTrail=True,
                    EnableLogFileValidation=True)
    hours = [("us-east-1", datetime(2026, 7, 31, 23, 20, tzinfo=UTC))]
    hours += [("us-east-1", datetime(2026, 8, day, hour, 20, tzinfo=UTC))
              for day in (1, 2, 3) for hour in range(10, 14)]
    hours += [("eu-west-1", datetime(2026, 8, 2, 9, 30, tzinfo=UTC))]
    files = log_files(FIXTURE, hours)
    us = build_digests({k: v for k, v in files.items() if "/us-east-1/" in k}, account_id=FIXTURE, key=KNOWN,
                       bucket=bucket)
    eu = build_digests({k: v for k, v in files.items() if "/eu-west-1/" in k}, account_id=FIXTURE, key=UNKNOWN,
                       bucket=bucket)
    digests = {**us, **eu}
    tampered, missing = file_at(files, "us-east-1", "20260801T1100Z"), file_at(files, "us-east-1", "20260802T1000Z")
    bad, gap = digest_at(us, "us-east-1", "20260802T140000Z"), digest_at(us, "us-east-1", "20260803T120000Z")
    content = bytearray(gzip.decompress(files[tampered]))
    content[content.index(b"DescribeInstances")] = ord("d")  # one byte changed, re-gzipped
    files[tampered] = gzip.compress(bytes(content), mtime=0)
    delivered = {k: v for k, v in files.items() if k != missing}
    body, meta = digests[bad]
    flipped = meta["signature"][:-1] + ("0" if meta["signature"][-1] != "0" else "1")
    digests[bad] = (body, {**meta, "signature": flipped})
    del digests[gap]
    for key, body in delivered.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for key, (body, meta) in digests.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=meta)
    moto_extensions.publish_public_keys(FIXTURE, [public_key_record(KNOWN)])
    return {"account": account, "files": files, "delivered": delivered, "us": us, "tampered": tampered,
            "missing": missing, "bad": bad, "gap": gap, "eu": next(iter(eu))}


@pytest.fixture(scope="module")
def collected(fixture_trail, tmp_path_factory):
    raw = RawStore(tmp_path_factory.mktemp("digests") / "raw")
    digests, listed = cloudtrail_digest.collect_digests(fixture_trail["account"], raw, PERIOD, REGIONS)
    return (catalog.population("cloudtrail-digests", digests),
            catalog.population("cloudtrail-digest-log-files", listed), raw)


def test_every_fault_is_found_row_by_row(fixture_trail, collected):
    digests, listed, _ = collected
    us, bad, gap = fixture_trail["us"], fixture_trail["bad"], fixture_trail["gap"]
    in_period = sorted(k for k in us if not k.endswith("20260801T000000Z.json.gz"))  # the day-before file's digest
    frame = digests.frame.set_index("digest_key")
    assert sorted(frame.index) == sorted([k for k in in_period if k != gap] + [fixture_trail["eu"]])
    after_bad = in_period[in_period.index(bad) + 1]
    after_gap = in_period[in_period.index(gap) + 1]
    problems = {k: p for k, p in frame["problem"].items() if p}
    assert set(problems) == {bad, after_bad, after_gap, fixture_trail["eu"]}
    assert not frame.loc[bad, "signature_valid"] and frame.loc[bad, "chain_ok"]
    assert problems[bad].startswith("signature does not verify")
    assert frame.loc[after_bad, "signature_valid"] and not frame.loc[after_bad, "chain_ok"]
    assert "no longer carries previousDigestSignature" in problems[after_bad]
    assert not frame.loc[after_gap, "chain_ok"] and problems[after_gap] == f"previous digest {gap} is missing: the " \
        "chain is broken"
    assert not frame.loc[fixture_trail["eu"], "signature_valid"]
    assert "signed with a key CloudTrail does not list" in problems[fixture_trail["eu"]]
    first = in_period[0]
    assert frame.loc[first, "chain_ok"] and frame.loc[first, "previous_digest_key"].endswith("20260801T000000Z.json.gz")
    assert frame["log_files"].sum() == len(listed.frame) == 13 - 1  # the gap's file is listed nowhere read


def test_the_integrity_worksheet_and_test_find_each_fault(fixture_trail, collected, tmp_path):
    digests, listed, _ = collected
    files = delivered(fixture_trail["account"], PERIOD, REGIONS, tmp_path)
    tampered = files.set_index("key").loc[fixture_trail["tampered"], "content_sha256"]
    assert tampered == hashlib.sha256(gzip.decompress(fixture_trail["files"][fixture_trail["tampered"]])).hexdigest()
    sheet = catalog.conform("cloudtrail-log-integrity",
                            cc71.log_integrity(files, digests.frame, listed.frame, PERIOD.start, PERIOD.end))
    status = dict(zip(sheet["key"], sheet["status"], strict=True))
    bad_hour = file_at(fixture_trail["files"], "us-east-1", "20260802T1300Z")  # listed in the bad digest
    gap_hour = file_at(fixture_trail["files"], "us-east-1", "20260803T1100Z")  # listed in the deleted digest
    eu_file = file_at(fixture_trail["files"], "eu-west-1", "20260802T0900Z")
    expected = {fixture_trail["tampered"]: "modified", fixture_trail["missing"]: "missing",
                bad_hour: "not in a digest", gap_hour: "not in a digest", eu_file: "not in a digest",
                fixture_trail["bad"]: "signature invalid", fixture_trail["eu"]: "signature invalid"}
    broken = sheet[sheet["status"] == "chain broken"]["key"]
    assert {k: s for k, s in status.items() if s not in ("valid", "chain broken")} == expected
    assert len(broken) == 2
    assert sum(s == "valid" for s in status.values()) == 12 - 4  # 12 files, less the four faulted ones
    result = cc71.log_files_intact(sheet)
    assert result.status is Status.FAIL
    assert sorted(result.deviations["resource_id"]) == sorted(f"{FIXTURE}:{k}" for k in [*expected, *broken])
    assert result.notes[0].startswith("8 log files validated, 1 modified, 1 missing, digest chain broken")
    doubt = cc71.trail_doubt(sheet)  # and every test on this trail's events is ERROR, saying why
    assert "(1 modified, 1 missing; see CC7.1-LOG-INTEGRITY)" in doubt
    assert fixture_trail["tampered"] in doubt and fixture_trail["missing"] in doubt


def test_provenance_and_raw_digests_are_kept(fixture_trail, collected):
    digests, _, raw = collected
    operations = {o.operation: o for o in digests.provenance.operations}
    assert set(operations) == {"cloudtrail:DescribeTrails", "s3:ListObjectsV2", "cloudtrail:ListPublicKeys",
                               "s3:GetObject"}
    kept = {r["path"] for r in digests.provenance.raw_files}
    previous = next(k for k in fixture_trail["us"] if k.endswith("20260801T000000Z.json.gz"))
    assert f"raw/aws/{FIXTURE}/cloudtrail/{previous}" in kept  # the previous digest read for the first link
    assert f"raw/aws/{FIXTURE}/cloudtrail/{fixture_trail['bad']}" in kept
    responses = json.loads((raw.root / "aws" / FIXTURE / "cloudtrail-digest" / "responses.json").read_text())
    assert responses["GetObject"][fixture_trail["bad"]]["Metadata"]["signature-algorithm"] == "SHA256withRSA"
    assert responses["ListPublicKeys"]["us-east-1"][0]["PublicKeyList"][0]["Fingerprint"] == \
        public_key_record(KNOWN)["Fingerprint"]
    assert not any("/CloudTrail/" in path for path in kept), "only digest files are read"


def test_an_empty_period_has_no_digests_and_nothing_to_test(fixture_trail, tmp_path):
    digests, listed = cloudtrail_digest.collect_digests(fixture_trail["account"], RawStore(tmp_path / "raw"),
                                                        parse_period("2026-05"), REGIONS)
    assert digests.frame.empty and listed.frame.empty
    assert "cloudtrail:ListPublicKeys" not in {o.operation for o in digests.provenance.operations}
    sheet = cc71.log_integrity(delivered(fixture_trail["account"], parse_period("2026-05"), REGIONS, tmp_path),
                               catalog.population("cloudtrail-digests", digests).frame,
                               catalog.population("cloudtrail-digest-log-files", listed).frame,
                               parse_period("2026-05").start, parse_period("2026-05").end)
    result = cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", sheet))
    assert result.status is Status.PASS and result.notes[0].startswith("No resources in scope")


@pytest.fixture(scope="module")
def validation_off(demo_env):
    account = assumed(VALIDATION_OFF)
    s3 = account.client("s3")
    s3.create_bucket(Bucket=bucket_of(VALIDATION_OFF))
    account.client("cloudtrail").create_trail(Name=TRAIL_NAME, S3BucketName=bucket_of(VALIDATION_OFF),
                                              S3KeyPrefix=TRAIL_PREFIX, IsMultiRegionTrail=True)
    files = log_files(VALIDATION_OFF, [("us-east-1", datetime(2026, 8, d, 10, tzinfo=UTC)) for d in (1, 2)])
    for key, body in files.items():
        s3.put_object(Bucket=bucket_of(VALIDATION_OFF), Key=key, Body=body)
    return account, files


def test_validation_off_leaves_every_file_undigested_and_the_test_fails_saying_so(validation_off, tmp_path):
    account, files = validation_off
    digests, listed = cloudtrail_digest.collect_digests(account, RawStore(tmp_path / "raw"), PERIOD, REGIONS)
    assert digests.frame.empty and listed.frame.empty
    assert "log file validation off" in digests.provenance.notes[0]
    sheet = catalog.conform("cloudtrail-log-integrity", cc71.log_integrity(
        delivered(account, PERIOD, REGIONS, tmp_path), catalog.population("cloudtrail-digests", digests).frame,
        catalog.population("cloudtrail-digest-log-files", listed).frame, PERIOD.start, PERIOD.end))
    assert set(sheet["status"]) == {"not in a digest"} and len(sheet) == 2
    result = cc71.log_files_intact(sheet)
    assert result.status is Status.FAIL and result.deviation_count == 2
    assert any(n.startswith(f"Log file validation was off in {VALIDATION_OFF}:us-east-1") for n in result.notes)


def test_a_digest_that_does_not_decompress_is_a_collection_error(validation_off, tmp_path):
    account, _ = validation_off
    key = (f"{TRAIL_PREFIX}/AWSLogs/{VALIDATION_OFF}/CloudTrail-Digest/us-east-1/2026/09/15/{VALIDATION_OFF}_"
           f"CloudTrail-Digest_us-east-1_{TRAIL_NAME}_us-east-1_20260915T110000Z.json.gz")
    account.client("s3").put_object(Bucket=bucket_of(VALIDATION_OFF), Key=key, Body=b"<html>502</html>")
    with pytest.raises(CollectionError, match=r"^s3:GetObject .*20260915T110000Z.json.gz: not a CloudTrail digest"):
        cloudtrail_digest.collect_digests(account, RawStore(tmp_path / "raw"), parse_period("2026-09-15..2026-09-15"),
                                          ["us-east-1"])


def test_no_public_key_for_the_period_is_a_collection_error(fixture_trail, tmp_path):
    moto_extensions.publish_public_keys(FIXTURE, [])
    try:
        with pytest.raises(CollectionError, match=r"cloudtrail:ListPublicKeys \(us-east-1\): no public key"):
            cloudtrail_digest.collect_digests(fixture_trail["account"], RawStore(tmp_path / "raw"), PERIOD, REGIONS)
    finally:
        moto_extensions.publish_public_keys(FIXTURE, [public_key_record(KNOWN)])


def test_the_demo_trail_validates_completely(account, raw, tmp_path):
    """Every digest of the demo quarter (and the day after) verifies and chains; the files they list are exactly the
    files the events collector read, each with its content's hash."""
    period = parse_period("2026-Q3")
    digests, listed = (catalog.population(name, part) for name, part in zip(
        ("cloudtrail-digests", "cloudtrail-digest-log-files"),
        cloudtrail_digest.collect_digests(account, raw, period, [DEMO_REGION]), strict=True))
    frame = digests.frame
    assert len(frame) > 700 and frame["signature_valid"].all() and frame["chain_ok"].all()
    assert (frame["problem"] == "").all() and frame["digest_start"].min() < period.start + timedelta(days=1)
    files = delivered(account, period, [DEMO_REGION], tmp_path)
    assert files["day"].max() == "2026-10-01"  # the day after holds the period's last minutes
    sheet = catalog.conform("cloudtrail-log-integrity", cc71.log_integrity(files, frame, listed.frame,
                                                                           period.start, period.end))
    assert set(sheet["status"]) == {"valid"} and len(sheet) == len(files)
    result = cc71.log_files_intact(sheet)
    assert result.status is Status.PASS
    assert result.notes == [f"{len(files)} log files validated, 0 modified, 0 missing, digest chain unbroken."]
