"""Trends across runs in an output folder, and the index that shows them with the control matrix."""

from __future__ import annotations

import json

from auditbook import trends
from auditbook.report import index
from pkgdata import make_results, write_package


def two_runs(tmp_path):
    out = tmp_path / "out"
    q2 = make_results(run_id="20260703T061500Z", period="2026-Q2", start="2026-04-01T00:00:00+00:00",
                      end="2026-07-01T00:00:00+00:00", mfa_deviations=1)
    write_package(out / "2026-Q2" / q2["run_id"], q2, [("CC6.1-MFA", "111111111111:old", "open")])
    q3 = make_results(mfa_deviations=2, root_status="ERROR")
    current = write_package(tmp_path / "staging", q3, [("CC6.1-MFA", "111111111111:dan.dev", "open"),
                                                       ("CC6.1-MFA", "111111111111:mallory", "accepted")])
    (out / "2026-Q3" / ".staging-x").mkdir(parents=True)  # a half-built run is never read
    (out / "scratch" / "CC6.1-20260101T000000Z").mkdir(parents=True)
    return out, q3, current


def test_history_orders_earlier_runs_and_ends_with_the_current_one(tmp_path):
    out, q3, current = two_runs(tmp_path)
    hist = trends.history(out, q3, current)
    assert [r.run_id for r in hist.runs] == ["20260703T061500Z", q3["run_id"]]
    assert hist.previous.period == "2026-Q2"


def test_runs_of_another_organization_or_later_are_ignored(tmp_path):
    out, q3, current = two_runs(tmp_path)
    later = make_results(run_id="20270103T061500Z", period="2026-Q4", start="2026-10-01T00:00:00+00:00")
    write_package(out / "2026-Q4" / later["run_id"], later, [])
    other = dict(make_results(run_id="20260704T061500Z"), organization="Other Corp")
    write_package(out / "2026-Q3" / other["run_id"], other, [])
    assert [r.run_id for r in trends.history(out, q3, current).runs] == ["20260703T061500Z", q3["run_id"]]


def test_changes_since_the_last_run(tmp_path):
    out, q3, current = two_runs(tmp_path)
    diff = trends.changes(trends.history(out, q3, current))
    assert diff["status_changes"] == [("CC6.1-ROOT", "PASS", "ERROR")]
    assert diff["new_deviations"] == [("CC6.1-MFA", "111111111111:dan.dev"), ("CC6.1-MFA", "111111111111:mallory")]
    assert diff["resolved_deviations"] == [("CC6.1-MFA", "111111111111:old")]


def test_first_run_has_no_trend(tmp_path):
    q3 = make_results()
    current = write_package(tmp_path / "pkg", q3, [])
    hist = trends.history(tmp_path / "empty", q3, current)
    assert hist.previous is None and trends.chart_png(hist, "CC6.1") is None
    assert "trends start with the next run" in index.render(q3, hist)


def test_index_shows_matrix_register_trends_and_how_to_verify(tmp_path):
    out, q3, current = two_runs(tmp_path)
    q3["exception_register"] = {"source": "exceptions-register.yaml", "entries": [
        {"id": "EXC-9", "test": "CC6.1-MFA", "resource": "111111111111:gone", "owner": "it", "expires": "2026-12-31",
         "management_response": "r", "remediation_date": "2026-11-01", "compensating_control": "",
         "outcome": "unmatched", "note": "no deviation of this run matches"}]}
    hist = trends.history(out, q3, current)
    html = index.render(q3, hist, for_pdf=False)
    for fact in ["Scope", "Run by", "auditbook version", "Params digest", "Notebook commit", "2026-Q3",
                 "Deviations (n of N)", "2 of 14", "1 accepted", "CC6.1.html#test-CC6.1-MFA", "p.&nbsp;4",
                 "EXC-9", "unmatched", "Changed since the last run (2026-Q2", "CC6.1-ROOT: PASS → ERROR",
                 "data:image/png;base64", "auditbook verify"]:
        assert fact in html, fact
    assert "AccessDenied" in html  # an ERROR shows its cause, not a count
    assert "CC6.1.pdf#page=4" in index.render(q3, hist, for_pdf=True)


def test_index_pdf_is_written(tmp_path):
    out, q3, current = two_runs(tmp_path)
    index.write_index(current, q3, trends.history(out, q3, current))
    assert (current / "reports" / "index.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((current / "results.json").read_text())["run_id"] == q3["run_id"]
