"""Notebooks executed with papermill from pytest, with parameters nbval's defaults do not cover."""

from __future__ import annotations

import json
import shutil

import nbformat
import papermill
import yaml
from auditbook.criteria import NOTEBOOK_DIR
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.params import load
from auditbook.period import parse_period
from auditbook.provenance import utc_now
from auditbook.runinfo import RunFacts
from auditbook.runner import run


def execute(tmp_path, params_path, period="2026-Q3", criterion="CC6.1"):
    resolved = load(params_path)
    RunFacts.describe("20261003T061500Z", utc_now(), parse_period(period), resolved,
                      str(params_path)).write(tmp_path / "run.json")
    papermill.execute_notebook(str(NOTEBOOK_DIR / f"{criterion}.ipynb"), str(tmp_path / "out.ipynb"),
                               cwd=str(tmp_path), kernel_name="python3", progress_bar=False,
                               parameters={"criterion": criterion, "period": period, "params_file": str(params_path),
                                           "run_dir": str(tmp_path), "run_id": "20261003T061500Z"})
    return json.loads((tmp_path / "results" / f"{criterion}.json").read_text())


def test_monthly_period_measures_dormancy_at_that_month_end(demo_env, repo_root, tmp_path):
    record = execute(tmp_path, DEMO_PARAMS, "2026-07")
    dormant = next(t for t in record["tests"] if t["id"] == "CC6.1-DORMANT")
    assert dormant["threshold"]["as_of"].startswith("2026-08-01")
    assert record["period"]["label"] == "2026-07"


def test_not_applicable_criterion_collects_nothing(demo_env, repo_root, tmp_path):
    params = yaml.safe_load((DEMO_PARAMS).read_text())
    params["report"]["logo"] = str(DEMO_PARAMS.parent / params["report"]["logo"])  # relative to the demo params
    params["criteria"]["CC6.1"] = {"not_applicable": "no AWS console access exists (SSO only)"}
    path = tmp_path / "na.yaml"
    path.write_text(yaml.safe_dump(params))
    record = execute(tmp_path, path)
    assert record["status"] == "NOT_APPLICABLE"
    assert {t["status"] for t in record["tests"]} == {"NOT_APPLICABLE"}
    assert record["populations"] == {}


def test_a_failing_notebook_is_error_with_its_executed_notebook_kept(demo_env, repo_root, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(NOTEBOOK_DIR / "CC6.1.ipynb", as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell("raise RuntimeError('kernel-side failure')"))
    nbformat.write(nb, notebooks / "CC6.1.ipynb")
    shutil.copy(NOTEBOOK_DIR / "CC6.1.ipynb", notebooks / "unused.ipynb")
    outcome = run(DEMO_PARAMS, "2026-Q3", out_dir=tmp_path / "out", notebook_dir=notebooks)
    assert outcome.status == "ERROR"
    assert "kernel-side failure" in outcome.outcomes[0].error
    results = json.loads((outcome.run_dir / "results.json").read_text())
    assert results["criteria"][0]["status"] == "ERROR"
    executed = nbformat.read(outcome.run_dir / "reports" / "CC6.1.ipynb", as_version=4)
    assert executed.metadata.papermill.exception is True
    assert (outcome.run_dir / "reports" / "CC6.1.pdf").exists()


def test_alarm_history_forgotten_before_the_run_and_no_snapshot_is_error_with_the_remedy(demo_env, tmp_path):
    """Weeks after the quarter CloudWatch holds none of its alarm history (the demo keeps 30 days, as AWS does);
    with no snapshot that read it in time, no firing is seen, and that is not a PASS."""
    (tmp_path / "run").mkdir()
    record = execute(tmp_path / "run", DEMO_PARAMS, criterion="CC7.2")
    alert = next(t for t in record["tests"] if t["id"] == "CC7.2-ALERT-INCIDENT")
    assert alert["status"] == "ERROR" and alert["population_size"] in (0, None), alert
    assert "CloudWatch keeps alarm history about 30 days" in alert["cause"]
    assert "`auditbook snapshot` at least every 30 days keeps it" in alert["cause"]
    assert "2026-07-01 to 2026-10-01 of the period is not shown" in alert["cause"]
