"""Every collector, called the way the notebooks call it against the demo company.

The fault matrix runs each one clean, records the operations it makes (the emulators' request log),
then makes each of those operations fail in each way and expects a CollectionError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditbook.demo.environment import DEMO_PARAMS
from auditbook.params import load
from auditbook.period import parse_period
from auditbook.sources import github
from auditbook.sources.aws import (
    autoscaling,
    backup,
    cloudformation,
    cloudtrail,
    cloudwatch,
    ec2,
    ecr,
    elbv2,
    guardduty,
    iam,
    identitycenter,
    kms,
    logs,
    rds,
    route53,
    s3,
    secretsmanager,
    sns,
)
from auditbook.sources.github import issues, secret_scanning, security_alerts

PARAMS = load(DEMO_PARAMS)
PERIOD = parse_period("2026-Q3")
REGIONS = PARAMS["scope"]["aws"]["regions"]
ORG = PARAMS["scope"]["github"]["orgs"][0]["name"]
REPOS = PARAMS["scope"]["github"]["orgs"][0]["production_repos"]
BRANCHES = {repo: "main" for repo in REPOS}
CRIT = PARAMS["criteria"]


def _alarm_metrics(account: Any, raw: Any) -> Any:
    alarms = cloudwatch.collect_alarms(account, raw, REGIONS).frame
    return cloudwatch.collect_alarm_metrics(account, raw, alarms, PERIOD, [("AWS/ECS", "CPUUtilization")])


AWS_COLLECTORS: dict[str, Callable[[Any, Any], Any]] = {
    "iam-credential-report": iam.collect_credential_report,
    "iam-entitlements": iam.collect_entitlements,
    "iam-password-policy": iam.collect_password_policy,
    "identity-center-assignments": identitycenter.collect_assignments,
    "cloudtrail-events": lambda a, r: cloudtrail.collect_trail_events(a, r, PERIOD, REGIONS),
    "secretsmanager-secrets": lambda a, r: secretsmanager.collect_secrets(a, r, REGIONS),
    "kms-keys": lambda a, r: kms.collect_keys(a, r, REGIONS),
    "ecr-repositories": lambda a, r: ecr.collect_repositories(a, r, REGIONS),
    "ecr-image-findings": lambda a, r: ecr.collect_image_findings(a, r, REGIONS),
    "cloudtrail-trails": cloudtrail.collect_trails,
    "cloudwatch-alarms": lambda a, r: cloudwatch.collect_alarms(a, r, REGIONS),
    "cloudwatch-alarm-history": lambda a, r: cloudwatch.collect_alarm_history(a, r, REGIONS, PERIOD),
    "sns-topics": lambda a, r: sns.collect_topics(a, r, REGIONS),
    "log-groups": lambda a, r: logs.collect_log_groups(a, r, REGIONS),
    "guardduty-detectors": lambda a, r: guardduty.collect_detectors(a, r, REGIONS),
    "rds-snapshots": lambda a, r: rds.collect_rds_snapshots(a, r, REGIONS),
    "backup-recovery-points": lambda a, r: backup.collect_recovery_points(a, r, REGIONS),
    "backup-restore-jobs": lambda a, r: backup.collect_restore_jobs(a, r, REGIONS, PERIOD),
    "ebs-volumes": lambda a, r: ec2.collect_volumes(a, r, REGIONS),
    "s3-bucket-versioning": s3.collect_bucket_versioning,
    "cloudformation-stacks": lambda a, r: cloudformation.collect_stacks(a, r, REGIONS),
    "cloudformation-stack-resources": lambda a, r: cloudformation.collect_stack_resources(a, r, REGIONS),
    "terraform-state-resources": lambda a, r: s3.collect_terraform_state(a, r, CRIT["CC9.1"]["terraform_state_files"]),
    "elb-target-groups": lambda a, r: elbv2.collect_target_groups(a, r, REGIONS),
    "route53-health-checks": route53.collect_health_checks,
    "route53-records": route53.collect_dns_records,
    "autoscaling-groups": lambda a, r: autoscaling.collect_autoscaling_groups(a, r, REGIONS),
    "rds-instances": lambda a, r: rds.collect_rds_instances(a, r, REGIONS),
    "cloudwatch-alarm-metrics": _alarm_metrics,
}

START, END = PERIOD.start, PERIOD.end

GITHUB_COLLECTORS: dict[str, Callable[[Any, Any], Any]] = {
    "github-org-members": lambda gh, r: github.collect_org_members(gh, ORG, r),
    "github-org-settings": lambda gh, r: github.collect_org_settings(gh, ORG, r),
    "github-production-branches": lambda gh, r: github.production_branches(gh, ORG, REPOS, "default"),
    "github-merged-pulls": lambda gh, r: github.collect_merged_pulls(gh, ORG, REPOS, BRANCHES, START, END, r),
    "github-branch-protection": lambda gh, r: github.collect_branch_protection(gh, ORG, REPOS, BRANCHES, r),
    "github-branch-commits": lambda gh, r: github.collect_branch_commits(gh, ORG, REPOS, BRANCHES, START, END,
                                                                         set(), r),
    "github-deployments": lambda gh, r: github.collect_deployments(gh, ORG, REPOS, "production", START, END, r),
    "github-secret-scanning-alerts": lambda gh, r: secret_scanning.collect_secret_scanning_alerts(gh, ORG, REPOS, r),
    "github-dependabot-alerts": lambda gh, r: security_alerts.collect_dependabot_alerts(gh, ORG, REPOS, r),
    "github-code-scanning-alerts": lambda gh, r: security_alerts.collect_code_scanning_alerts(gh, ORG, REPOS, r),
    "github-incident-issues": lambda gh, r: issues.collect_incident_issues(
        gh, CRIT["CC7.2"]["incident_repos"], CRIT["CC7.2"]["incident_labels"], START, r),
}

# (source, operation, fault kind, outcome): every case the fault tests ran, counted in the summary.
CASES: list[tuple[str, str, str, str]] = []
