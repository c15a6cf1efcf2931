"""The schedules stay correct: the workflow, the crontab line and the Airflow DAG call the same run."""

from __future__ import annotations

import csv
import importlib.util
import py_compile
import re

import pytest
import yaml

QUARTERLY = "15 6 3 1,4,7,10 *"


@pytest.fixture
def workflow(repo_root):
    return yaml.safe_load((repo_root / ".github" / "workflows" / "quarterly.yml").read_text())


def steps(workflow):
    return workflow["jobs"]["evidence"]["steps"]


def test_workflow_runs_quarterly_with_least_privilege(workflow):
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"] == [{"cron": QUARTERLY}] and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "id-token": "write", "attestations": "write"}


def test_workflow_assumes_the_audit_role_by_oidc(workflow):
    aws = next(s for s in steps(workflow) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert aws["with"]["role-to-assume"] == "${{ vars.AUDIT_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])  # no stored keys


def test_workflow_calls_the_make_target_and_uploads_the_package(workflow, repo_root):
    run = next(s for s in steps(workflow) if s.get("id") == "run")
    assert re.search(r"\bmake quarter PARAMS=\"\$PARAMS\" PERIOD=\"\$PERIOD\"", run["run"])
    assert run["env"]["GITHUB_TOKEN"].startswith("${{ secrets.")
    assert "quarter:" in (repo_root / "Makefile").read_text()
    uses = [s.get("uses", "") for s in steps(workflow)]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    s3 = next(s for s in steps(workflow) if "aws s3 cp" in s.get("run", ""))
    assert "Object Lock" in s3["name"] and "$BUCKET" in s3["run"]
    assert any("make verify" in s.get("run", "") for s in steps(workflow))
    for step in steps(workflow):  # inputs reach scripts through the environment, never pasted into them
        assert "${{" not in step.get("run", ""), step["name"]


# What a person who dispatches the workflow, or opens an issue or pull request, writes: pasted into a script by
# `${{ }}` it is shell code, in the job that holds the GitHub token, the webhook secret and the audit role.
UNTRUSTED_EXPRESSION = re.compile(r"\$\{\{[^}]*\b(inputs\.|github\.event\.|github\.head_ref)")


def test_no_script_interpolates_an_input_or_event_expression(workflow):
    """Every input reaches a `run:` script through `env:` as a quoted shell variable, never by `${{ }}`."""
    scripts = [(job_name, step.get("name", step.get("id")), step["run"])
               for job_name, job in workflow["jobs"].items() for step in job["steps"] if "run" in step]
    assert scripts
    for job_name, step_name, script in scripts:
        assert not UNTRUSTED_EXPRESSION.search(script), (job_name, step_name)
        assert "${{" not in script, (job_name, step_name)
    period = next(s for s in steps(workflow) if s.get("id") == "period")
    assert period["env"]["PERIOD_INPUT"] == "${{ inputs.period }}" and '"$PERIOD_INPUT"' in period["run"]
    assert "grep -Eqx" in period["run"]  # checked for a period's form before it becomes a step output


def test_the_scheduled_package_is_signed_verified_against_the_key_and_attested(workflow, repo_root):
    run = next(s for s in steps(workflow) if s.get("id") == "run")
    assert run["env"]["SIGNING_KEY"] == "${{ vars.AUDITBOOK_SIGNING_KEY }}"
    assert 'SIGN_WITH="kms:$SIGNING_KEY"' in run["run"]
    assert run["run"].index('[ -z "$SIGNING_KEY" ]') < run["run"].index("make quarter")  # unsigned is refused
    verify = next(s for s in steps(workflow) if s.get("id") == "verify")
    assert 'make verify RUN="$PACKAGE" SIGNER="$SIGNING_KEY"' in verify["run"]
    attest = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/attest-build-provenance@"))
    assert attest["with"]["subject-path"].endswith("/manifest-sha256.txt")
    assert "steps.verify.outcome == 'success'" in attest["if"]  # only a package that verified is attested
    names = [s.get("name", "") for s in steps(workflow)]
    assert names.index(verify["name"]) < names.index(attest["name"])
    makefile = (repo_root / "Makefile").read_text()
    assert '--sign-with "$$AB_SIGN_WITH"' in makefile
    assert '--expect-signer "$$AB_SIGNER" --require-signature' in makefile


def test_crontab_line_runs_the_same_target_on_the_same_schedule(repo_root):
    lines = [line for line in (repo_root / "deploy" / "crontab").read_text().splitlines()
             if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(lines) == 2
    assert lines[0].startswith(QUARTERLY + " ") and "make quarter PARAMS=" in lines[0]
    assert lines[1].startswith("30 5 * * * ") and "make snapshot PARAMS=" in lines[1]  # daily, before the quarter's
    assert not any("%" in line for line in lines)  # cron turns % into a newline


def test_the_daily_snapshot_workflow_is_signed_and_kept_where_the_quarterly_run_reads_it(repo_root):
    daily = yaml.safe_load((repo_root / ".github" / "workflows" / "snapshot.yml").read_text())
    quarterly = yaml.safe_load((repo_root / ".github" / "workflows" / "quarterly.yml").read_text())
    assert daily[True]["schedule"] == [{"cron": "30 5 * * *"}]  # PyYAML reads the key `on` as True
    steps = daily["jobs"]["snapshot"]["steps"]
    take = next(s for s in steps if "make snapshot" in s.get("run", ""))
    assert 'SIGN_WITH="kms:$SIGNING_KEY"' in take["run"] and "${{" not in take["run"]
    upload = next(s for s in steps if "aws s3 cp" in s.get("run", ""))
    fetch = next(s for s in quarterly["jobs"]["evidence"]["steps"] if "outputs/snapshots" in s.get("run", ""))
    assert "s3://$BUCKET/outputs/snapshots/" in upload["run"] and "s3://$BUCKET/outputs/snapshots/" in fetch["run"]
    names = [s.get("name") for s in quarterly["jobs"]["evidence"]["steps"]]
    assert names.index(fetch["name"]) < names.index("Run the quarter")


def test_dag_file_compiles_and_uses_the_papermill_provider(repo_root):
    dag = repo_root / "deploy" / "airflow" / "auditbook_dag.py"
    py_compile.compile(str(dag), doraise=True)
    text = dag.read_text()
    assert "PapermillOperator" in text and f'SCHEDULE = "{QUARTERLY}"' in text
    assert "default_params()" in text and "default_out()" in text and "os.environ" not in text  # as the CLI reads


def test_the_daily_snapshot_dag_keeps_the_workflow_and_crontab_schedule_and_takes_a_snapshot(repo_root):
    dag = repo_root / "deploy" / "airflow" / "auditbook_snapshot_dag.py"
    py_compile.compile(str(dag), doraise=True)
    text = dag.read_text()
    daily = yaml.safe_load((repo_root / ".github" / "workflows" / "snapshot.yml").read_text())[True]["schedule"]
    crontab = (repo_root / "deploy" / "crontab").read_text()
    assert f'SCHEDULE = "{daily[0]["cron"]}"' in text and f"{daily[0]['cron']} cd /opt/auditbook" in crontab
    assert 'main(["snapshot"])' in text and "raise RuntimeError" in text and "catchup=False" in text
    assert "os.environ" not in text  # AUDITBOOK_PARAMS / AUDITBOOK_OUT are read by the command, one place


def test_the_snapshot_dag_imports_when_airflow_is_installed(repo_root, monkeypatch):
    pytest.importorskip("airflow", reason="Apache Airflow is not installed in .venv (it is not a dependency of "
                                          "auditbook); install apache-airflow to run this")
    monkeypatch.setenv("AUDITBOOK_PARAMS", str(repo_root / "params" / "demo.yaml"))
    path = repo_root / "deploy" / "airflow" / "auditbook_snapshot_dag.py"
    spec = importlib.util.spec_from_file_location("auditbook_snapshot_dag", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dag.dag_id == "auditbook_snapshot" and set(module.dag.task_ids) == {"snapshot"}


def test_dag_imports_when_airflow_is_installed(repo_root, monkeypatch):
    pytest.importorskip("airflow", reason="Apache Airflow is not installed in .venv (it is not a dependency of "
                                          "auditbook); install apache-airflow and its Papermill provider to run this")
    pytest.importorskip("airflow.providers.papermill", reason="apache-airflow-providers-papermill is not installed")
    monkeypatch.setenv("AUDITBOOK_PARAMS", str(repo_root / "params" / "demo.yaml"))
    path = repo_root / "deploy" / "airflow" / "auditbook_dag.py"
    spec = importlib.util.spec_from_file_location("auditbook_dag", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    criteria = [c.replace(".", "_") for c in module.criteria()]
    dag = module.dag
    assert set(dag.task_ids) == {"prepare", "seal", *criteria, *(f"collect_{c}_123456789012" for c in criteria)}
    for code in criteria:  # prepare → collect per account → test per criterion → seal (one package per run)
        assert dag.get_task(f"collect_{code}_123456789012").upstream_task_ids == {"prepare"}
        assert dag.get_task(code).upstream_task_ids == {f"collect_{code}_123456789012"}
        assert dag.get_task(code).downstream_task_ids == {"seal"}
        assert dag.get_task(f"collect_{code}_123456789012").parameters["collect_account"] == "123456789012"
    assert module.last_quarter(__import__("datetime").datetime(2027, 1, 3)) == "2026-Q4"


DAG_TEST = """
import importlib.util, sys
from datetime import UTC, datetime
spec = importlib.util.spec_from_file_location("auditbook_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test(logical_date=datetime(2026, 10, 3, 6, 15, tzinfo=UTC), run_conf={"period": "2026-Q3"})
print("dag run state:", run.state)
"""


@pytest.mark.slow
def test_dag_runs_the_demo_quarter_into_one_package_when_airflow_is_installed(demo_env, repo_root, tmp_path):
    """Airflow's own ``dag.test()``: every task in process, the Papermill provider executing the notebooks."""
    pytest.importorskip("airflow", reason="Apache Airflow is not installed in .venv (it is not a dependency of "
                                          "auditbook); install apache-airflow and its Papermill provider to run this")
    pytest.importorskip("airflow.providers.papermill", reason="apache-airflow-providers-papermill is not installed")
    import os
    import subprocess
    import sys

    from auditbook.demo.environment import truth_files

    out = tmp_path / "outputs"
    env = {**os.environ, **demo_env.env, "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(repo_root / "deploy" / "airflow"),
           "AUDITBOOK_PARAMS": str(repo_root / "params" / "demo.yaml"),
           "AUDITBOOK_OUT": str(out)}
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-c", DAG_TEST, str(repo_root / "deploy" / "airflow" / "auditbook_dag.py")],
                          env=env, capture_output=True, text=True, timeout=1200)
    assert "dag run state: success" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    packages = list((out / "2026-Q3").iterdir())
    assert len(packages) == 1 and not packages[0].name.startswith(".")
    with open(packages[0] / "exceptions.csv", newline="") as fh:
        found = {(row["test_id"], row["resource_id"]) for row in csv.DictReader(fh)}
    assert found == {(r["test"], r["resource"]) for p in truth_files() for r in yaml.safe_load(p.read_text())}
