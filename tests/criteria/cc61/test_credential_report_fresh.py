"""The credential report is the account's state only when AWS generated it for this collection: an old one
(AWS regenerates a report older than 4 hours) is stale evidence, refused rather than tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from auditbook.demo import aws as demo_aws
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.aws.iam import collect_credential_report
from auditbook.sources.aws.session import AwsAccount


def account() -> AwsAccount:
    return AwsAccount(demo_aws.DEMO_ACCOUNT_ID, "demo", boto3.Session(region_name=demo_aws.DEMO_REGION),
                      demo_aws.DEMO_REGION)


def test_a_report_generated_now_is_used_and_its_time_recorded(demo_env, tmp_path):
    collected = collect_credential_report(account(), RawStore(tmp_path))
    note = next(n for n in collected.provenance.notes if n.startswith("Credential report generated at"))
    generated = datetime.fromisoformat(note.split(" at ")[1].split(" ")[0].replace("Z", "+00:00"))
    assert datetime.now(UTC) - generated < timedelta(minutes=5)


@pytest.mark.parametrize("age", [timedelta(hours=5), timedelta(days=3960)])  # the 2015 time moto used to answer
def test_a_stale_report_is_refused_naming_its_time(demo_env, tmp_path, age):
    demo_aws.REPORT_GENERATED_AT["override"] = datetime.now(UTC) - age
    try:
        with pytest.raises(CollectionError, match="the report is stale: generated"):
            collect_credential_report(account(), RawStore(tmp_path))
    finally:
        demo_aws.REPORT_GENERATED_AT["override"] = None
