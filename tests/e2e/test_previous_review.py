"""Two quarters into one output folder: the second finds the first's access review worksheet by itself, and
both record the operator named for the run beside the caller identities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from auditbook import locker
from auditbook import params as params_mod
from auditbook.cli import main
from auditbook.controls import cc61
from auditbook.demo.environment import DEMO_PARAMS

OPERATOR = "Jane Doe (CISO)"
FIRST_REVIEW = "No earlier review worksheet: this is the first review on record"


def _package(period_dir: Path) -> Path:
    packages = [p for p in period_dir.iterdir()]
    assert len(packages) == 1 and not packages[0].name.startswith("."), packages
    return packages[0]


@pytest.mark.e2e
def test_the_next_quarter_reads_the_previous_review_from_the_output_folder(demo_env, tmp_path):
    params = params_mod.load(DEMO_PARAMS)  # paths resolved: the copy may live anywhere
    params["criteria"]["CC6.1"]["previous_worksheet"] = None  # found in the output folder, or nowhere
    # Q2 has no snapshots: its configuration tests would be ERROR (not covered); coverage is not this test's topic.
    params["coverage"]["accept"].update({t.test_id: "point-in-time reading accepted" for t in cc61.TESTS})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    out = tmp_path / "outputs"
    for period in ("2026-Q2", "2026-Q3"):
        assert main(["run", "--params", str(path), "--period", period, "--criteria", "CC6.1", "--out", str(out),
                     "--operator", OPERATOR]) == 0
    q2, q3 = _package(out / "2026-Q2"), _package(out / "2026-Q3")

    assert FIRST_REVIEW in (q2 / "reports" / "CC6.1.html").read_text()
    assert FIRST_REVIEW not in (q3 / "reports" / "CC6.1.html").read_text()
    results = json.loads((q3 / "results.json").read_text())
    populations = results["criteria"][0]["populations"]
    earlier = q2 / "populations" / "access-review-worksheet.csv"
    previous = populations["previous-access-review-worksheet"]
    assert Path(previous["endpoint"]).resolve() == earlier.resolve(), previous
    assert previous["csv"] == "populations/previous-access-review-worksheet.csv"
    assert (q3 / "populations" / "previous-access-review-worksheet.csv").is_file()
    assert (q3 / "populations" / "access-changes.csv").is_file() and "access-changes" in populations
    kept = q3 / "raw" / "files" / "previous_worksheet" / "access-review-worksheet.csv"
    assert kept.read_bytes() == earlier.read_bytes()

    manifest = json.loads((q3 / "manifest.json").read_text())
    assert results["run_by"] == manifest["run_by"] == OPERATOR
    assert OPERATOR in (q3 / "reports" / "CC6.1.html").read_text()  # the cover's "Run by"
    callers = set(results["caller_identities"])
    assert callers == set(manifest["caller_identities"])
    assert any(c.startswith("arn:aws:") for c in callers) and "auditbook-demo-bot" in callers
    assert locker.verify(q2).ok and locker.verify(q3).ok
