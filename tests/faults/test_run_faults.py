"""Faults during a whole run: the notebooks run under papermill against the demo with faults injected.

Each fault must make ERROR exactly the tests that needed the evidence it broke (with the cause in
results.json and in the criterion's report), leave every other test exactly as in the clean demo run,
and the package must say it is incomplete: status ERROR, exit status 1, never PASS.
"""

from __future__ import annotations

import json
import shutil

import pytest
from auditbook import locker
from auditbook.cli import main
from auditbook.demo import faults as f
from auditbook.demo.environment import DEMO_PARAMS, DEMO_PERIOD
from secretscan import scan

pytestmark = pytest.mark.e2e

# (emulator, which requests, fault, times, population it breaks, words the cause must hold)
SCENARIO = [
    ("aws", f.operation("iam", "GetAccountAuthorizationDetails"), f.throttle(), None, "iam-entitlements",
     "Throttling"),
    ("aws", f.operation("secretsmanager", "ListSecrets"), f.access_denied(), None, "secretsmanager-secrets",
     "AccessDeniedException"),
    ("aws", f.operation("ecr", "DescribeRepositories"), f.malformed(), None, "ecr-repositories", "not valid JSON"),
    ("github", f.path_matches("/repos/*/deployments"), f.server_error(502), None, "github-deployments",
     "502"),
    ("github", f.path_matches("/orgs/*/members"), f.truncated(), 1, "github-org-members", "503"),
]
# Tests that read those populations (directly or through a worksheet): at least these must be ERROR.
CRITERIA = ["CC6.1", "CC6.2", "CC8.1"]  # the criteria these faults reach (a shorter run)
MUST_ERROR = {"CC6.1-ADMIN", "CC6.2-SECRET-ROTATION", "CC6.2-SECRET-ACCESS-POLICY", "CC8.1-ARTIFACTS",
              "CC8.1-DEPLOY", "CC6.1-GITHUB-2FA"}


def results_by_test(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    return results, {t["id"]: (c["criterion"], t) for c in results["criteria"] for t in c["tests"]}


def test_faults_make_exactly_the_tests_that_needed_the_evidence_error(demo_run, demo_env, faults, tmp_path, capsys):
    clean_results, clean = results_by_test(demo_run.run_dir)
    # The same daily snapshots as the clean run: the faulted run differs from it only by the faults.
    shutil.copytree(demo_run.run_dir.parent.parent / "snapshots", tmp_path / "out" / "snapshots")
    for system, match, fault, times, _, _ in SCENARIO:
        getattr(faults, system).inject(match, fault, times=times)

    code = main(["run", "--params", str(DEMO_PARAMS), "--period", DEMO_PERIOD, "--criteria", ",".join(CRITERIA),
                 "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "status: ERROR exit=1" in out
    run_dir = next((tmp_path / "out" / DEMO_PERIOD).glob("*"))
    results, faulted = results_by_test(run_dir)
    assert results["status"] == "ERROR"
    clean = {tid: v for tid, v in clean.items() if v[0] in CRITERIA}
    assert set(faulted) == set(clean), "a faulted run has the same tests"

    # every broken population is named with its cause, in the criteria that collect it
    errors = {name: cause for c in results["criteria"] for name, cause in c["collection_errors"].items()}
    for _, _, _, _, population, words in SCENARIO:
        assert population in errors, f"{population} was not reported as uncollected"
        assert words in errors[population], errors[population]
    assert {tid for tid, (_, t) in faulted.items() if t["status"] == "ERROR"} >= MUST_ERROR

    for tid, (_, test) in faulted.items():
        before = clean[tid][1]
        if test["status"] == "ERROR":
            assert before["status"] != "ERROR"
            assert any(words in test["cause"] for *_, words in SCENARIO), (tid, test["cause"])
            assert test["deviation_count"] == 0 and test["sample"] is None
        else:  # evidence it did not need: exactly the clean answer
            assert (test["status"], test["deviation_count"], test["population_size"]) == \
                   (before["status"], before["deviation_count"], before["population_size"]), tid

    # the cause is in each affected criterion's report, the package is sealed and says ERROR everywhere
    for c in results["criteria"]:
        statuses = {t["status"] for t in c["tests"]}
        assert (c["status"] == "ERROR") == ("ERROR" in statuses)
        if "ERROR" in statuses:
            html = (run_dir / "reports" / f"{c['criterion']}.html").read_text()
            assert "could not be collected" in html or "ERROR" in html
            assert any(words in html for *_, words in SCENARIO), c["criterion"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "ERROR" in manifest["criteria"].values()
    assert locker.verify(run_dir).ok
    oscal = json.loads((run_dir / "oscal" / "assessment-results.json").read_text())
    states = {fd["target"]["target-id"]: fd["target"]["status"]["state"]
              for r in oscal["assessment-results"]["results"] for fd in r["findings"]}
    for tid, (_, test) in faulted.items():
        if test["status"] == "ERROR":
            assert all(state != "satisfied" for target, state in states.items() if tid.lower() in target.lower())
    index = (run_dir / "reports" / "index.html").read_text()
    assert "ERROR" in index
    # raw evidence of what did not fail is still there; nothing partial is passed off as a population
    for name in errors:
        assert not (run_dir / "populations" / f"{name}.csv").exists(), name
    assert clean_results["status"] != "ERROR"
    assert scan(run_dir) == []
