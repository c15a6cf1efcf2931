"""A setting's timeline from CloudTrail's change events between readings (collection, snapshots): KMS rotation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from auditbook import catalog, timeline
from auditbook.notebook import _write_csv
from auditbook.provenance import RawStore
from auditbook.sources import snapshot_states
from auditbook.sources.aws import kms

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
READ = datetime(2026, 12, 3, 6, tzinfo=UTC)
DERIVE = catalog.entry("kms-rotation-timeline").derive


def t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def key(key_id: str, rotation: bool | None, created: str = "2024-01-01", **extra) -> dict:
    return {"account_id": "1", "region": "r", "key_id": key_id, "arn": f"arn:aws:kms:r:1:key/{key_id}",
            "aliases": "", "description": "", "key_manager": "CUSTOMER", "key_state": "Enabled",
            "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT", "rotation_enabled": rotation,
            "created": t(created), **extra}


def event(name: str, when: str, key_ref: str | None, error: str = "") -> dict:
    return {"account_id": "1", "event_time": t(when), "event_id": f"id-{name}-{when}",
            "event_source": "kms.amazonaws.com", "event_name": name, "read_only": False,
            "event_type": "AwsApiCall", "aws_region": "r", "identity_type": "AssumedRole", "principal_arn": "",
            "principal_name": "deploy", "role_name": "ci", "invoked_by": "", "source_ip": "", "user_agent": "",
            "error_code": error, "request_parameters": json.dumps({"keyId": key_ref}) if key_ref else "",
            "additional_event_data": "", "log_file": ""}


def coverage(*blind_days: str) -> pd.DataFrame:
    days = pd.date_range("2026-07-01", "2026-09-30", freq="D")
    return pd.DataFrame([{"account_id": "1", "region": "r", "day": f"{d:%Y-%m-%d}",
                          "log_files": 0 if f"{d:%Y-%m-%d}" in blind_days else 24, "records": 0} for d in days])


def derive(keys, events, readings=None, cov=None):
    readings = catalog.empty("kms-keys-in-snapshots") if readings is None else readings
    frame = DERIVE(current=catalog.from_rows("kms-keys", keys), readings=readings,
                   events=catalog.from_rows("cloudtrail-events", events), coverage=coverage() if cov is None else cov,
                   period_start=START, period_end=END, read_at=READ)
    return catalog.conform("kms-rotation-timeline", frame)


def spans(frame: pd.DataFrame, resource: str) -> list[tuple[str, str, object]]:
    mine = frame[frame["resource"] == resource]
    return [(f"{r.valid_from:%m-%d %H:%M}", f"{r.valid_to:%m-%d %H:%M}", r.rotation_enabled if r.known else "?")
            for r in mine.itertuples()]


def test_rotation_calls_are_changes_of_the_key_they_name_and_a_failed_call_changes_nothing():
    events = catalog.from_rows("cloudtrail-events", [
        event("DisableKeyRotation", "2026-08-22T09:00", "k1"),
        event("EnableKeyRotation", "2026-08-26T11:30", "arn:aws:kms:r:1:key/k1"),
        event("DisableKeyRotation", "2026-08-27T10:00", "k1", error="AccessDenied"),
        event("EnableKeyRotation", "2026-08-28T10:00", None)])
    changes = kms.rotation_changes(events)
    assert list(zip(changes["resource"], changes["value"], strict=True)) == [("1:r:k1", False), ("1:r:k1", True),
                                                                             ("", None)]
    assert changes["evidence"].iloc[0].startswith("CloudTrail DisableKeyRotation 2026-08-22 09:00 by deploy")


def test_changes_between_snapshot_readings_give_the_exact_interval_and_a_day_without_logs_is_unknown():
    readings = catalog.from_rows("kms-keys-in-snapshots", [
        {**key("k1", True), "taken_at": t("2026-08-10T06:00")}, {**key("k1", True), "taken_at": t("2026-08-21T06:00")}])
    frame = derive([key("k1", True)], [event("DisableKeyRotation", "2026-08-22T09:00", "k1"),
                                       event("EnableKeyRotation", "2026-08-26T11:30", "k1")],
                   readings, coverage("2026-08-17"))
    assert spans(frame, "1:r:k1") == [("07-01 00:00", "08-17 00:00", True), ("08-17 00:00", "08-18 00:00", "?"),
                                      ("08-18 00:00", "08-22 09:00", True), ("08-22 09:00", "08-26 11:30", False),
                                      ("08-26 11:30", "10-01 00:00", True)]
    assert timeline.gaps(frame, ["1:r:k1"]) == ["1:r:k1: 2026-08-17 00:00 to 2026-08-18 00:00 unknown: no "
                                                "CloudTrail events are read for this stretch (no log files, or "
                                                "after the events read)"]


def test_without_a_reading_in_reach_the_period_is_unknown_and_a_key_created_in_it_starts_then():
    frame = derive([key("old", True), key("new", False, created="2026-09-01T12:00")], [])
    assert spans(frame, "1:r:old") == [("07-01 00:00", "10-01 00:00", "?")]  # collection is beyond the events read
    assert spans(frame, "1:r:new") == [("09-01 12:00", "10-01 00:00", "?")]


def test_an_event_naming_no_key_makes_every_key_of_its_region_unknown_after_it():
    readings = catalog.from_rows("kms-keys-in-snapshots", [{**key("k1", True), "taken_at": t("2026-08-10T06:00")}])
    frame = derive([key("k1", True)], [event("EnableKeyRotation", "2026-08-28T10:00", None)], readings)
    assert spans(frame, "1:r:k1") == [("07-01 00:00", "08-28 10:00", True), ("08-28 10:00", "10-01 00:00", "?")]


def test_snapshot_readings_are_one_population_with_the_moment_each_was_taken(tmp_path):
    folders = []
    for stamp, on in (("20260810T060000Z", True), ("20260811T060000Z", False)):
        folder = tmp_path / "snapshots" / stamp
        _write_csv(catalog.from_rows("kms-keys", [key("k1", on)]), folder / "populations/kms-keys.csv")
        (folder / "snapshot.json").write_text(json.dumps({
            "taken_at": f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T06:00:00Z",
            "populations": {"kms-keys": {"file": "populations/kms-keys.csv"}}, "collection_errors": {}}))
        folders.append(str(folder))
    empty = tmp_path / "snapshots" / "20260812T060000Z"
    empty.mkdir()
    (empty / "snapshot.json").write_text(json.dumps({"taken_at": "2026-08-12T06:00:00Z", "populations": {},
                                                     "collection_errors": {"kms-keys": "AccessDenied"}}))
    got = snapshot_states.collect_states(RawStore(tmp_path / "raw"), "kms-keys", [*folders, str(empty)])
    frame = catalog.population("kms-keys-in-snapshots", got).frame
    assert [(f"{r.taken_at:%m-%d}", r.rotation_enabled) for r in frame.itertuples()] == [("08-10", True),
                                                                                         ("08-11", False)]
    assert [f["path"] for f in got.provenance.raw_files] == [
        "raw/snapshots/20260810T060000Z/kms-keys.csv", "raw/snapshots/20260811T060000Z/kms-keys.csv"]
    assert got.provenance.notes == ["20260812T060000Z: holds no reading of kms-keys"]


def test_versioning_calls_set_a_buckets_status_and_a_new_bucket_has_none():
    from auditbook.sources.aws import s3

    def put(bucket: str | None, status: str | None, when: str) -> dict:
        request = {"bucketName": bucket, "VersioningConfiguration": {"Status": status} if status else {}} \
            if bucket else {}
        return {**event("PutBucketVersioning", when, None), "event_source": "s3.amazonaws.com",
                "request_parameters": json.dumps(request)}

    created = {**event("CreateBucket", "2026-07-02T00:00", None), "event_source": "s3.amazonaws.com",
               "request_parameters": json.dumps({"bucketName": "new"})}
    changes = s3.versioning_changes(catalog.from_rows("cloudtrail-events", [
        created, put("b", "Suspended", "2026-09-15T10:00"), put("b", "Enabled", "2026-09-16T08:30"),
        put("b", None, "2026-09-17T00:00"), put(None, None, "2026-09-18T00:00")]))
    assert [(r, None if pd.isna(v) else v) for r, v in zip(changes["resource"], changes["value"], strict=True)] == [
        ("1:r:new", "Never enabled"), ("1:r:b", "Suspended"), ("1:r:b", "Enabled"), ("1:r:b", None), ("", None)]
    buckets = catalog.from_rows("s3-bucket-versioning", [{"account_id": "1", "bucket": "b", "region": "r",
                                                          "versioning": "Enabled", "tags": ""}])
    readings = catalog.from_rows("s3-bucket-versioning-in-snapshots", [
        {"account_id": "1", "bucket": "b", "region": "r", "versioning": "Enabled", "tags": "",
         "taken_at": t("2026-08-10T06:00")}])
    frame = catalog.entry("s3-versioning-timeline").derive(
        current=buckets, readings=readings, events=catalog.from_rows("cloudtrail-events", [
            put("b", "Suspended", "2026-09-15T10:00"), put("b", None, "2026-09-17T00:00")]),
        coverage=coverage(), period_start=START, period_end=END, read_at=READ)
    frame = catalog.conform("s3-versioning-timeline", frame)
    assert [(f"{r.valid_from:%m-%d}", r.versioning if r.known else "?") for r in frame.itertuples()] == [
        ("07-01", "Enabled"), ("09-15", "Suspended"), ("09-17", "?")]  # a call it cannot read: unknown after


def test_detector_calls_set_a_regions_guardduty_status():
    from auditbook.sources.aws import guardduty

    def call(name: str, when: str, request: dict | None) -> dict:
        return {**event(name, when, None), "event_source": "guardduty.amazonaws.com",
                "request_parameters": json.dumps(request) if request is not None else ""}

    changes = guardduty.detector_changes(catalog.from_rows("cloudtrail-events", [
        call("CreateDetector", "2026-07-02T00:00", {"enable": True}),
        call("UpdateDetector", "2026-07-03T00:00", {"detectorId": "d", "findingPublishingFrequency": "SIX_HOURS"}),
        call("UpdateDetector", "2026-07-04T00:00", {"detectorId": "d", "enable": False}),
        call("DeleteDetector", "2026-07-05T00:00", {"detectorId": "d"})]))
    assert list(zip(changes["resource"], changes["value"], strict=True)) == [
        ("1:r:guardduty", "ENABLED"), ("1:r:guardduty", "DISABLED"), ("1:r:guardduty", "NONE")]
