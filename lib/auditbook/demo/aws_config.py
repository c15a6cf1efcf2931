"""The demo account's AWS Config: a recorder since 2026-05-01 and the configuration history it kept.

The recorder records trails and Auto Scaling groups (not every type: the others have no history, and their
timelines are unknown). Two changes inside the quarter were put back before the quarterly run, so only the
history shows them: log file validation switched off by hand and back on by the pipeline the next morning
(the same calls the trail logged, :data:`aws_monitoring.WEAKENING`), and an Auto Scaling group reduced to
one availability zone for two days by the pipeline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from freezegun import freeze_time

from auditbook.demo import aws_monitoring, moto_config
from auditbook.demo.trail import PIPELINE_ROLE, Trail, role_identity

ACCOUNT, REGION = "123456789012", "us-east-1"
RECORDING_SINCE = "2026-05-01T00:00:00"
RECORDED = ["AWS::CloudTrail::Trail", "AWS::AutoScaling::AutoScalingGroup"]
# (group, zones it was reduced to, from, to): the pipeline applied a wrong subnet list, then reverted it.
ONE_ZONE = ("payments-api-asg", ["us-east-1a"], "2026-07-20T13:00:00", "2026-07-22T09:00:00")


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="demo",
                        aws_secret_access_key="demo")


def _camel(item: dict[str, Any]) -> dict[str, Any]:
    """An API answer's keys as Config writes them in a configuration item (``IsMultiRegionTrail`` →
    ``isMultiRegionTrail``)."""
    return {key[:1].lower() + key[1:]: value for key, value in item.items()}


def record_calls(trail: Trail) -> None:
    """The pipeline's calls that reduced the group to one zone and put it back, on the trail."""
    group, zones, start, end = ONE_ZONE
    for when, session, to in ((start, "gha-terraform-5120", zones),
                              (end, "gha-terraform-5127", ["us-east-1a", "us-east-1b", "us-east-1c"])):
        trail.record(_t(when), "autoscaling.amazonaws.com", "UpdateAutoScalingGroup",
                     role_identity(ACCOUNT, PIPELINE_ROLE, session), read_only=False,
                     params={"autoScalingGroupName": group, "availabilityZones": to})


def seed(endpoint: str) -> None:
    """The recorder (moto's own API) and each recorded resource's history (:mod:`moto_config`), once the trail
    and the groups exist."""
    moto_config.install()
    config = _client("config", endpoint)
    with freeze_time(_t(RECORDING_SINCE)):
        config.put_configuration_recorder(ConfigurationRecorder={
            "name": "default", "roleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-config-recorder",
            "recordingGroup": {"allSupported": False, "includeGlobalResourceTypes": False,
                               "resourceTypes": RECORDED}})
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "demo-fintech-config"})
        config.start_configuration_recorder(ConfigurationRecorderName="default")
    since = _t(RECORDING_SINCE)
    for t in _client("cloudtrail", endpoint).describe_trails(includeShadowTrails=False)["trailList"]:
        baseline = _camel(t)
        moto_config.record(ACCOUNT, REGION, "AWS::CloudTrail::Trail", t["Name"], t["Name"], since, baseline,
                           status="ResourceDiscovered", arn=t["TrailARN"])
        for when, validation in ((aws_monitoring.WEAKENING[0], False), (aws_monitoring.RESTORED[0], True)):
            moto_config.record(ACCOUNT, REGION, "AWS::CloudTrail::Trail", t["Name"], t["Name"], _t(when),
                               {**baseline, "logFileValidationEnabled": validation}, arn=t["TrailARN"])
    for g in _client("autoscaling", endpoint).describe_auto_scaling_groups()["AutoScalingGroups"]:
        config_item = _camel({k: v for k, v in g.items() if k not in ("Instances", "CreatedTime")})
        name, arn = g["AutoScalingGroupName"], g.get("AutoScalingGroupARN", "")
        moto_config.record(ACCOUNT, REGION, "AWS::AutoScaling::AutoScalingGroup", arn or name, name, since,
                           config_item, status="ResourceDiscovered", arn=arn)
        group, zones, start, end = ONE_ZONE
        if name == group:
            moto_config.record(ACCOUNT, REGION, "AWS::AutoScaling::AutoScalingGroup", arn or name, name, _t(start),
                               {**config_item, "availabilityZones": zones}, arn=arn)
            moto_config.record(ACCOUNT, REGION, "AWS::AutoScaling::AutoScalingGroup", arn or name, name, _t(end),
                               config_item, arn=arn)


def truth() -> list[dict[str, str]]:
    group, _, start, end = ONE_ZONE
    return [
        {"test": "CC7.1-TRAIL", "resource": f"{ACCOUNT}:{aws_monitoring.TRAIL_NAME}",
         "why": f"log file validation off from {aws_monitoring.WEAKENING[0]} to {aws_monitoring.RESTORED[0]} "
                "(AWS Config history; on again at collection)"},
        {"test": "A1.1-ASG", "resource": f"{ACCOUNT}:{group}",
         "why": f"one availability zone from {start} to {end} (AWS Config history; three zones at collection)"},
    ]
