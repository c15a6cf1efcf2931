"""The Airflow DAG's fan-out, driven without Airflow: the same runner functions and notebook parameters.

prepare → one collect-only execution per criterion × AWS account → one execution per criterion → finish:
one package for the run, the accounts' evidence collected once, in parallel-able parts, and combined.
"""

from __future__ import annotations

import pandas as pd
import papermill
import pytest
import yaml
from auditbook import layout, locker
from auditbook import params as params_mod
from auditbook.criteria import NOTEBOOK_DIR
from auditbook.demo.environment import DEMO_PARAMS, truth_files
from auditbook.demo.faults import any_request, server_error
from auditbook.kernels import KERNEL_MANAGER
from auditbook.package import criterion_outcome
from auditbook.runner import collect_notebook, finish, notebook_parameters, prepare
from auditbook.sources.aws.session import open_account

SANDBOX = "210987654321"  # moto gives an assumed role's credentials the role's account
ROLE = f"arn:aws:iam::{SANDBOX}:role/auditbook-readonly"
CRITERION = "A1.1"


def seed_sandbox_account() -> None:
    """One production auto scaling group in a single zone: the sandbox account's only A1.1 deviation."""
    session = open_account({"id": SANDBOX, "role_arn": ROLE}, "us-east-1").session
    asg = session.client("autoscaling")
    asg.create_launch_configuration(LaunchConfigurationName="sandbox", ImageId="ami-12c6146b",
                                    InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="sandbox-api", LaunchConfigurationName="sandbox",
                                  MinSize=2, MaxSize=4, DesiredCapacity=2, AvailabilityZones=["us-east-1a"],
                                  Tags=[{"Key": "environment", "Value": "production", "PropagateAtLaunch": True}])
    cloudwatch = session.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName="sandbox-api-cpu", Namespace="AWS/EC2", MetricName="CPUUtilization",
                                Dimensions=[{"Name": "AutoScalingGroupName", "Value": "sandbox-api"}],
                                Statistic="Average", Period=300, EvaluationPeriods=1, Threshold=80,
                                ComparisonOperator="GreaterThanThreshold",
                                AlarmActions=[f"arn:aws:sns:us-east-1:{SANDBOX}:oncall"])


def execute(run, code: str, output, account: str = "") -> None:
    papermill.execute_notebook(str(NOTEBOOK_DIR / f"{code}.ipynb"), str(output), kernel_name="python3",
                               progress_bar=False, kernel_manager_class=KERNEL_MANAGER,
                               parameters=notebook_parameters(code, "2026-Q3", run.facts.run_id, run.staging, account))


@pytest.fixture
def two_accounts(demo_env, tmp_path):
    resolved = params_mod.load(DEMO_PARAMS)
    resolved["scope"]["aws"]["accounts"].append({"id": SANDBOX, "name": "sandbox", "role_arn": ROLE})
    path = tmp_path / "two-accounts.yaml"
    path.write_text(yaml.safe_dump(resolved))
    seed_sandbox_account()
    return path


def test_collect_per_account_then_test_per_criterion_makes_one_package(demo_env, two_accounts, tmp_path):
    out = tmp_path / "outputs"
    run = prepare(two_accounts, "2026-Q3", criteria=[CRITERION], out_dir=out)
    staging = run.staging
    accounts = ["123456789012", SANDBOX]
    for account in accounts:  # the DAG's collect_<criterion>_<account> tasks
        execute(run, CRITERION, collect_notebook(staging, CRITERION, account), account)
    assert not (staging / "results").exists() and not (staging / "populations").exists()  # nothing tested
    for account in accounts:
        assert list((staging / layout.CACHE_DIR).glob(f"autoscaling-groups.*@{account}.pickle"))

    # The criterion task only combines the collected parts: with AWS now failing every call it still completes.
    demo_env.faults.aws.inject(any_request, server_error(500), times=None)
    try:
        execute(run, CRITERION, staging / "reports" / f"{CRITERION}.ipynb")
    finally:
        demo_env.faults.clear()
    outcome = finish(run, [criterion_outcome(CRITERION, staging, run.facts)], out)

    assert [p.name for p in (out / "2026-Q3").iterdir()] == [outcome.run_dir.name]  # one package, no staging left
    assert not (outcome.run_dir / layout.CACHE_DIR).exists()
    assert locker.verify(outcome.run_dir).ok
    groups = pd.read_csv(outcome.run_dir / "populations" / "autoscaling-groups.csv", dtype=str)
    assert set(groups["account_id"]) == set(accounts)
    found = pd.read_csv(outcome.run_dir / "exceptions.csv", dtype=str)
    seeded = {(row["test"], row["resource"]) for path in truth_files() for row in yaml.safe_load(path.read_text())
              if row["test"].startswith(f"{CRITERION}-")}
    assert set(zip(found["test_id"], found["resource_id"], strict=True)) == seeded | {
        ("A1.1-ASG", f"{SANDBOX}:sandbox-api")}
