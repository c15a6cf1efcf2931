"""The evidence catalog: every population auditbook collects or derives, declared once.

An entry names a population and says where it comes from (a collector in ``sources/``, or a
derivation in ``controls/`` over other populations), the arguments it takes from params and the
period, how it fans out (per AWS account, per GitHub org, per org's production repositories, or
once), and its column contract: names and kinds. Notebooks ask for evidence by name; the run's
cache keys it by name and resolved arguments; a control test names the entries it reads.

Adding evidence is one entry here and one collector. Kinds: ``str``, ``int``, ``int?`` (missing
allowed), ``float``, ``bool``, ``bool?`` (unknown allowed), ``time`` (UTC).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from auditbook import cells, timeline
from auditbook.basis import KINDS as BASES
from auditbook.basis import Retention
from auditbook.context import Context
from auditbook.controls import a11, a12, cc61, cc62, cc71, cc72, cc81, cc91
from auditbook.provenance import Collected, CollectionError, Population
from auditbook.sources import files, incidents, snapshot_states
from auditbook.sources.aws import (
    autoscaling,
    backup,
    cloudformation,
    cloudtrail,
    cloudtrail_digest,
    cloudwatch,
    config,
    ec2,
    ecr,
    elbv2,
    guardduty,
    iam,
    identitycenter,
    kms,
    logs,
    organizations,
    rds,
    route53,
    s3,
    secretsmanager,
    sns,
    trail_engines,
)
from auditbook.sources.github import inventory, issues, org, pulls, repos, secret_scanning, security_alerts

KINDS = ("str", "int", "int?", "float", "bool", "bool?", "time")
# How an entry fans out: the connection its collector is called with (the rest are keyword arguments).
FANOUTS = {
    "account": "collector(account, raw=, **arguments) for every AWS account in scope; one population",
    "first_account": "collector(account, raw=, **arguments) with the first AWS account in scope",
    "org": "collector(github, org, raw=, **arguments) for every GitHub org in scope",
    "repos": "collector(github, org, branch_by_repo, raw=, **arguments) for every org with production repos",
    "github": "collector(github, raw=, **arguments) once",
    "file": "collector(raw=, **arguments) once: a file the organization provides, or the run's snapshot packages",
    "derived": "derive(**inputs, **arguments): a worksheet built from other populations",
}


def columns(spec: str) -> dict[str, str]:
    """``"name created:time count:int"`` → ``{"name": "str", "created": "time", "count": "int"}``."""
    contract = {}
    for word in spec.split():
        name, _, kind = word.partition(":")
        contract[name] = kind or "str"
        if contract[name] not in KINDS:
            raise ValueError(f"column {name}: unknown kind {kind!r}")
    return contract


def _none(_: Context) -> dict[str, Any]:
    return {}


def _regions(ctx: Context) -> dict[str, Any]:
    return {"regions": ctx.regions}


def _period_regions(ctx: Context) -> dict[str, Any]:
    return {"regions": ctx.regions, "period": ctx.period}


def trail_selection() -> str:
    """The CloudTrail events any control reads: each criterion declares its own, the query keeps their union."""
    from auditbook.events.sql import selection

    return selection(cc61.CLOUDTRAIL_SELECTION, cc62.CLOUDTRAIL_SELECTION, cc71.CLOUDTRAIL_SELECTION,
                     cc81.CLOUDTRAIL_SELECTION)


def trail_engine(ctx: Context) -> str:
    """``scope.aws.cloudtrail.engine``: how the trail's events (and its log files) are read."""
    return str((ctx.aws.get("cloudtrail") or {}).get("engine", "local"))


def _trail_logs(ctx: Context) -> dict[str, Any]:
    """The engine, the period, the regions, what the controls select, and the engine's own settings (whether
    every log file is copied; Athena's database and workgroup; the Lake event data store)."""
    cloudtrail = ctx.aws.get("cloudtrail") or {}
    engine = trail_engine(ctx)
    common = {"engine": engine, "regions": ctx.regions, "period": ctx.period, "selection": trail_selection()}
    if engine == "athena":
        return {**common, "athena": cloudtrail.get("athena") or {}}
    if engine == "cloudtrail-lake":
        return {**common, "lake": cloudtrail.get("cloudtrail_lake") or {}}
    return {**common, "copy_all": cloudtrail.get("copy_log_files", "tested") == "all"}


def _backup_regions(ctx: Context) -> dict[str, Any]:
    """Recovery points are read where copies go too, so a copy in another region is seen."""
    return {"regions": sorted(set(ctx.regions) | set(ctx.settings("A1.2")["copy_regions"]))}


def _always(_: Context) -> bool:
    return True


@dataclass(frozen=True)
class Voucher:
    """The population whose finding the consumers of another stand on, the rule saying why that one cannot be
    relied on ('' when it can), and when the relation holds."""

    population: str
    doubt: Callable[[pd.DataFrame], str]
    holds: Callable[[Context], bool] = _always


# Events read from the trail stand on its log files being as CloudTrail wrote them, which the digests show
# (CC7.1-LOG-INTEGRITY); not under CloudTrail Lake, whose events come from the event data store (immutable, its
# integrity Lake's own), not from the files the digests vouch for.
VOUCHED_BY: dict[str, Voucher] = {
    "cloudtrail-log-files": Voucher("cloudtrail-log-integrity", cc71.trail_doubt,
                                    holds=lambda ctx: trail_engine(ctx) != "cloudtrail-lake"),
}


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    columns: dict[str, str]
    fanout: str
    collector: Callable[..., Any] | None = None
    derive: Callable[..., pd.DataFrame] | None = None
    arguments: Callable[[Context], dict[str, Any]] = _none
    # populations read: {keyword argument: population name}, or a function of the context for optional ones
    inputs: dict[str, str] | Callable[[Context], dict[str, str]] = field(default_factory=dict)
    applies: Callable[[Context], bool] | None = None  # None: always collected; else only when params ask for it
    part_of: str = ""  # collected by another entry's collector, which returns both (pull requests and reviews)
    # What kind of evidence a collected population is (auditbook.basis): a state read at collection unless
    # declared events over the period or the organization's records of it.
    basis: str = "state"
    retention: Retention | None = None  # the source forgets sooner than a run after the period reads it
    reference: tuple[str, ...] = ()  # derived: inputs only looked things up in, not part of its evidence basis
    # timeline: the state population it follows completely (every setting a test of that population checks), so
    # a test reading both stands on the timeline, not on the reading at collection
    follows: str = ""
    # state: the CloudTrail calls that may change what a configuration-only test reads of it, so a reading holds
    # until the next of them (auditbook.over_snapshots); none: a reading shows only its own moment
    changed_by: tuple[timeline.ChangeCalls, ...] = ()
    # derived: inputs (by parameter) it is built without when they cannot be had (a cross-check, not its evidence)
    optional: tuple[str, ...] = ()

    def input_names(self, ctx: Context) -> dict[str, str]:
        return self.inputs(ctx) if callable(self.inputs) else dict(self.inputs)

    def collected_with(self) -> list[str]:
        """The populations one call of this entry's collector returns, in order (itself first)."""
        return [self.name, *(e.name for e in ENTRIES.values() if e.part_of == self.name)]


def _entry(name: str, description: str, spec: str, fanout: str, **kwargs: Any) -> Entry:
    if fanout not in FANOUTS:
        raise ValueError(f"{name}: unknown fan-out {fanout!r}")
    if kwargs.get("basis", "state") not in BASES:
        raise ValueError(f"{name}: unknown evidence basis {kwargs['basis']!r}")
    return Entry(name, description, columns(spec), fanout, **kwargs)


_KMS_KEYS = ("account_id region key_id arn aliases description key_manager key_state key_spec key_usage "
             "rotation_enabled:bool? created:time")
_CREDENTIAL_REPORT = (
    "account_id user is_root:bool arn user_creation_time:time password_enabled:bool password_last_used:time "
    "password_last_changed:time password_next_rotation:time mfa_active:bool access_key_1_active:bool "
    "access_key_1_last_rotated:time access_key_1_last_used_date:time access_key_1_last_used_region "
    "access_key_1_last_used_service access_key_2_active:bool access_key_2_last_rotated:time "
    "access_key_2_last_used_date:time access_key_2_last_used_region access_key_2_last_used_service "
    "cert_1_active:bool cert_1_last_rotated:time cert_2_active:bool cert_2_last_rotated:time")
_SECRETS = ("account_id region name arn created:time last_changed:time last_rotated:time rotation_enabled:bool "
            "rotation_lambda_arn rotation_days:float rotation_schedule next_rotation:time kms_key_id resource_policy "
            "tags")
_BUCKETS = "account_id bucket region versioning mfa_delete tags created:time"
_DETECTORS = "account_id region detector_id status finding_frequency created:time updated:time"


def _in_snapshots(population: str, spec: str) -> Entry:
    """Every snapshot's reading of a state population: the moments it is known between CloudTrail's events."""
    return _entry(f"{population}-in-snapshots", f"Every snapshot's reading of {population}: the moments it is known "
                  "between CloudTrail's change events.", "taken_at:time " + spec, "file",
                  collector=snapshot_states.collect_states,
                  arguments=lambda ctx: {"population": population, "folders": list(ctx.snapshot_folders)},
                  basis="events")


def _events_timeline(name: str, description: str, current: str, setting_spec: str, resource_of: Callable[[Any], str],
                     value_of: Callable[[Any], Any], changes_of: Callable[[pd.DataFrame], pd.DataFrame],
                     follows: bool = True, **where: Callable[[Any], Any]) -> Entry:
    """A setting of a state population at every moment of the period, replayed from CloudTrail's change events
    between the readings at collection and in the snapshots. ``follows``: the setting is all a test of the
    population checks (see Entry.follows); ``where``: region_of / created_of (see timeline.events_timeline)."""
    spec = timeline.columns(setting_spec)
    setting = setting_spec.split(":")[0]
    return _entry(name, description, spec, "derived",
                  derive=timeline.events_timeline(setting, resource_of, value_of, changes_of, list(columns(spec)),
                                                  **where),
                  inputs={"current": current, "readings": f"{current}-in-snapshots", "events": "cloudtrail-events",
                          "coverage": "cloudtrail-coverage"},
                  arguments=lambda ctx: {**ctx.window, "read_at": ctx.run_at}, basis="timeline",
                  follows=current if follows else "")


# The settings each timeline follows (the columns of its state population that AWS Config items record).
_TRAIL_TIMELINE = "trail_name multi_region:bool? log_file_validation:bool? global_service_events:bool? s3_bucket"
_ASG_TIMELINE = "name availability_zones az_count:int? min_size:int?"
# The resource types AWS Config history is read for: those a timeline is built from.
TIMELINE_TYPES = ("AWS::CloudTrail::Trail", "AWS::AutoScaling::AutoScalingGroup")
ALARM_HISTORY_RETENTION = Retention(30, "CloudWatch keeps alarm history about 30 days")
HOURLY_METRIC_RETENTION = Retention(455, "CloudWatch keeps hourly metric statistics 455 days", time_column="day")
_INCIDENT_COLUMNS = ("source incident_id title url severity impact detected_at:time acknowledged_at:time "
                     "resolved_at:time postmortem_url compliance_notified_at:time alarms resolution_delay_reason "
                     "state notes")
_RESTORE_COLUMNS = ("account_id region restore_job_id source recovery_point_arn resource_arn resource_type status "
                    "validation_status started:time completed:time duration_minutes:float recovery_point_created:time "
                    "created_resource_arn")
_WORKSHEET_COLUMNS = ("line system account identity person_id person privileges last_activity:time created_at:time "
                      "admin:bool no_mfa:bool dormant:bool leaver:bool orphaned:bool has_access:bool")
_EVENT_COLUMNS = ("account_id event_time:time event_id event_source event_name read_only:bool? event_type aws_region "
                  "identity_type principal_arn principal_name role_name invoked_by source_ip user_agent error_code "
                  "request_parameters additional_event_data log_file")
_FIRING_COLUMNS = "account_id region alarm_name fired_at:time cleared_at:time minutes:float namespace metric_name"


def audit_log_enabled(ctx: Context) -> bool:
    """Every org in scope has the audit log API (params say so: GitHub Enterprise Cloud)."""
    return bool(ctx.orgs) and all(o.get("audit_log") for o in ctx.orgs)


def config_enabled(ctx: Context) -> bool:
    """``scope.aws.config.enabled``: whether AWS Config history is read (default yes)."""
    return bool((ctx.aws.get("config") or {}).get("enabled", True))


def _config_types(ctx: Context) -> dict[str, Any]:
    return {"regions": ctx.regions, "period": ctx.period,
            "resource_types": list((ctx.aws.get("config") or {}).get("resource_types") or TIMELINE_TYPES)}


def _config_timeline(resource_type: str, spec: str, to_columns: timeline.Mapper, label: Callable[[Any], str],
                     existing: Callable[[pd.DataFrame], list[str]],
                     changed_by: timeline.ChangeCalls) -> Callable[..., pd.DataFrame]:
    return timeline.config_timeline(resource_type, list(columns(timeline.columns(spec))), to_columns, label, existing,
                                    lambda: empty("aws-config-history"), lambda: empty("aws-config-recorders"),
                                    changed_by)


def _config_inputs(current: str) -> Callable[[Context], dict[str, str]]:
    """A Config timeline's inputs; CloudTrail's events cross-check the history when the run has them."""
    return lambda ctx: {"current": current, **({"history": "aws-config-history", "recorders": "aws-config-recorders",
                                               "events": "cloudtrail-events"} if config_enabled(ctx) else {})}


def _incident_sources(ctx: Context) -> dict[str, str]:
    s = ctx.settings("CC7.2")
    return {**({"github_issues": "github-incident-issues"} if s["incident_repos"] else {}),
            **({"incident_log": "incident-log-csv"} if s["incident_csv"] else {})}


def _previous_worksheet(ctx: Context) -> dict[str, Any]:
    return {"path": ctx.settings("CC6.1")["previous_worksheet"] or ctx.earlier_population("access-review-worksheet"),
            "folder": "previous_worksheet"}


def _capacity_metrics(ctx: Context) -> dict[str, Any]:
    required = ctx.settings("A1.1")["required_capacity_alarms"]
    return {"period": ctx.period,
            "metrics": sorted({(m["namespace"], m["metric"]) for ms in required.values() for m in ms})}


_DECLARED = [
    # -- AWS: the organization (scope completeness) ------------------------------------------------------------
    _entry("aws-organization-accounts", "Every account of the AWS organization of each account in scope "
           "(organizations:ListAccounts, where that account may list them).",
           "listed_by organization_id account_id name state joined_method joined_at:time", "account",
           collector=organizations.collect_organization, arguments=_regions),
    _entry("aws-organization", "Each account in scope: its AWS organization (or none) and whether it could list "
           "the organization's accounts.",
           "account_id organization_id management_account_id listed:bool listing", "account",
           part_of="aws-organization-accounts"),
    # -- AWS: identity and access ---------------------------------------------------------------------------
    _entry("iam-credential-report", "Every IAM user and the root user: console password, MFA, access keys "
           "(AWS's credential report).", _CREDENTIAL_REPORT, "account", collector=iam.collect_credential_report,
           changed_by=(iam.USER_CHANGES,)),
    _entry("iam-entitlements", "Every (principal, path, policy) an IAM user or role holds: direct, through a group, "
           "inline.",
           "account_id principal_type principal principal_arn via policy_type policy_name policy_arn document",
           "account", collector=iam.collect_entitlements, changed_by=(iam.ENTITLEMENT_CHANGES,)),
    _entry("iam-password-policy", "The account password policy, one row per setting (none: no rows).",
           "account_id setting value", "account", collector=iam.collect_password_policy,
           changed_by=(iam.PASSWORD_POLICY_CHANGES,)),
    _entry("identity-center-assignments", "IAM Identity Center users with every permission set they hold in every "
           "account (group assignments expanded).",
           "account_id identity_store_id user_id user_name email display_name via permission_set permission_set_arn "
           "target_account", "account", collector=identitycenter.collect_assignments),
    _entry("secretsmanager-secrets", "Every Secrets Manager secret (metadata only) with its rotation and resource "
           "policy.", _SECRETS, "account", collector=secretsmanager.collect_secrets, arguments=_regions,
           changed_by=(secretsmanager.SECRET_CHANGES,)),
    _in_snapshots("secretsmanager-secrets", _SECRETS),
    _entry("kms-keys", "Every customer-managed KMS key with its spec, usage, state and rotation status.",
           _KMS_KEYS, "account", collector=kms.collect_keys, arguments=_regions),
    _in_snapshots("kms-keys", _KMS_KEYS),
    # -- AWS: the audit trail and monitoring ------------------------------------------------------------------
    # Under Athena the files are known by "$path" only (size, ETag, last-modified and hashes empty); under
    # CloudTrail Lake there are no files: one row per region and day holds its event count.
    _entry("cloudtrail-log-files", "Every log file the trail delivered for the period's days (and the next): "
           "bucket, key, size, ETag, sha256 of the object and of its content, its events and those kept.",
           "account_id region day bucket key size:int? etag last_modified:time sha256 content_sha256 records:int "
           "kept:int", "account", collector=trail_engines.collect_trail_logs, arguments=_trail_logs, basis="events"),
    _entry("cloudtrail-events", "The period's events the controls read (IAM user removals, secret reads and "
           "rotations, trail changes, every call that is not read-only), selected from every event of the "
           "trail's log files.", _EVENT_COLUMNS, "account", part_of="cloudtrail-log-files", basis="events"),
    _entry("cloudtrail-trails", "Every trail with its status, selectors and delivery bucket's protection.",
           "account_id trail_name trail_arn home_region multi_region:bool log_file_validation:bool "
           "global_service_events:bool is_logging:bool start_logging_time:time stop_logging_time:time "
           "latest_delivery_time:time latest_delivery_error management_events event_selectors kms_key_id s3_bucket "
           "s3_prefix bucket_versioning bucket_object_lock:bool object_lock_retention bucket_encryption",
           "account", collector=cloudtrail.collect_trails),
    _entry("cloudtrail-digests", "Every CloudTrail digest file covering the period's days and the next, with its "
           "signature and its link to the previous digest checked (as `aws cloudtrail validate-logs` does).",
           "account_id region digest_key digest_start:time digest_end:time previous_digest_key public_key_fingerprint "
           "signature_valid:bool chain_ok:bool log_files:int problem",
           "account", collector=cloudtrail_digest.collect_digests, arguments=_period_regions, basis="events"),
    _entry("cloudtrail-digest-log-files", "Every log file a digest file lists, with the SHA-256 of its content "
           "CloudTrail recorded.",
           "account_id region digest_key key content_sha256 oldest_event:time newest_event:time", "account",
           part_of="cloudtrail-digests", basis="events"),
    _entry("cloudwatch-alarms", "Every metric and composite alarm with its actions and state.",
           "account_id region alarm_name alarm_arn alarm_type namespace metric_name dimensions actions_enabled:bool "
           "alarm_actions ok_actions state state_updated:time description",
           "account", collector=cloudwatch.collect_alarms, arguments=_regions,
           changed_by=(cloudwatch.ALARM_CHANGES,)),
    _entry("cloudwatch-alarm-history", "Every alarm state change in the period.",
           "account_id region alarm_name timestamp:time old_state new_state summary",
           "account", collector=cloudwatch.collect_alarm_history, arguments=_period_regions,
           basis="events", retention=ALARM_HISTORY_RETENTION),
    _entry("cloudwatch-capacity-metrics", "Daily maximum and minimum over the period of each capacity alarm's "
           "metric, with the alarm's threshold.",
           "account_id region alarm_name namespace metric_name dimensions threshold:float comparison day:time "
           "maximum:float minimum:float", "account", collector=cloudwatch.collect_alarm_metrics,
           arguments=_capacity_metrics, inputs={"alarms": "cloudwatch-alarms"},
           basis="events", retention=HOURLY_METRIC_RETENTION),
    _entry("sns-topics", "Every SNS topic with its confirmed and pending subscriptions.",
           "account_id region topic_arn topic_name confirmed_subscriptions:int pending_subscriptions:int protocols",
           "account", collector=sns.collect_topics, arguments=_regions, changed_by=(sns.TOPIC_CHANGES,)),
    _entry("cloudwatch-log-groups", "Every log group with its retention (missing: never expires).",
           "account_id region log_group retention_days:int? created:time stored_bytes:int kms_key_id",
           "account", collector=logs.collect_log_groups, arguments=_regions,
           changed_by=(logs.LOG_GROUP_CHANGES,)),
    _entry("guardduty-detectors", "The GuardDuty detector of each region (none: status NONE).", _DETECTORS,
           "account", collector=guardduty.collect_detectors,
           arguments=lambda ctx: {"regions": ctx.settings("CC7.1")["threat_detection_regions"] or ctx.regions}),
    _in_snapshots("guardduty-detectors", _DETECTORS),
    # -- AWS: availability and recovery -----------------------------------------------------------------------
    _entry("elbv2-target-groups", "Every load balancer target group with its health check and targets' health.",
           "account_id region target_group_name target_group_arn protocol port:int? target_type load_balancers "
           "health_check_enabled:bool health_check_protocol health_check_path matcher interval_seconds:int? "
           "healthy_threshold:int? unhealthy_threshold:int? targets:int healthy_targets:int",
           "account", collector=elbv2.collect_target_groups, arguments=_regions),
    _entry("route53-health-checks", "Every Route 53 health check.",
           "account_id health_check_id type target port:int? resource_path request_interval:int? "
           "failure_threshold:int? disabled:bool inverted:bool name",
           "account", collector=route53.collect_health_checks),
    _entry("route53-records", "Every record of every hosted zone with its routing policy and health check.",
           "account_id zone_id zone_name name type set_identifier routing_policy health_check_id alias_target "
           "evaluate_target_health:bool", "account", collector=route53.collect_dns_records),
    _entry("autoscaling-groups", "Every Auto Scaling group with its zones, sizes and tags.",
           "account_id region name arn availability_zones az_count:int min_size:int max_size:int "
           "desired_capacity:int? health_check_type target_groups instances:int tags created:time",
           "account", collector=autoscaling.collect_autoscaling_groups, arguments=_regions,
           changed_by=(autoscaling.GROUP_CHANGES,)),
    _entry("rds-instances", "Every RDS DB instance with Multi-AZ, backup retention and tags.",
           "account_id region db_instance arn engine instance_class status multi_az:bool availability_zone "
           "secondary_availability_zone backup_retention_days:int latest_restorable_time:time storage_encrypted:bool "
           "read_replica_source tags created:time", "account", collector=rds.collect_rds_instances,
           arguments=_regions, changed_by=(rds.INSTANCE_CHANGES,)),
    _entry("rds-snapshots", "Every RDS DB snapshot, automated and manual.",
           "account_id region snapshot_id snapshot_arn db_instance snapshot_type status created:time encrypted:bool "
           "source_region", "account", collector=rds.collect_rds_snapshots, arguments=_regions, basis="events"),
    _entry("ebs-volumes", "Every EBS volume with its size, state and tags.",
           "account_id region volume_id name size_gib:int state availability_zone tags created:time",
           "account", collector=ec2.collect_volumes, arguments=_regions),
    _entry("s3-bucket-versioning", "Every S3 bucket with its versioning status and tags.", _BUCKETS,
           "account", collector=s3.collect_bucket_versioning),
    _in_snapshots("s3-bucket-versioning", _BUCKETS),
    _entry("backup-recovery-points", "Every AWS Backup recovery point, in the regions in scope and those copies "
           "go to.",
           "account_id region vault recovery_point_arn resource_arn resource_type resource_name status created:time "
           "completed:time delete_after_days:int? delete_at:time source_vault_arn is_copy:bool",
           "account", collector=backup.collect_recovery_points, arguments=_backup_regions, basis="events"),
    _entry("backup-restore-jobs", "AWS Backup restore jobs created in the period.", _RESTORE_COLUMNS,
           "account", collector=backup.collect_restore_jobs,
           arguments=lambda ctx: {**_backup_regions(ctx), "period": ctx.period}, basis="events"),
    _entry("dr-test-records", "The organization's record of disaster-recovery restore tests.",
           _RESTORE_COLUMNS + " data_store", "file", collector=files.collect_dr_tests,
           arguments=lambda ctx: {"path": ctx.settings("A1.2")["dr_test_records"], "folder": "dr_test_records"},
           applies=lambda ctx: bool(ctx.settings("A1.2")["dr_test_records"]), basis="records"),
    # -- AWS: change, vulnerabilities, infrastructure as code -------------------------------------------------
    _entry("ecr-repositories", "Every ECR repository with tag immutability and scan on push.",
           "account_id region repository_name repository_arn tag_mutability scan_on_push:bool encryption "
           "created_at:time", "account", collector=ecr.collect_repositories, arguments=_regions,
           changed_by=(ecr.REPOSITORY_CHANGES,)),
    _entry("ecr-image-findings", "The scan findings of each repository's most recently pushed image.",
           "account_id region repository_name image_digest image_tags pushed_at:time scan_status "
           "scan_completed_at:time finding severity package status first_observed:time last_observed:time scan_type",
           "account", collector=ecr.collect_image_findings,
           arguments=lambda ctx: {"regions": ctx.regions,
                                  "repositories": ctx.settings("CC9.1")["ecr_repositories"] or None}),
    _entry("cloudformation-stacks", "Every CloudFormation stack with its last drift detection.",
           "account_id region stack_name stack_id status drift_status drift_checked_at:time drifted_resources:int "
           "drift_detail created:time updated:time", "account", collector=cloudformation.collect_stacks,
           arguments=_regions),
    _entry("cloudformation-stack-resources", "Every resource of every stack with its physical id.",
           "account_id region stack_name logical_id physical_id resource_type status",
           "account", collector=cloudformation.collect_stack_resources, arguments=_regions),
    _entry("terraform-state-resources", "The managed resources of the Terraform state files named in params "
           "(identifiers only).",
           "account_id state_file address type id arn identifiers", "first_account",
           collector=s3.collect_terraform_state,
           arguments=lambda ctx: {"state_files": ctx.settings("CC9.1")["terraform_state_files"]}),
    # -- GitHub -----------------------------------------------------------------------------------------------
    _entry("github-org-members", "Every member and outside collaborator of each org with role and 2FA.",
           "org login role two_factor_disabled:bool is_outside_collaborator:bool", "org",
           collector=org.collect_org_members),
    _entry("github-org-settings", "Each org's two-factor requirement.",
           "org two_factor_requirement_enabled:bool", "org", collector=org.collect_org_settings,
           changed_by=(org.TWO_FACTOR_REQUIREMENT_CHANGES,)),
    _entry("github-repositories", "Every repository of each org, with its deployments to the production "
           "environment and its production branch's protection: what shows a repository reaches production.",
           "org repo archived:bool production_branch branch_protection_rule rulesets production_deployments:int "
           "last_production_deployment:time", "org", collector=inventory.collect_repositories,
           arguments=lambda ctx: {"environment": ctx.settings("CC8.1")["deploy_environment"],
                                  "branches": {o["name"]: o["production_branch"] for o in ctx.orgs}}),
    _entry("github-audit-log", "Each org's audit log from the period start to the run (GitHub Enterprise Cloud): "
           "the changes to branch protection, rulesets and org settings that readings hold between.",
           "org at:time action actor repo document_id details", "org", collector=org.collect_audit_log,
           arguments=lambda ctx: {"since": ctx.period.start}, applies=audit_log_enabled, basis="events"),
    _entry("github-merged-pulls", "Every pull request merged into a production branch in the period.",
           "org repo number:int url title author merged_by created_at:time updated_at:time merged_at:time "
           "base_branch head_branch head_sha merge_commit_sha labels commit_shas commit_count:int review_count:int "
           "commit_authors",
           "repos", collector=pulls.collect_merged_pulls, arguments=lambda ctx: ctx.window, basis="events"),
    _entry("github-pull-reviews", "Every review of those pull requests.",
           "org repo number:int review_id:int reviewer state submitted_at:time commit_sha", "repos",
           part_of="github-merged-pulls", basis="events"),
    _entry("github-branch-protection", "Each production branch's protection and rulesets, strictest layer.",
           "org repo branch source rulesets required_approvals:int dismiss_stale_reviews:bool "
           "require_last_push_approval:bool require_code_owner_reviews:bool enforce_admins:bool bypass_actors "
           "required_status_checks", "repos", collector=repos.collect_branch_protection,
           changed_by=(repos.PROTECTION_CHANGES,)),
    _entry("github-branch-commits", "Every commit on a production branch in the period and the PR that brought it.",
           "org repo branch sha author committer committed_at:time message parent_count:int associated_prs "
           "in_pr:bool", "repos", collector=repos.collect_branch_commits, arguments=lambda ctx: ctx.window,
           inputs={"merged_pulls": "github-merged-pulls"}, basis="events"),
    _entry("github-deployments", "Deployments to the production environment created in the period, with their "
           "final status.",
           "org repo deployment_id:int sha ref environment creator created_at:time final_state final_state_at:time "
           "final_state_creator status_count:int", "repos", collector=repos.collect_deployments,
           arguments=lambda ctx: {**ctx.window, "environment": ctx.settings("CC8.1")["deploy_environment"]},
           basis="events"),
    _entry("github-secret-scanning-alerts", "Every secret scanning alert of the production repos.",
           "org repo number:int state secret_type created_at:time resolved_at:time resolution url", "repos",
           collector=secret_scanning.collect_secret_scanning_alerts, basis="events"),
    _entry("github-dependabot-alerts", "Every Dependabot alert of the production repos.",
           "org repo number:int state severity ecosystem package manifest ghsa_id cve_id summary created_at:time "
           "fixed_at:time dismissed_at:time dismissed_reason url", "repos",
           collector=security_alerts.collect_dependabot_alerts, basis="events"),
    _entry("github-code-scanning-alerts", "Every code scanning alert of the production repos.",
           "org repo number:int state severity rule_id rule_severity tool description created_at:time fixed_at:time "
           "dismissed_at:time dismissed_reason url", "repos", collector=security_alerts.collect_code_scanning_alerts,
           basis="events"),
    _entry("github-incident-issues", "Incidents tracked as issues in the incident repositories.", _INCIDENT_COLUMNS,
           "github", collector=issues.collect_incident_issues,
           arguments=lambda ctx: {"repos": ctx.settings("CC7.2")["incident_repos"],
                                  "labels": ctx.settings("CC7.2")["incident_labels"], "since": ctx.period.start,
                                  "severity_prefix": ctx.settings("CC7.2")["severity_label_prefix"],
                                  "impact_prefix": ctx.settings("CC7.2")["impact_label_prefix"]},
           applies=lambda ctx: bool(ctx.settings("CC7.2")["incident_repos"]), basis="events"),
    # -- files the organization provides ----------------------------------------------------------------------
    _entry("hr-roster", "The HR roster: every person with their accounts and termination date.",
           "person_id name email github_login aws_user_names start_date:time termination_date:time manager",
           "file", collector=files.load_roster,
           arguments=lambda ctx: {"path": ctx.settings("CC6.1")["hr_roster"], "folder": "hr_roster"}, basis="records"),
    _entry("access-review-decisions", "The reviewers' keep/remove decision on each worksheet line.",
           "system account identity decision reviewer reviewed_at:time", "file", collector=files.load_review_decisions,
           arguments=lambda ctx: {"path": ctx.settings("CC6.1")["review_decisions"], "folder": "review_decisions"},
           basis="records"),
    _entry("previous-access-review-worksheet", "The previous review's worksheet (params, or the newest earlier "
           "package).", _WORKSHEET_COLUMNS, "file", collector=files.load_previous_worksheet,
           arguments=_previous_worksheet, applies=lambda ctx: bool(_previous_worksheet(ctx)["path"]), basis="records"),
    _entry("incident-log-csv", "Incidents from the organization's incident log (CSV).", _INCIDENT_COLUMNS, "file",
           collector=incidents.read_incident_csv,
           arguments=lambda ctx: {"path": ctx.settings("CC7.2")["incident_csv"], "folder": "incident_csv"},
           applies=lambda ctx: bool(ctx.settings("CC7.2")["incident_csv"]), basis="records"),
    # -- derived worksheets -----------------------------------------------------------------------------------
    _entry("access-review-worksheet", "One line per account (IAM, Identity Center, GitHub) with its person, "
           "privileges and the flags a reviewer needs.", _WORKSHEET_COLUMNS, "derived", derive=cc61.review_worksheet,
           inputs={"roster": "hr-roster", "report": "iam-credential-report", "entitlements": "iam-entitlements",
                   "assignments": "identity-center-assignments", "members": "github-org-members"},
           arguments=lambda ctx: {"service_accounts": ctx.settings("CC6.1")["service_accounts"],
                                  "as_of": ctx.period.end, "dormant_days": ctx.settings("CC6.1")["dormant_days"],
                                  "admin_policy_arns": ctx.settings("CC6.1")["admin_policy_arns"]}),
    _entry("leaver-accounts", "Every account of every person terminated in the period, with when it was removed.",
           "person_id person termination_date:time deadline:time system account identity access_at_collection:bool "
           "removed_at:time", "derived", derive=cc61.leaver_accounts,
           inputs={"roster": "hr-roster", "sheet": "access-review-worksheet", "events": "cloudtrail-events"},
           arguments=lambda ctx: {"start": ctx.period.start, "end": ctx.period.end,
                                  "business_days": ctx.settings("CC6.1")["leaver_removal_business_days"],
                                  "holidays": ctx.holidays()}),
    _entry("leaver-activity", "Every identity of every person terminated before the period end, with what it did in "
           "the period after the removal deadline (AWS calls, pull requests, reviews, commits, deployments).",
           "person_id person termination_date:time deadline:time system identity activities count:int first:time "
           "last:time", "derived", derive=cc61.leaver_activity,
           inputs={"roster": "hr-roster", "events": "cloudtrail-events", "pulls": "github-merged-pulls",
                   "reviews": "github-pull-reviews", "commits": "github-branch-commits",
                   "deployments": "github-deployments", "assignments": "identity-center-assignments"},
           optional=("assignments",),
           arguments=lambda ctx: {"start": ctx.period.start, "end": ctx.period.end,
                                  "business_days": ctx.settings("CC6.1")["leaver_removal_business_days"],
                                  "holidays": ctx.holidays()}),
    _entry("access-changes", "Accounts added and removed, administrators gained or lost, since the previous review.",
           "change line person privileges", "derived", derive=cc61.changes_since,
           inputs={"previous": "previous-access-review-worksheet", "current": "access-review-worksheet"}),
    _entry("aws-config-history", "Each recorded resource's AWS Config configuration items: the one in effect at "
           "the period start and every one since.",
           "account_id region resource_type resource_id resource_name capture_time:time status configuration "
           "supplementary arn", "account", collector=config.collect_config_history, arguments=_config_types,
           applies=config_enabled, basis="events"),
    _entry("aws-config-recorders", "Whether a configuration recorder records each resource type, is recording, "
           "and since when.",
           "account_id region resource_type recorded:bool recording:bool recording_since:time recorder_name detail",
           "account", part_of="aws-config-history", applies=config_enabled, basis="events"),
    # -- state timelines: configuration at every moment of the period --------------------------------------
    _entry("cloudtrail-trail-timeline", "Each trail's multi-region, log file validation, global events and bucket "
           "settings at every moment of the period (AWS Config history).",
           timeline.columns(_TRAIL_TIMELINE), "derived",
           derive=_config_timeline("AWS::CloudTrail::Trail", _TRAIL_TIMELINE, cloudtrail.trail_from_config,
                                   lambda item: f"{item['account_id']}:{item['resource_name']}",
                                   lambda trails: [f"{t.account_id}:{t.trail_name}" for t in trails.itertuples()],
                                   cloudtrail.TRAIL_SETTING_CHANGES),
           inputs=_config_inputs("cloudtrail-trails"), arguments=lambda ctx: ctx.window, basis="timeline",
           optional=("events",), reference=("events",)),
    _in_snapshots("iam-credential-report", _CREDENTIAL_REPORT),
    _events_timeline("iam-mfa-timeline", "Whether each IAM user had an active MFA device at every moment of the "
                     "period: CloudTrail's EnableMFADevice, DeactivateMFADevice and CreateUser replayed between the "
                     "credential reports at collection and in the snapshots.", "iam-credential-report",
                     "mfa_active:bool?",
                     lambda u: timeline.resource_label(u.account_id, timeline.GLOBAL_EVENTS_REGION, u.user),
                     lambda u: None if pd.isna(u.mfa_active) else bool(u.mfa_active), iam.mfa_changes,
                     follows=False, region_of=lambda u: timeline.GLOBAL_EVENTS_REGION,
                     created_of=lambda u: u.user_creation_time),
    _events_timeline("secret-rotation-timeline", "Whether each secret's automatic rotation was on at every moment of "
                     "the period: CloudTrail's RotateSecret, CancelRotateSecret and CreateSecret replayed between the "
                     "readings at collection and in the snapshots.", "secretsmanager-secrets",
                     "rotation_enabled:bool?", lambda s: timeline.resource_label(s.account_id, s.region, s.name),
                     lambda s: None if pd.isna(s.rotation_enabled) else bool(s.rotation_enabled),
                     secretsmanager.rotation_changes, follows=False),
    _events_timeline("kms-rotation-timeline", "Each customer-managed key's automatic rotation at every moment of the "
                     "period: CloudTrail's EnableKeyRotation and DisableKeyRotation replayed between the readings at "
                     "collection and in the snapshots.", "kms-keys", "rotation_enabled:bool?",
                     lambda k: timeline.resource_label(k.account_id, k.region, k.key_id),
                     lambda k: None if pd.isna(k.rotation_enabled) else bool(k.rotation_enabled), kms.rotation_changes),
    _events_timeline("guardduty-timeline", "Each region's GuardDuty status at every moment of the period: "
                     "CloudTrail's CreateDetector, UpdateDetector and DeleteDetector replayed between the readings at "
                     "collection and in the snapshots.", "guardduty-detectors", "status",
                     lambda d: timeline.resource_label(d.account_id, d.region, "guardduty"),
                     lambda d: d.status or None, guardduty.detector_changes),
    _events_timeline("s3-versioning-timeline", "Each bucket's versioning status at every moment of the period: "
                     "CloudTrail's PutBucketVersioning and CreateBucket replayed between the readings at collection "
                     "and in the snapshots.", "s3-bucket-versioning", "versioning",
                     lambda b: timeline.resource_label(b.account_id, b.region, b.bucket),
                     lambda b: b.versioning or None, s3.versioning_changes),
    _entry("autoscaling-group-timeline", "Each Auto Scaling group's zones and minimum size at every moment of the "
           "period (AWS Config history).",
           timeline.columns(_ASG_TIMELINE), "derived",
           derive=_config_timeline("AWS::AutoScaling::AutoScalingGroup", _ASG_TIMELINE, autoscaling.group_from_config,
                                   lambda item: f"{item['account_id']}:{item['resource_name']}",
                                   lambda groups: [f"{g.account_id}:{g.name}" for g in groups.itertuples()],
                                   autoscaling.GROUP_SETTING_CHANGES),
           inputs=_config_inputs("autoscaling-groups"), arguments=lambda ctx: ctx.window, basis="timeline",
           optional=("events",), reference=("events",)),
    _entry("cloudtrail-coverage", "Log files and records per account, region and day of the period.",
           "account_id region day log_files:int records:int", "derived", derive=cc71.log_file_coverage,
           inputs={"log_files": "cloudtrail-log-files"},
           arguments=lambda ctx: {**ctx.window, "regions": ctx.regions, "accounts": ctx.account_ids}),
    _entry("cloudtrail-log-integrity", "Every log file of the period's days and the next (delivered, or listed in a "
           "digest): valid, modified, missing or in no digest; and every digest whose signature or chain is bad.",
           "account_id region kind key status digest_key listed_sha256 content_sha256 delivered_at:time "
           "awaiting_digest:bool detail", "derived", derive=cc71.log_integrity,
           inputs={"log_files": "cloudtrail-log-files", "digests": "cloudtrail-digests",
                   "digest_log_files": "cloudtrail-digest-log-files"},
           arguments=lambda ctx: {**ctx.window, "engine": trail_engine(ctx)}),
    _entry("cloudtrail-trail-changes", "Every call in the period that changed a trail or its bucket.", _EVENT_COLUMNS,
           "derived", derive=cc71.trail_changes, inputs={"events": "cloudtrail-events"}),
    _entry("alarm-coverage", "Each required metric with the alarms that watch it.",
           "category namespace metric alarms alarm_count:int", "derived", derive=cc71.alarm_coverage,
           inputs={"alarms": "cloudwatch-alarms"},
           arguments=lambda ctx: {"required": ctx.settings("CC7.1")["required_alarms"]}),
    _entry("alarm-actions", "Every alarm with where its actions go and whether someone is subscribed.",
           "account_id region alarm_name alarm_arn alarm_type namespace metric_name dimensions actions_enabled:bool "
           "alarm_actions ok_actions state state_updated:time description targets reaches_subscriber:bool",
           "derived", derive=cc71.alarm_worksheet, inputs={"alarms": "cloudwatch-alarms", "topics": "sns-topics"}),
    _entry("alarm-firings", "Every time an alarm went into ALARM in the period, and for how long.", _FIRING_COLUMNS,
           "derived", derive=cc71.alarm_firings,
           inputs={"history": "cloudwatch-alarm-history", "alarms": "cloudwatch-alarms"}, reference=("alarms",)),
    _entry("incidents", "Incidents from every source detected in the period, with response times.",
           _INCIDENT_COLUMNS + " minutes_to_acknowledge:float hours_to_resolve:float", "derived",
           derive=cc72.incident_population, inputs=_incident_sources, arguments=lambda ctx: ctx.window),
    _entry("escalation-chain", "Each escalation step with its SNS topic and confirmed subscriptions.",
           "step:int role after_minutes:int? when notify topics_found confirmed_subscriptions:int", "derived",
           derive=cc72.escalation_worksheet, inputs={"topics": "sns-topics"},
           arguments=lambda ctx: {"chain": ctx.settings("CC7.2")["escalation_chain"]}),
    _entry("business-alarm-firings", "Firings of the business alarms incidents must answer.", _FIRING_COLUMNS,
           "derived", derive=cc72.business_alarm_firings,
           inputs={"history": "cloudwatch-alarm-history", "alarms": "cloudwatch-alarms"},
           arguments=lambda ctx: {"namespaces": ctx.settings("CC7.2")["incident_alarm_namespaces"], **ctx.window},
           reference=("alarms",)),
    _entry("change-worksheet", "One line per change merged in the period: approvals, emergency, deployments.",
           "change org repo number:int url title author merged_by merged_at:time head_sha merge_commit_sha "
           "commit_shas labels emergency:bool approvers first_approval_at:time approved_before_merge:bool "
           "approved_final_commit:bool first_post_merge_approval_at:time deployments approvals_not_counted "
           "roster_checked:bool", "derived",
           derive=cc81.change_worksheet,
           inputs={"pulls": "github-merged-pulls", "reviews": "github-pull-reviews",
                   "deployments": "github-deployments", "roster": "hr-roster"}, optional=("roster",),
           arguments=lambda ctx: {"emergency_labels": ctx.settings("CC8.1")["emergency_labels"]}),
    _entry("change-reconciliation", "The counts of changes, commits and deployments that must add up.",
           "count_of n:int check", "derived", derive=cc81.reconcile,
           inputs={"sheet": "change-worksheet", "commits": "github-branch-commits",
                   "deployments": "github-deployments"}),
    _entry("iac-inventory", "Every in-scope resource that infrastructure as code should manage.",
           "resource_id account_id region resource_type name identifiers tags", "derived", derive=cc91.iac_inventory,
           inputs={"rds": "rds-instances", "asgs": "autoscaling-groups", "volumes": "ebs-volumes",
                   "buckets": "s3-bucket-versioning"},
           arguments=lambda ctx: {"scope_tag": ctx.settings("CC9.1")["scope_tag"]}),
    _entry("capacity-alarm-coverage", "Each in-scope Auto Scaling group and database with its capacity alarms.",
           "account_id region resource_type resource namespace metric alarms alarms_with_actions", "derived",
           derive=a11.capacity_alarm_worksheet,
           inputs={"alarms": "cloudwatch-alarms", "groups": "autoscaling-groups", "instances": "rds-instances"},
           arguments=lambda ctx: {"scope_tag": ctx.settings("A1.1")["scope_tag"],
                                  "required": ctx.settings("A1.1")["required_capacity_alarms"]}),
    _entry("backup-data-stores", "Every in-scope data store (RDS instance, EBS volume) and whether it is critical.",
           "store_id account_id region kind name arn critical:bool created:time rds_retention_days:float", "derived",
           derive=a12.data_stores, inputs={"rds": "rds-instances", "volumes": "ebs-volumes"},
           arguments=lambda ctx: {"scope_tag": ctx.settings("A1.2")["scope_tag"],
                                  "critical_tag": ctx.settings("A1.2")["critical_tag"]}),
    _entry("backup-daily-coverage", "Each data store and day of the period with the backups that cover it.",
           "store_id day:time required:bool covered:bool shown:bool sources", "derived", derive=a12.daily_coverage,
           inputs={"stores": "backup-data-stores", "snapshots": "rds-snapshots", "points": "backup-recovery-points"},
           arguments=lambda ctx: {**ctx.window, "read_at": ctx.run_at}),
    _entry("backup-retention", "Each data store's backup retention by mechanism.",
           "store_id mechanism retention_days:float", "derived", derive=a12.retention_worksheet,
           inputs={"stores": "backup-data-stores", "points": "backup-recovery-points"},
           arguments=lambda ctx: ctx.window),
    _entry("restore-tests", "Every restore test of a data store started in the period.",
           "store_id test_id source status started:time completed:time duration_minutes:float "
           "recovery_point_created:time data_age_hours:float", "derived", derive=a12.restore_tests,
           inputs=lambda ctx: {"stores": "backup-data-stores", "restore_jobs": "backup-restore-jobs",
                               **({"dr_tests": "dr-test-records"} if ctx.settings("A1.2")["dr_test_records"] else {})},
           arguments=lambda ctx: ctx.window),
]

ENTRIES: dict[str, Entry] = {e.name: e for e in _DECLARED}


def entry(name: str) -> Entry:
    if name not in ENTRIES:
        raise KeyError(f"no population {name!r} in the evidence catalog")
    return ENTRIES[name]


def built_from(names: list[str], ctx: Context) -> set[str]:
    """Every population these are read, derived or collected from, themselves included; not the optional inputs
    a derivation is built without when they cannot be had (a cross-check does not make them its evidence)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        e = entry(name)
        todo.extend(source for param, source in e.input_names(ctx).items() if param not in e.optional)
        if e.part_of:
            todo.append(e.part_of)
    return seen


def evidence_leaves(reads: list[str], ctx: Context) -> list[str]:
    """The collected populations a conclusion drawn from ``reads`` stands on: through derived populations'
    inputs, except those they only look things up in (``Entry.reference``). A collected population is a leaf, and
    so is a state timeline (what it is built from is its own affair: its unknown intervals are its gaps)."""
    leaves: list[str] = []
    todo = list(reads)
    while todo:
        name = todo.pop(0)
        e = entry(name)
        if e.derive is None or e.basis == "timeline":
            if name not in leaves:
                leaves.append(name)
            continue
        todo.extend(source for param, source in e.input_names(ctx).items() if param not in e.reference)
    return leaves


def followed(leaves: list[str]) -> set[str]:
    """The state populations among a conclusion's leaves that a timeline among them follows completely: the
    conclusion stands on the timeline for them, not on their reading at collection."""
    return {entry(name).follows for name in leaves if entry(name).follows in leaves}


def vouchers(reads: list[str], ctx: Context) -> list[tuple[str, Callable[[pd.DataFrame], str]]]:
    """The findings a test reading these populations stands on (``VOUCHED_BY``, where the relation holds): none for
    a test that reads the vouching population itself (it is the test of that finding)."""
    below = built_from(reads, ctx)
    return [(v.population, v.doubt) for vouched, v in VOUCHED_BY.items()
            if vouched in below and v.population not in reads and v.holds(ctx)]


def empty(name: str) -> pd.DataFrame:
    """A population with no rows, with the catalog's columns and kinds (what a company without it has)."""
    return conform(name, pd.DataFrame())


_EMPTY_VALUE = {"str": "", "int": 0, "int?": None, "float": None, "bool": False, "bool?": None, "time": None}


def from_rows(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A population built from partial rows (a test's, an analyst's): each missing column gets its kind's empty
    value, then the contract applies."""
    contract = entry(name).columns
    return conform(name, pd.DataFrame([{c: _EMPTY_VALUE[k] for c, k in contract.items()} | row for row in rows],
                                      columns=list(contract)))


def conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame in the entry's column contract: order, kinds; a missing or undeclared column is an error."""
    contract = entry(name).columns
    if frame.empty and len(frame.columns) == 0:
        frame = pd.DataFrame(columns=list(contract))
    missing = [c for c in contract if c not in frame.columns]
    extra = [c for c in frame.columns if c not in contract]
    if missing or extra:
        raise CollectionError(f"{name}: columns do not match the catalog"
                              + (f"; missing {', '.join(missing)}" if missing else "")
                              + (f"; undeclared {', '.join(map(str, extra))}" if extra else ""))
    frame = frame[list(contract)].reset_index(drop=True)
    for column, kind in contract.items():
        try:
            frame[column] = _as_kind(frame[column], kind)
        except (ValueError, TypeError) as exc:
            raise CollectionError(f"{name}: column {column} is not {kind}: {' '.join(str(exc).split())[:160]}") \
                from None
    return frame


def _as_kind(values: pd.Series, kind: str) -> pd.Series:
    if kind == "time":
        return pd.to_datetime(values, utc=True, format="ISO8601")
    if kind == "str":
        return values.fillna("").astype(str) if values.dtype == object or values.isna().any() else values.astype(str)
    if kind in ("int", "int?"):
        numbers = pd.to_numeric(values)
        if kind == "int" and numbers.isna().any():
            raise ValueError("a value is missing")
        return numbers.astype("int64" if kind == "int" else "Int64")
    if kind == "float":
        return pd.to_numeric(values).astype("float64")
    if kind == "bool":
        if values.isna().any():
            raise ValueError("a value is missing")
        return values.map(_truth).astype(bool)
    return values.map(lambda v: None if _missing(v) else _truth(v)).astype(object)  # bool?


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value)) or value == ""
    except (TypeError, ValueError):
        return False


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        if value.strip().lower() not in ("true", "false"):
            raise ValueError(f"{value!r} is not true or false")
        return value.strip().lower() == "true"
    return bool(value)


def read_csv(name: str, path: Any) -> pd.DataFrame:
    """A population CSV of a package, read back with its catalog kinds (for re-performance and earlier runs).

    Text was written neutralised against formula injection (auditbook.cells); it is restored exactly here.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    contract = entry(name).columns
    for column in contract:
        if column in frame and contract[column] != "str":
            frame[column] = frame[column].replace("", None)
    text = [column for column in contract if column in frame and contract[column] == "str"]
    return conform(name, cells.restore_frame(frame, text))


def population(name: str, collected: Collected) -> Population:
    """A collector's answer named and held to the entry's contract."""
    return Population(name, conform(name, collected.frame), collected.provenance)


def cache_key(name: str, arguments: dict[str, Any], inputs: dict[str, str]) -> str:
    """Name plus a digest of the resolved arguments (and the keys of the inputs read): two notebooks that
    asked for the same population with different arguments would not share it."""
    text = json.dumps({"arguments": arguments, "inputs": inputs}, sort_keys=True, default=str)
    return f"{name}.{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def key(name: str, ctx: Context) -> str:
    """The cache key of a population in a run: its name, its resolved arguments, and its inputs' keys."""
    e = entry(name)
    if e.part_of:
        return key(e.part_of, ctx)
    return cache_key(name, e.arguments(ctx), {param: key(source, ctx) for param, source in e.input_names(ctx).items()})
