"""The streaming CloudTrail read: every log file listed and hashed, every record counted, only the selected events
kept, in bounded batches; the shapes real trails deliver (empty files, late files, odd records) and the ones that
must stop the collection. Each test has its own account in the emulator (an assumed role), with its own trail."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.events import sql
from auditbook.period import parse_period
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.aws import cloudtrail
from auditbook.sources.aws.session import open_account

PERIOD = parse_period("2026-07-01..2026-07-03")  # three days
REGIONS = ["us-east-1", "eu-west-1"]
_ACCOUNTS = itertools.count(310000000001)


def record(when: str, name: str = "DescribeInstances", *, read_only: bool | None = True, region: str = "us-east-1",
           source: str = "ec2.amazonaws.com", identity: dict | None = None, **extra) -> dict:
    rec = {"eventVersion": "1.09", "eventTime": when, "eventSource": source, "eventName": name,
           "awsRegion": region, "eventID": hashlib.md5(f"{when}{name}{extra}".encode()).hexdigest(),
           "eventType": "AwsApiCall", "userIdentity": identity or {"type": "IAMUser", "userName": "alice",
                                                                    "arn": "arn:aws:iam::1:user/alice"},
           "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2", "requestParameters": None, **extra}
    if read_only is not None:
        rec["readOnly"] = read_only
    return rec


class Trail:
    """A fresh account whose multi-region trail delivers the files a test writes."""

    def __init__(self, demo_env) -> None:
        self.account_id = str(next(_ACCOUNTS))
        self.account = open_account({"id": self.account_id,
                                     "role_arn": f"arn:aws:iam::{self.account_id}:role/auditbook-readonly"},
                                    "us-east-1")
        self.s3 = self.account.client("s3")
        self.bucket = f"trail-{self.account_id}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.account.client("cloudtrail").create_trail(Name="org", S3BucketName=self.bucket, S3KeyPrefix="p",
                                                      IsMultiRegionTrail=True, EnableLogFileValidation=True)
        self._n = itertools.count()

    def deliver(self, day: str, records: list[dict], region: str = "us-east-1", body: bytes | None = None) -> str:
        key = (f"p/AWSLogs/{self.account_id}/CloudTrail/{region}/{day.replace('-', '/')}/"
               f"{self.account_id}_CloudTrail_{region}_{day.replace('-', '')}T0000Z_{next(self._n):04d}.json.gz")
        data = body if body is not None else gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key

    def read(self, tmp_path, copy_all: bool = False, selection: str | None = None):
        files, events = cloudtrail.collect_trail_logs(self.account, RawStore(tmp_path / "raw"), PERIOD, REGIONS,
                                                      selection or catalog.trail_selection(), copy_all)
        return catalog.population("cloudtrail-log-files", files), catalog.population("cloudtrail-events", events)


@pytest.fixture
def trail(demo_env):
    return Trail(demo_env)


def test_every_file_is_listed_and_hashed_every_record_counted_only_selected_events_kept(trail, tmp_path):
    write = record("2026-07-01T10:00:00Z", "RunInstances", read_only=False)
    read = record("2026-07-01T10:01:00Z")
    secret = record("2026-07-02T09:00:00Z", "GetSecretValue", source="secretsmanager.amazonaws.com")
    k1 = trail.deliver("2026-07-01", [write, read])
    k2 = trail.deliver("2026-07-02", [secret, record("2026-07-02T09:05:00Z")], region="eu-west-1")
    files, events = trail.read(tmp_path)
    assert sorted(files.frame["key"]) == sorted([k1, k2])
    row = files.frame.set_index("key").loc[k1]
    body = trail.s3.get_object(Bucket=trail.bucket, Key=k1)["Body"].read()
    assert row["sha256"] == hashlib.sha256(body).hexdigest()
    assert row["content_sha256"] == hashlib.sha256(gzip.decompress(body)).hexdigest()  # CloudTrail digests' hash
    assert (row["records"], row["kept"], row["size"], row["bucket"]) == (2, 1, len(body), trail.bucket)
    assert list(events.frame["event_id"]) == [write["eventID"], secret["eventID"]]
    assert list(events.frame["log_file"]) == [k1, k2]
    assert events.frame["read_only"].tolist() == [False, True]
    assert not (tmp_path / "raw").exists() or not list((tmp_path / "raw").rglob("*.json.gz")), \
        "log files are evidence by reference unless every file is asked for"


def test_the_identity_columns_are_what_the_controls_read(trail, tmp_path):
    role = {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/BreakGlass/grace",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "BreakGlass"}}}
    service = {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"}
    root = {"type": "Root", "arn": "arn:aws:iam::1:root"}
    user_without_name = {"type": "IAMUser", "arn": "arn:aws:iam::1:user/path/bob"}
    recs = [record(f"2026-07-01T10:0{i}:00Z", "PutRolePolicy", read_only=False, identity=ident,
                   requestParameters={"roleName": "x", "policyName": "y"}, errorCode="AccessDenied" if i == 3 else None)
            for i, ident in enumerate([role, service, root, user_without_name])]
    trail.deliver("2026-07-01", recs)
    assert "AWSService" not in set(trail.read(tmp_path / "run")[1].frame["identity_type"]), \
        "a call an AWS service makes for the account is no one's change: not selected"
    events = trail.read(tmp_path, selection="read_only <> 'true'")[1].frame
    got = events[["identity_type", "principal_name", "role_name", "invoked_by", "error_code"]].values.tolist()
    assert got == [["AssumedRole", "grace", "BreakGlass", "", ""],
                   ["AWSService", "autoscaling.amazonaws.com", "", "autoscaling.amazonaws.com", ""],
                   ["Root", "root", "", "", ""],
                   ["IAMUser", "bob", "", "", "AccessDenied"]]
    assert json.loads(events["request_parameters"][0]) == {"roleName": "x", "policyName": "y"}


def test_the_next_days_file_holds_the_periods_last_minutes_and_nothing_outside_is_kept(trail, tmp_path):
    late = record("2026-07-03T23:59:30Z", "DeleteUser", read_only=False, source="iam.amazonaws.com")
    after = record("2026-07-04T00:00:10Z", "DeleteUser", read_only=False, source="iam.amazonaws.com")
    before = record("2026-06-30T23:59:59Z", "DeleteUser", read_only=False, source="iam.amazonaws.com")
    trail.deliver("2026-07-04", [late, after])
    trail.deliver("2026-07-01", [before])
    trail.deliver("2026-07-05", [record("2026-07-04T23:00:00Z", "DeleteUser", read_only=False)])  # not read at all
    files, events = trail.read(tmp_path)
    assert list(events.frame["event_id"]) == [late["eventID"]]
    assert sorted(files.frame["day"]) == ["2026-07-01", "2026-07-04"]


def test_empty_files_odd_but_valid_records_and_an_empty_trail(trail, tmp_path):
    files, events = trail.read(tmp_path)
    assert files.frame.empty and events.frame.empty and list(events.frame.columns) == list(sql.EVENT_COLUMNS)
    trail.deliver("2026-07-01", [])  # CloudTrail delivers files with no record
    trail.deliver("2026-07-02", [record("2026-07-02T01:00:00Z", "CreateBucket", read_only=None),  # readOnly absent
                                 record("2026-07-02T01:00:01Z", "ConsoleLogin", read_only=False,
                                        eventType="AwsConsoleSignIn", additionalEventData={"MFAUsed": "Yes"})])
    files, events = trail.read(tmp_path)
    assert files.frame["records"].tolist() == [0, 2]
    # the sign-in is kept (CC6.1 looks for leavers signing in), with its own event type: it is no API call
    assert events.frame["event_name"].tolist() == ["CreateBucket", "ConsoleLogin"]
    assert events.frame["event_type"].tolist() == ["AwsApiCall", "AwsConsoleSignIn"]
    assert events.frame["read_only"].tolist()[0] is None


@pytest.mark.parametrize("body, problem", [
    (b"not gzip", "not a CloudTrail log file (BadGzipFile)"),
    (gzip.compress(b'{"Logs": []}'), "not a CloudTrail log file (no Records)"),
    (gzip.compress(b'{"Records": [{"eventTime": '), "not a CloudTrail log file (not valid JSON)"),
    (gzip.compress(b'{"Records": [{"eventTime": "2026-07-02T00:00:00Z"} {"eventID": "x"}]}'),
     "not a CloudTrail log file"),
    (gzip.compress(b'{"Records": [1, 2]}'), "not a CloudTrail log file"),
])
def test_a_file_that_is_not_a_log_file_stops_the_collection_naming_it(trail, tmp_path, body, problem):
    trail.deliver("2026-07-01", [record("2026-07-01T10:00:00Z")])
    key = trail.deliver("2026-07-02", [], body=body)
    with pytest.raises(CollectionError) as caught:
        trail.read(tmp_path)
    assert key in str(caught.value) and problem in str(caught.value)


def test_a_record_without_a_field_aws_always_sends_stops_the_collection(trail, tmp_path):
    broken = record("2026-07-01T10:00:00Z")
    del broken["eventID"]
    key = trail.deliver("2026-07-01", [record("2026-07-01T09:00:00Z"), broken])
    with pytest.raises(CollectionError, match=r"lacks eventid, which AWS documents as always present") as caught:
        trail.read(tmp_path)
    assert key in str(caught.value)


def test_many_batches_give_the_same_answer_as_one(trail, tmp_path, monkeypatch):
    for day in ("2026-07-01", "2026-07-02", "2026-07-03"):
        for hour in range(6):
            trail.deliver(day, [record(f"{day}T{hour:02d}:{m:02d}:00Z", "PutObject" if m % 3 else "DeleteUser",
                                       read_only=bool(m % 2), source="iam.amazonaws.com") for m in range(40)],
                          region=REGIONS[hour % 2])
    one_files, one_events = trail.read(tmp_path / "one")
    monkeypatch.setattr(cloudtrail, "BATCH_BYTES", 1)  # one file per batch
    many_files, many_events = trail.read(tmp_path / "many")
    pd.testing.assert_frame_equal(one_events.frame, many_events.frame)
    pd.testing.assert_frame_equal(one_files.frame, many_files.frame)
    assert one_files.frame["records"].sum() == 18 * 40 and len(one_events.frame) == one_files.frame["kept"].sum()


def test_every_log_file_is_copied_when_params_ask_for_all(trail, tmp_path):
    key = trail.deliver("2026-07-01", [record("2026-07-01T10:00:00Z")])
    files, _ = trail.read(tmp_path, copy_all=True)
    copied = tmp_path / "raw" / cloudtrail.log_file_raw_path(trail.account_id, key)
    assert hashlib.sha256(copied.read_bytes()).hexdigest() == files.frame["sha256"][0]


def test_a_cited_file_is_copied_as_read_and_one_changed_since_is_refused(trail, tmp_path):
    key = trail.deliver("2026-07-01", [record("2026-07-01T10:00:00Z", "RunInstances", read_only=False)])
    files, _ = trail.read(tmp_path)
    raw = RawStore(tmp_path / "raw")
    listed = (trail.bucket, key, files.frame["sha256"][0])
    assert cloudtrail.copy_log_files(trail.account, raw, [listed]) == 1
    assert cloudtrail.copy_log_files(trail.account, raw, [listed]) == 0  # already there
    trail.s3.put_object(Bucket=trail.bucket, Key=key, Body=gzip.compress(b'{"Records": []}'))
    with pytest.raises(CollectionError, match="the log file changed after its events were read"):
        cloudtrail.copy_log_files(trail.account, RawStore(tmp_path / "raw2"), [listed])


def test_the_local_engine_runs_the_shared_query_text(trail, tmp_path, monkeypatch):
    """The text DuckDB runs on the log files is the text Athena would run on the trail's table."""
    from auditbook.events import local

    seen: list[str] = []
    original = local.events_query
    monkeypatch.setattr(local, "events_query", lambda *a, **k: seen.append(original(*a, **k)) or seen[-1])
    trail.deliver("2026-07-01", [record("2026-07-01T10:00:00Z", "RunInstances", read_only=False)])
    trail.read(tmp_path)
    expected = sql.events_query("cloudtrail_logs", trail.account_id, PERIOD.start, PERIOD.end,
                                catalog.trail_selection(), REGIONS)
    assert seen == [expected]
    assert "FROM cloudtrail_logs" in expected and "\"timestamp\" BETWEEN '2026/07/01' AND '2026/07/04'" in expected
