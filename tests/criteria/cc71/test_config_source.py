"""AWS Config history as a source, against the demo's Config emulator: the item in effect at the period start and
every one since, what the recorder records, a type not recorded, no recorder at all, pages, and a refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from auditbook.demo import moto_config
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.demo.faults import access_denied, operation
from auditbook.period import parse_period
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.aws.config import collect_config_history
from auditbook.sources.aws.session import AwsAccount

Q3 = parse_period("2026-Q3")
TYPES = ["AWS::CloudTrail::Trail", "AWS::KMS::Key"]


def account(account_id: str = DEMO_ACCOUNT_ID) -> AwsAccount:
    if account_id == DEMO_ACCOUNT_ID:
        return AwsAccount(account_id, "demo", boto3.Session(region_name=DEMO_REGION), DEMO_REGION)
    creds = boto3.client("sts", region_name=DEMO_REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/auditbook-fixture", RoleSessionName="fixture")["Credentials"]
    return AwsAccount(account_id, "fixture", boto3.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=DEMO_REGION), DEMO_REGION)


def test_the_trail_history_holds_the_item_before_the_period_and_every_change_inside(demo_env, tmp_path):
    history, recorders = collect_config_history(account(), RawStore(tmp_path), [DEMO_REGION], TYPES, Q3)
    trail = history.frame[history.frame["resource_type"] == "AWS::CloudTrail::Trail"]
    assert list(trail["status"]) == ["ResourceDiscovered", "OK", "OK"]
    assert [str(t)[:16] for t in trail["capture_time"]] == ["2026-05-01 00:00", "2026-09-10 14:05", "2026-09-11 09:31"]
    assert ['"logFileValidationEnabled": false' in c for c in trail["configuration"]] == [False, True, False]
    rec = recorders.frame.set_index("resource_type")
    assert bool(rec.at["AWS::CloudTrail::Trail", "recorded"]) and bool(rec.at["AWS::CloudTrail::Trail", "recording"])
    assert not rec.at["AWS::KMS::Key", "recorded"] and "no configuration recorder" in rec.at["AWS::KMS::Key", "detail"]
    assert (history.frame["resource_type"] == "AWS::KMS::Key").sum() == 0


def test_an_account_without_a_recorder_says_so_and_is_not_an_error(demo_env, tmp_path):
    history, recorders = collect_config_history(account("310000000071"), RawStore(tmp_path), [DEMO_REGION], TYPES,
                                                Q3)
    assert history.frame.empty and not recorders.frame["recorded"].any()


def test_every_page_of_a_long_history_is_read(demo_env, tmp_path):
    other = "310000000072"
    client = account(other).client("config")
    client.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::1:role/r",
                                                             "recordingGroup": {"allSupported": True}})
    client.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "b"})
    client.start_configuration_recorder(ConfigurationRecorderName="default")
    for day in range(1, 26):  # 25 items in the period: three pages of AWS's 10
        moto_config.record(other, DEMO_REGION, "AWS::CloudTrail::Trail", "t", "t",
                           datetime(2026, 8, day, tzinfo=UTC), {"name": "t", "logFileValidationEnabled": day % 2 == 0})
    history, _ = collect_config_history(account(other), RawStore(tmp_path), [DEMO_REGION], TYPES, Q3)
    assert len(history.frame) == 25 and history.frame["capture_time"].is_monotonic_increasing


def test_a_refused_history_call_is_a_collection_error(demo_env, tmp_path):
    demo_env.faults.aws.inject(operation("config", "GetResourceConfigHistory"), access_denied())
    try:
        with pytest.raises(CollectionError, match="GetResourceConfigHistory"):
            collect_config_history(account(), RawStore(tmp_path), [DEMO_REGION], TYPES, Q3)
    finally:
        demo_env.faults.clear()
