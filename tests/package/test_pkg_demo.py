"""The demo package carries the register, page links, verify's cross-checks, and trends after a second run."""

from __future__ import annotations

import csv
import json

import pytest
from auditbook import locker
from auditbook.cli import main
from auditbook.demo.environment import DEMO_PARAMS


def rows(run_dir):
    with open(run_dir / "exceptions.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_exceptions_csv_marks_accepted_deviations_and_keeps_them(demo_run):
    found = {(r["test_id"], r["resource_id"]): r for r in rows(demo_run.run_dir)}
    active = found[("CC6.2-KEY-AGE", "123456789012:reporting-etl/access_key_1")]
    assert (active["status"], active["accepted_until"], active["owner"]) == (
        "accepted", "2026-12-31", "data-platform@demo-fintech.example")
    assert active["management_response"].startswith("The reporting ETL job")
    expired = found[("CC8.1-PROTECTION", "demo-fintech/web-app:main")]
    assert (expired["status"], expired["accepted_until"]) == ("open", "")
    assert sum(r["status"] == "accepted" for r in found.values()) == 1


def test_results_count_accepted_deviations_in_n_of_n(demo_run):
    results = json.loads((demo_run.run_dir / "results.json").read_text())
    tests = {t["id"]: t for c in results["criteria"] for t in c["tests"]}
    assert tests["CC6.2-KEY-AGE"]["status"] == "FAIL" and tests["CC6.2-KEY-AGE"]["deviation_count"] >= 1
    assert tests["CC6.2-KEY-AGE"]["accepted_count"] == 1
    outcomes = {e["id"]: e["outcome"] for e in results["exception_register"]["entries"]}
    assert outcomes == {"EXC-2026-007": "accepted", "EXC-2026-003": "expired", "EXC-2026-001": "unmatched"}
    assert (demo_run.run_dir / "exceptions-register.yaml").is_file()
    assert all(isinstance(t["report_page"], int) and t["report_page"] > 2 for t in tests.values())


def test_reports_show_acceptance_pages_and_register(demo_run):
    reports = demo_run.run_dir / "reports"
    index = (reports / "index.html").read_text()
    for fact in ["Exception register", "EXC-2026-001", "unmatched", "expired", "1 accepted", "Run by", "Scope",
                 "CC6.2.html#test-CC6.2-KEY-AGE", "auditbook verify"]:
        assert fact in index, fact
    report = (reports / "CC6.2.html").read_text()
    assert "accepted until 2026-12-31 (EXC-2026-007" in report and "ab-toc" in report and "ab-cover" in report
    assert "accepted by management" in report
    assert "accepted until" not in (reports / "CC8.1.html").read_text()  # the expired one is open


def test_verify_prints_a_verdict_and_cross_checks_counts(writable_copy, tmp_path, capsys):
    copy = writable_copy(tmp_path / "pkg")
    assert main(["verify", str(copy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("verified: package ") and "Demo Fintech Inc." in out and "1 accepted" in out
    # A row removed from exceptions.csv with the manifest's hash updated to match: the hashes agree,
    # the counts do not.
    lines = (copy / "exceptions.csv").read_text().splitlines(keepends=True)
    (copy / "exceptions.csv").write_text("".join(lines[:-1]))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["exceptions.csv"]["sha256"] = locker.sha256_file(copy / "exceptions.csv")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "problem: exceptions.csv rows differ from results.json deviation counts" in out
    assert "problem: manifest.json counts.deviations" in out and "NOT verified" in out
    (copy / "reports" / "CC6.1.pdf").unlink()
    assert main(["verify", str(copy)]) == 1
    assert "problem: report reports/CC6.1.pdf is listed but missing" in capsys.readouterr().out


@pytest.mark.e2e
def test_second_run_shows_trends(demo_run):
    from auditbook.runner import run

    out = demo_run.run_dir.parents[1]
    second = run(DEMO_PARAMS, "2026-Q3", criteria=["CC6.1"], out_dir=out)  # the same output folder
    index = (second.run_dir / "reports" / "index.html").read_text()
    assert "Changed since the last run (2026-Q3" in index
    assert "test no longer run: CC8.1-APPROVED" in index
    assert "data:image/png;base64" in index.split("Trends across runs", 1)[1]
    assert locker.verify(second.run_dir).ok
