"""The demo account's production platform for CC9.1 (IaC, container findings), A1.1 (availability)
and A1.2 (backups and restore tests), and the deviations it seeds (:func:`truth`).

Created through the real APIs against the moto server, backdated with freezegun. What moto cannot
hold is added without thousands of API calls: RDS automated snapshots are created on moto's RDS
backend (one per database and day of retention), AWS Backup recovery points and restore jobs go
into :mod:`auditbook.demo.moto_extensions` (served by ``ListRecoveryPointsByBackupVault`` and
``ListRestoreJobs``), and a stack's drift result is set on moto's stack object.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
from freezegun import freeze_time

from auditbook.demo import moto_extensions

ACCOUNT = "123456789012"
REGION = "us-east-1"
COPY_REGION = "us-west-2"
PERIOD = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
BACKUP_HISTORY_START = date(2026, 6, 1)
NAMESPACE = uuid.UUID("9a3c5e1f-0b7d-4c2a-8e6f-3d1b2a4c5e60")
PRODUCTION = {"environment": "production"}
ALERT_TOPIC = "availability-alerts"


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


@dataclass
class DemoDatabase:
    name: str
    created: str
    multi_az: bool
    retention_days: int
    tags: dict[str, str]
    in_backup_plan: bool = True
    missing_backup_days: list[date] = field(default_factory=list)
    deviations: list[tuple[str, str]] = field(default_factory=list)


CRITICAL = {**PRODUCTION, "criticality": "critical"}
DATABASES = [
    DemoDatabase("payments-prod", "2024-03-01T08:00:00", True, 35, CRITICAL),
    DemoDatabase("ledger-prod", "2024-03-01T08:30:00", True, 35, CRITICAL,
                 missing_backup_days=[date(2026, 8, 17), date(2026, 8, 18)],
                 deviations=[("A1.2-DAILY-BACKUP", "no backup of any kind on 2026-08-17 and 2026-08-18 "
                                                   "(AWS Backup jobs failed; automated snapshots kept 35 days)")]),
    DemoDatabase("customers-prod", "2024-06-03T08:00:00", True, 35, CRITICAL,
                 deviations=[("A1.2-RESTORE-TEST", "critical database never restored in a test during the period")]),
    DemoDatabase("reporting-prod", "2025-02-10T08:00:00", True, 7, {**PRODUCTION, "criticality": "standard"},
                 deviations=[("A1.2-RETENTION", "RDS automated backups kept 7 days (minimum 35)")]),
    # Negative control: staging is out of scope (single-AZ, one day of backups, no plan).
    DemoDatabase("staging-db", "2025-05-05T08:00:00", False, 1, {"environment": "staging"}, in_backup_plan=False),
]


@dataclass
class DemoAsg:
    name: str
    zones: list[str]
    min_size: int
    tags: dict[str, str]
    target_group: str | None = None
    why: str = ""


ASGS = [
    DemoAsg("payments-api-asg", ["us-east-1a", "us-east-1b", "us-east-1c"], 2, PRODUCTION, "payments-api-tg"),
    DemoAsg("ledger-service-asg", ["us-east-1a", "us-east-1b"], 2, PRODUCTION, "ledger-service-tg"),
    DemoAsg("batch-workers-asg", ["us-east-1a"], 2, PRODUCTION,
            why="auto scaling group spans one availability zone (us-east-1a); at least 2 required"),
    DemoAsg("staging-web-asg", ["us-east-1a"], 1, {"environment": "staging"}),  # out of scope
]
# Buckets: name → (tags, versioning, managed by: "cloudformation" | "terraform" | "" (by hand)).
BUCKETS: dict[str, tuple[dict[str, str], bool, str]] = {
    "demo-fintech-statements": (PRODUCTION, True, "cloudformation"),
    "demo-fintech-uploads": (PRODUCTION, True, "terraform"),
    "demo-fintech-adhoc-exports": (PRODUCTION, True, ""),
    "demo-fintech-terraform-state": ({"environment": "shared"}, True, ""),  # bootstrap bucket, out of scope
    "demo-fintech-scratch": ({"environment": "staging"}, False, ""),  # out of scope
}
UNMANAGED_WHY = {"demo-fintech-adhoc-exports": "production S3 bucket created by hand: in no CloudFormation stack "
                                               "and no Terraform state"}
VOLUME = ("settlement-files", 200, CRITICAL)
TERRAFORM_STATE = ("demo-fintech-terraform-state", "prod/terraform.tfstate")
DRIFTED_STACK = "monitoring-prod"
STACK_CHECKS = {"storage-prod": ("IN_SYNC", "2026-09-30T02:00:00"), DRIFTED_STACK: ("DRIFTED", "2026-09-28T02:00:00")}
# ECR images (repositories come from demo/aws.py): repo → (tag, pushed, [(CVE, severity, package, first seen)])
IMAGES: dict[str, tuple[str, str, list[tuple[str, str, str, str]]]] = {
    "payments-api": ("2026.08.3", "2026-08-20T10:00:00", [
        ("CVE-2026-10001", "CRITICAL", "openssl 3.0.13", "2026-08-20T10:05:00"),
        ("CVE-2026-10002", "HIGH", "zlib 1.2.13", "2026-09-25T06:00:00"),  # 6 days: within 30
    ]),
    "ledger-service": ("2026.09.2", "2026-09-18T09:00:00", [
        ("CVE-2026-10003", "MEDIUM", "libxml2 2.9.14", "2026-09-18T09:05:00"),  # 13 days: within 90
    ]),
    "web-app": ("2026.09.7", "2026-09-24T15:00:00", []),
}
CONTAINER_WHY = {("payments-api", "CVE-2026-10001"): "critical finding (openssl) open 41 days on the running image "
                                                     "(SLA 15 days)"}
# Restore tests by AWS Backup restore jobs: (data store, start, minutes, status); the recovery point is that
# day's backup (05:00 UTC). ledger-prod test is in the DR-test record file (demo/data/dr-tests.yaml).
RESTORE_JOBS = [
    ("rds:payments-prod", "2026-08-12T06:00:00", 70, "COMPLETED"),
    ("ebs:settlement-files", "2026-09-03T09:00:00", 25, "COMPLETED"),
    ("rds:payments-prod", "2026-05-14T06:00:00", 65, "COMPLETED"),  # before the period: not counted
]
CAPACITY_PEAKS = {"payments-api-asg": 71.0, "ledger-service-asg": 58.0, "batch-workers-asg": 88.0,
                  "payments-prod": 64.0, "ledger-prod": 77.0, "customers-prod": 41.0, "reporting-prod": 55.0}


def truth() -> list[dict[str, str]]:
    rows = [{"test": test, "resource": f"{ACCOUNT}:rds:{db.name}", "why": why}
            for db in DATABASES for test, why in db.deviations]
    rows += [{"test": "A1.1-ASG", "resource": f"{ACCOUNT}:{g.name}", "why": g.why} for g in ASGS if g.why]
    rows += [{"test": "CC9.1-IAC-MANAGED", "resource": f"{ACCOUNT}:s3:{name}", "why": why}
             for name, why in UNMANAGED_WHY.items()]
    rows.append({"test": "CC9.1-IAC-DRIFT", "resource": f"{ACCOUNT}:{REGION}:{DRIFTED_STACK}",
                 "why": "stack drifted: its SNS topic's KmsMasterKeyId removed and DisplayName changed by hand"})
    rows += [{"test": "CC9.1-CONTAINER-FINDINGS", "resource": f"{ACCOUNT}:{repo}:{cve}", "why": why}
             for (repo, cve), why in CONTAINER_WHY.items()]
    return sorted(rows, key=lambda d: (d["test"], d["resource"]))


def _client(service: str, endpoint: str, region: str = REGION):  # noqa: ANN202 - a boto3 client
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def seed(endpoint: str) -> None:
    moto_extensions.install()
    moto_extensions.reset()
    topic = _seed_topic(endpoint)
    _seed_stacks(endpoint)
    volume_id = _seed_storage(endpoint)
    tg_arns = _seed_load_balancing(endpoint)
    _seed_asgs(endpoint, tg_arns)
    _seed_databases(endpoint)
    _seed_dns(endpoint)
    _seed_alarms_and_metrics(endpoint, topic)
    _seed_backups(endpoint, volume_id)
    _seed_images(endpoint)
    _seed_terraform_state(endpoint, volume_id, tg_arns)


def _seed_topic(endpoint: str) -> str:
    sns = _client("sns", endpoint)
    return sns.create_topic(Name=ALERT_TOPIC)["TopicArn"]


def _seed_stacks(endpoint: str) -> None:
    """Two stacks: storage (a bucket, in sync) and monitoring (the alert topic, drifted)."""
    from moto.cloudformation.models import cloudformation_backends

    cfn, sns = _client("cloudformation", endpoint), _client("sns", endpoint)
    storage = {"Resources": {"StatementsBucket": {"Type": "AWS::S3::Bucket", "Properties": {
        "BucketName": "demo-fintech-statements", "Tags": _tags(PRODUCTION)}}}}
    monitoring = {"Resources": {"AlertTopic": {"Type": "AWS::SNS::Topic", "Properties": {
        "TopicName": f"{ALERT_TOPIC}-cfn", "DisplayName": "Availability alerts",
        "KmsMasterKeyId": "alias/aws/sns"}}}}
    with freeze_time(_t("2025-03-03T10:00:00")):
        cfn.create_stack(StackName="storage-prod", TemplateBody=json.dumps(storage), Tags=_tags(PRODUCTION))
        cfn.create_stack(StackName=DRIFTED_STACK, TemplateBody=json.dumps(monitoring), Tags=_tags(PRODUCTION))
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{ALERT_TOPIC}-cfn"
    sns.subscribe(TopicArn=topic_arn, Protocol="https", Endpoint="https://status.demo-fintech.example/hooks/aws")
    backend = cloudformation_backends[ACCOUNT][REGION]
    for stack in backend.stacks.values():
        status, checked = STACK_CHECKS[stack.name]
        stack.drift_information = {"StackDriftStatus": status, "LastCheckTimestamp": _t(checked)}
        if status == "DRIFTED":
            stack.auditbook_resource_drifts = [{
                "LogicalResourceId": "AlertTopic", "PhysicalResourceId": topic_arn, "ResourceType": "AWS::SNS::Topic",
                "ExpectedProperties": json.dumps(monitoring["Resources"]["AlertTopic"]["Properties"]),
                "ActualProperties": json.dumps({"TopicName": f"{ALERT_TOPIC}-cfn", "DisplayName": "alerts"}),
                "PropertyDifferences": [
                    {"PropertyPath": "/KmsMasterKeyId", "ExpectedValue": "alias/aws/sns", "ActualValue": "",
                     "DifferenceType": "REMOVE"},
                    {"PropertyPath": "/DisplayName", "ExpectedValue": "Availability alerts", "ActualValue": "alerts",
                     "DifferenceType": "NOT_EQUAL"}],
                "StackResourceDriftStatus": "MODIFIED", "Timestamp": _t(checked)}]


def _seed_storage(endpoint: str) -> str:
    s3, ec2 = _client("s3", endpoint), _client("ec2", endpoint)
    with freeze_time(_t("2025-03-03T11:00:00")):
        for name, (tags, versioned, managed) in BUCKETS.items():
            if managed != "cloudformation":
                s3.create_bucket(Bucket=name)
                s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(tags)})
            if versioned:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    name, size, tags = VOLUME
    with freeze_time(_t("2024-04-02T09:00:00")):
        volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=size, VolumeType="gp3",
                                   TagSpecifications=[{"ResourceType": "volume",
                                                       "Tags": _tags({"Name": name, **tags})}])
    return volume["VolumeId"]


def _seed_load_balancing(endpoint: str) -> dict[str, str]:
    ec2, elb = _client("ec2", endpoint), _client("elbv2", endpoint)
    subnets = {s["AvailabilityZone"]: s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    lb = elb.create_load_balancer(Name="prod-alb", Subnets=[subnets["us-east-1a"], subnets["us-east-1b"]],
                                  Scheme="internet-facing", Type="application", Tags=_tags(PRODUCTION))
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    arns = {}
    for name, path in (("payments-api-tg", "/healthz"), ("ledger-service-tg", "/health"),
                       ("legacy-canary-tg", "/")):
        arns[name] = elb.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, HealthCheckEnabled=True, HealthCheckPath=path,
            HealthCheckProtocol="HTTP", HealthCheckIntervalSeconds=15, HealthyThresholdCount=3,
            UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"}, TargetType="instance",
        )["TargetGroups"][0]["TargetGroupArn"]
    listener = elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": arns["payments-api-tg"]}])["Listeners"][0]["ListenerArn"]
    elb.create_rule(ListenerArn=listener, Priority=10, Conditions=[{"Field": "path-pattern",
                                                                    "Values": ["/ledger/*"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": arns["ledger-service-tg"]}])
    return arns


def _seed_asgs(endpoint: str, tg_arns: dict[str, str]) -> None:
    asg = _client("autoscaling", endpoint)
    with freeze_time(_t("2025-01-20T10:00:00")):
        asg.create_launch_configuration(LaunchConfigurationName="platform-2025-01", ImageId="ami-12c6146b",
                                        InstanceType="m6g.large")
        for g in ASGS:
            extra = {"TargetGroupARNs": [tg_arns[g.target_group]], "HealthCheckType": "ELB",
                     "HealthCheckGracePeriod": 120} if g.target_group else {}
            asg.create_auto_scaling_group(
                AutoScalingGroupName=g.name, LaunchConfigurationName="platform-2025-01", MinSize=g.min_size,
                MaxSize=g.min_size * 3, DesiredCapacity=g.min_size, AvailabilityZones=g.zones,
                Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in g.tags.items()], **extra)


def _seed_databases(endpoint: str) -> None:
    """Instances through the API; automated snapshots (one per day of retention) on moto's RDS backend."""
    from moto.rds.models import rds_backends

    rds = _client("rds", endpoint)
    with freeze_time(_t("2024-01-01T00:00:00")) as clock:
        for db in DATABASES:
            clock.move_to(_t(db.created))
            rds.create_db_instance(
                DBInstanceIdentifier=db.name, DBInstanceClass="db.m6g.large", Engine="postgres",
                AllocatedStorage=200, MasterUsername="app", MasterUserPassword="demo-placeholder-not-a-secret",
                MultiAZ=db.multi_az, BackupRetentionPeriod=db.retention_days, StorageEncrypted=True,
                Tags=_tags(db.tags))
        clock.move_to(_t("2026-07-20T21:00:00"))
        rds.create_db_snapshot(DBInstanceIdentifier="ledger-prod",
                               DBSnapshotIdentifier="ledger-prod-before-fx-rounding",
                               Tags=_tags({"reason": "manual snapshot before a data migration"}))
        backend = rds_backends[ACCOUNT][REGION]
        for db in DATABASES:
            first = PERIOD[1].date() - timedelta(days=db.retention_days)
            for offset in range(db.retention_days):
                day = first + timedelta(days=offset)
                if day in db.missing_backup_days:
                    continue
                clock.move_to(datetime(day.year, day.month, day.day, 3, 10, tzinfo=UTC))
                backend.create_auto_snapshot(db.name, f"rds:{db.name}-{day:%Y-%m-%d-03-10}")


def _seed_dns(endpoint: str) -> None:
    r53 = _client("route53", endpoint)
    zone = r53.create_hosted_zone(Name="demo-fintech.example", CallerReference="demo-zone")["HostedZone"]["Id"]
    checks = {}
    for name, host in (("api-primary", "api-use1.demo-fintech.example"),
                       ("api-secondary", "api-usw2.demo-fintech.example")):
        checks[name] = r53.create_health_check(CallerReference=name, HealthCheckConfig={
            "Type": "HTTPS", "FullyQualifiedDomainName": host, "Port": 443, "ResourcePath": "/healthz",
            "RequestInterval": 30, "FailureThreshold": 3})["HealthCheck"]["Id"]
    changes = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": "api.demo-fintech.example", "Type": "CNAME", "SetIdentifier": role, "Failover": role.upper(),
        "TTL": 60, "HealthCheckId": checks[f"api-{role}"],
        "ResourceRecords": [{"Value": f"api-{'use1' if role == 'primary' else 'usw2'}.demo-fintech.example"}]}}
        for role in ("primary", "secondary")]
    changes.append({"Action": "CREATE", "ResourceRecordSet": {
        "Name": "www.demo-fintech.example", "Type": "CNAME", "TTL": 300,
        "ResourceRecords": [{"Value": "prod-alb.demo-fintech.example"}]}})
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})


def capacity_alarms() -> list[dict[str, Any]]:
    """One CPU alarm per production group and database, one free-storage alarm per production database."""
    alarms = []
    for g in ASGS:
        if g.tags == PRODUCTION:
            alarms.append({"name": f"capacity-{g.name}-cpu", "namespace": "AWS/EC2", "metric": "CPUUtilization",
                           "dimension": ("AutoScalingGroupName", g.name), "comparison": "GreaterThanThreshold",
                           "threshold": 80.0, "peak": CAPACITY_PEAKS[g.name]})
    for db in DATABASES:
        if db.tags.get("environment") == "production":
            alarms.append({"name": f"capacity-{db.name}-cpu", "namespace": "AWS/RDS", "metric": "CPUUtilization",
                           "dimension": ("DBInstanceIdentifier", db.name), "comparison": "GreaterThanThreshold",
                           "threshold": 85.0, "peak": CAPACITY_PEAKS[db.name]})
            alarms.append({"name": f"capacity-{db.name}-free-storage", "namespace": "AWS/RDS",
                           "metric": "FreeStorageSpace", "dimension": ("DBInstanceIdentifier", db.name),
                           "comparison": "LessThanThreshold", "threshold": 20 * 2**30,
                           "peak": (200 - CAPACITY_PEAKS[db.name]) * 2**30})
    return alarms


def _seed_alarms_and_metrics(endpoint: str, topic_arn: str) -> None:
    """Capacity alarms (actions to a subscribed topic) and six-hourly datapoints over the quarter."""
    sns, cw = _client("sns", endpoint), _client("cloudwatch", endpoint)
    sns.subscribe(TopicArn=topic_arn, Protocol="https", Endpoint="https://events.pagerduty.example/demo-capacity")
    points = [PERIOD[0] + timedelta(hours=6 * i) for i in range((PERIOD[1] - PERIOD[0]).days * 4)]
    for n, alarm in enumerate(capacity_alarms()):
        name, value = alarm["dimension"]
        dims = [{"Name": name, "Value": value}]
        with freeze_time(_t("2025-06-02T10:00:00")):
            cw.put_metric_alarm(
                AlarmName=alarm["name"], Namespace=alarm["namespace"], MetricName=alarm["metric"], Dimensions=dims,
                Statistic="Maximum" if alarm["comparison"] == "GreaterThanThreshold" else "Minimum", Period=300,
                EvaluationPeriods=3, Threshold=alarm["threshold"], ComparisonOperator=alarm["comparison"],
                ActionsEnabled=True, AlarmActions=[topic_arn], OKActions=[topic_arn])
        data = []
        for i, at in enumerate(points):
            wave = ((i * 7 + n * 3) % 17) / 16  # deterministic 0..1 load shape
            if alarm["metric"] == "FreeStorageSpace":
                value = alarm["peak"] + (1 - wave) * 30 * 2**30
            else:
                value = alarm["peak"] * (0.35 + 0.65 * wave)
            data.append({"MetricName": alarm["metric"], "Dimensions": dims, "Timestamp": at, "Value": round(value, 1)})
        for start in range(0, len(data), 500):
            cw.put_metric_data(Namespace=alarm["namespace"], MetricData=data[start:start + 500])


def _rp_arn(vault_region: str, key: str, day: date) -> str:
    return f"arn:aws:backup:{vault_region}:{ACCOUNT}:recovery-point:{uuid.uuid5(NAMESPACE, f'{key}|{day}')}"


def _seed_backups(endpoint: str, volume_id: str) -> None:
    """Vaults through the API; daily recovery points, weekly cross-region copies and restore jobs in the
    emulator extension's state."""
    vaults = {}
    for region, name in ((REGION, "prod-vault"), (COPY_REGION, "dr-vault")):
        backup = _client("backup", endpoint, region)
        vaults[region] = backup.create_backup_vault(BackupVaultName=name)["BackupVaultArn"]
    resources = {f"rds:{db.name}": (f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{db.name}", "RDS", db.name,
                                    db.missing_backup_days, db.tags.get("criticality") == "critical")
                 for db in DATABASES if db.in_backup_plan}
    resources[f"ebs:{VOLUME[0]}"] = (f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{volume_id}", "EBS", VOLUME[0], [], True)
    primary = moto_extensions.BACKUP_STATE[(ACCOUNT, REGION)]["recovery_points"]
    copies = moto_extensions.BACKUP_STATE[(ACCOUNT, COPY_REGION)]["recovery_points"]
    created_at: dict[tuple[str, date], tuple[str, datetime]] = {}
    day = BACKUP_HISTORY_START
    while day < PERIOD[1].date():
        for n, (key, (arn, kind, name, missing, critical)) in enumerate(sorted(resources.items())):
            if day in missing:
                continue
            created = datetime(day.year, day.month, day.day, 5, 2 * n, tzinfo=UTC)
            rp = _rp_arn(REGION, key, day)
            created_at[(key, day)] = (rp, created)
            primary.append(_recovery_point(rp, "prod-vault", vaults[REGION], arn, kind, name, created, 120))
            if critical and day.weekday() == 6:  # Sunday: copy to the DR region
                copy = _recovery_point(_rp_arn(COPY_REGION, key, day), "dr-vault", vaults[COPY_REGION], arn, kind,
                                       name, created + timedelta(hours=2), 365)
                copy["SourceBackupVaultArn"] = vaults[REGION]
                copies.append(copy)
        day += timedelta(days=1)
    jobs = moto_extensions.BACKUP_STATE[(ACCOUNT, REGION)]["restore_jobs"]
    for key, start, minutes, status in RESTORE_JOBS:
        begun = _t(start)
        rp, rp_created = created_at.get((key, begun.date()), (_rp_arn(REGION, key, begun.date()),
                                                               begun.replace(hour=5, minute=0)))
        arn, kind, name, _, _ = resources[key]
        jobs.append({
            "AccountId": ACCOUNT, "RestoreJobId": str(uuid.uuid5(NAMESPACE, f"restore|{key}|{start}")).upper(),
            "RecoveryPointArn": rp, "SourceResourceArn": arn, "BackupVaultArn": vaults[REGION],
            "CreationDate": begun, "CompletionDate": begun + timedelta(minutes=minutes), "Status": status,
            "PercentDone": "100.00%", "BackupSizeInBytes": 200 * 2**30,
            "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/aws-backup-restore-testing",
            "CreatedResourceArn": arn.replace(name, f"{name}-restore-test-{begun:%m%d}"), "ResourceType": kind,
            "RecoveryPointCreationDate": rp_created, "ValidationStatus": "SUCCESSFUL",
            "ValidationStatusMessage": "row counts and checksums match", "DeletionStatus": "SUCCESSFUL",
            "CreatedBy": {"RestoreTestingPlanArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:restore-testing-plan:"
                                                   f"quarterly-restore-test"}})


def _recovery_point(arn: str, vault: str, vault_arn: str, resource_arn: str, kind: str, name: str,
                    created: datetime, keep_days: int) -> dict[str, Any]:
    return {"RecoveryPointArn": arn, "BackupVaultName": vault, "BackupVaultArn": vault_arn,
            "ResourceArn": resource_arn, "ResourceType": kind, "ResourceName": name,
            "CreatedBy": {"BackupPlanId": "prod-daily", "BackupRuleId": "daily-0500"},
            "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/aws-backup-default", "Status": "COMPLETED",
            "CreationDate": created, "CompletionDate": created + timedelta(minutes=18),
            "BackupSizeInBytes": 200 * 2**30, "Lifecycle": {"DeleteAfterDays": keep_days},
            "CalculatedLifecycle": {"DeleteAt": created + timedelta(days=keep_days)}, "IsEncrypted": True,
            "VaultType": "BACKUP_VAULT"}


def _seed_images(endpoint: str) -> None:
    """One image per repository, scanned; findings served by moto's custom scan results."""
    ecr = _client("ecr", endpoint)
    results = []
    for repo, (tag, pushed, findings) in IMAGES.items():
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                               "digest": f"sha256:{uuid.uuid5(NAMESPACE, repo).hex * 2}"},
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2811478,
                                "digest": f"sha256:{uuid.uuid5(NAMESPACE, repo + tag).hex * 2}"}]}
        with freeze_time(_t(pushed)):
            ecr.put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag=tag)
            ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": tag})
        scanned = _t(pushed) + timedelta(minutes=5)
        enhanced = [{
            "awsAccountId": ACCOUNT, "description": f"{cve} in {package}", "findingArn":
                f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{uuid.uuid5(NAMESPACE, repo + cve).hex}",
            "firstObservedAt": _t(seen).timestamp(), "lastObservedAt": _t("2026-09-30T06:00:00").timestamp(),
            "severity": severity, "status": "ACTIVE", "title": f"{cve} - {package.split()[0]}",
            "type": "PACKAGE_VULNERABILITY", "updatedAt": _t("2026-09-30T06:00:00").timestamp(),
            "packageVulnerabilityDetails": {"vulnerabilityId": cve, "source": "NVD", "vulnerablePackages": [
                {"name": package.split()[0], "version": package.split()[1]}]},
        } for cve, severity, package, seen in findings]
        counts: dict[str, int] = {}
        for _, severity, _, _ in findings:
            counts[severity] = counts.get(severity, 0) + 1
        results.append({"registryId": ACCOUNT, "repositoryName": repo, "imageId": {"imageTag": tag},
                        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed."},
                        "imageScanFindings": {"imageScanCompletedAt": scanned.timestamp(),
                                              "vulnerabilitySourceUpdatedAt": scanned.timestamp(),
                                              "findingSeverityCounts": counts, "enhancedFindings": enhanced}})
    requests.post(f"{endpoint}/moto-api/static/ecr/scan-finding-results",
                  json={"results": results, "region": REGION}, timeout=10).raise_for_status()


def _seed_terraform_state(endpoint: str, volume_id: str, tg_arns: dict[str, str]) -> None:
    """The production Terraform state (format 4), as ``terraform apply`` leaves it in its S3 backend."""
    resources: list[dict[str, Any]] = []

    def add(rtype: str, name: str, attrs: dict[str, Any]) -> None:
        resources.append({"mode": "managed", "type": rtype, "name": name,
                          "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                          "instances": [{"schema_version": 0, "attributes": attrs}]})

    for db in DATABASES:
        if db.tags.get("environment") == "production":
            add("aws_db_instance", db.name.replace("-", "_"), {
                "id": f"db-{uuid.uuid5(NAMESPACE, db.name).hex[:26].upper()}", "identifier": db.name,
                "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{db.name}", "multi_az": db.multi_az,
                "password": "demo-placeholder-not-a-secret"})
    for g in ASGS:
        if g.tags == PRODUCTION:
            add("aws_autoscaling_group", g.name.replace("-", "_"), {
                "id": g.name, "name": g.name,
                "arn": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:demo:autoScalingGroupName/{g.name}"})
    add("aws_ebs_volume", "settlement_files", {"id": volume_id, "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/"
                                                                       f"{volume_id}"})
    for name, (_, _, managed) in BUCKETS.items():
        if managed == "terraform":
            add("aws_s3_bucket", name.replace("-", "_"), {"id": name, "bucket": name,
                                                           "arn": f"arn:aws:s3:::{name}"})
    for name, arn in tg_arns.items():
        if name != "legacy-canary-tg":
            add("aws_lb_target_group", name.replace("-", "_"), {"id": arn, "arn": arn, "name": name})
    state = {"version": 4, "terraform_version": "1.9.5", "serial": 412, "lineage": str(uuid.uuid5(NAMESPACE, "tf")),
             "outputs": {}, "resources": resources, "check_results": None}
    bucket, key = TERRAFORM_STATE
    _client("s3", endpoint).put_object(Bucket=bucket, Key=key, Body=json.dumps(state, indent=2).encode())
