"""A company without a kind of resource is normal: an AWS account with no database, no auto scaling group, no
load balancer, no backup and no trail runs every criterion without a crash. What it lacks is tested as
"no resources in scope"; only evidence that could not be collected (the trail) makes tests ERROR."""

from __future__ import annotations

import json

import yaml
from auditbook import params as params_mod
from auditbook.controls import a11, a12, cc61, cc62, cc71, cc72, cc81, cc91
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.runner import run

EMPTY = "310987654321"  # moto gives an assumed role's credentials the role's account: nothing lives there


def test_an_empty_account_runs_every_criterion_without_a_crash(demo_env, tmp_path):
    params = params_mod.load(DEMO_PARAMS)
    params["scope"]["aws"]["accounts"] = [{"id": EMPTY, "name": "empty",
                                           "role_arn": f"arn:aws:iam::{EMPTY}:role/auditbook-readonly"}]
    params["criteria"]["CC9.1"]["terraform_state_files"] = []
    # Nothing was read during the period: an empty population at collection passes only where params accept a
    # point-in-time reading (here every test: the run must not crash, whatever it finds).
    params["coverage"] = {"accept": {t.test_id: "an empty account: point-in-time reading accepted"
                                     for module in (a11, a12, cc61, cc62, cc71, cc72, cc81, cc91)
                                     for t in module.TESTS}}
    path = tmp_path / "empty.yaml"
    path.write_text(yaml.safe_dump(params))
    outcome = run(path, "2026-Q3", out_dir=tmp_path / "out")
    results = json.loads((outcome.run_dir / "results.json").read_text())
    tests = {t["id"]: t for c in results["criteria"] for t in c["tests"]}
    assert len(tests) == 65
    for test in tests.values():
        if test["status"] == "ERROR":  # only for evidence that could not be had, never a rule that crashed
            assert test["cause"].startswith("evidence for "), (test["id"], test["cause"])
            assert "cloudtrail" in test["cause"], (test["id"], test["cause"])
    for tid in ("A1.1-TARGET-HEALTH", "A1.1-DNS-HEALTH", "A1.1-ASG", "A1.1-DB-MULTI-AZ", "A1.1-CAPACITY-ALARMS",
                "A1.2-DAILY-BACKUP", "A1.2-RETENTION", "A1.2-COPIES", "A1.2-RESTORE-TEST", "CC9.1-IAC-MANAGED",
                "CC9.1-IAC-DRIFT"):
        test = tests[tid]
        assert (test["status"], test["population_size"]) == ("PASS", 0), (tid, test["status"], test["cause"])
        assert test["notes"][0].startswith("No resources in scope"), (tid, test["notes"])
    assert tests["CC7.1-TRAIL"]["status"] == "FAIL"  # no trail at all is a deviation, not an empty pass
    # Settings over the period are replayed from CloudTrail: without a trail they cannot be shown (fail closed)
    for tid in ("CC6.2-KMS-ROTATION", "CC6.2-SECRET-ROTATION", "CC6.1-MFA", "A1.2-S3-VERSIONING",
                "CC7.1-THREAT-DETECTION"):
        assert tests[tid]["status"] == "ERROR" and "cloudtrail-events" in tests[tid]["cause"], tid
