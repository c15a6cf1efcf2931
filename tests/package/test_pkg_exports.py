"""The demo package's CI exports tie to results.json and exceptions.csv, are sealed, and verify names an edit."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

from auditbook import layout, locker
from auditbook.cli import main
from ocsf_check import problems


def test_junit_counts_tie_to_results_json(demo_run):
    root = demo_run.run_dir
    results = json.loads((root / layout.RESULTS_JSON).read_text())
    junit = ET.parse(root / layout.JUNIT_XML).getroot()
    assert [s.get("name") for s in junit.findall("testsuite")] == [c["criterion"] for c in results["criteria"]]
    tests = [t for c in results["criteria"] for t in c["tests"]]
    assert len(tests) >= 50
    cases = {(case.get("classname"), case.get("name")): case for case in junit.iter("testcase")}
    assert list(cases) == [(c["criterion"], t["id"]) for c in results["criteria"] for t in c["tests"]]
    by_status = {s: sum(t["status"] == s for t in tests) for s in ("FAIL", "ERROR", "NOT_APPLICABLE")}
    assert {k: int(junit.get(k)) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": len(tests), "failures": by_status["FAIL"], "errors": by_status["ERROR"],
        "skipped": by_status["NOT_APPLICABLE"]}
    for test in tests:
        failure = cases[(test["id"].split("-", 1)[0], test["id"])].find("failure")
        if test["status"] == "FAIL":
            n = test["deviation_count"]
            assert failure.get("message").startswith(f"{n} deviation"), test["id"]
        else:
            assert failure is None, test["id"]


def test_one_ocsf_finding_per_row_of_exceptions_csv_and_per_error(demo_run):
    root = demo_run.run_dir
    with open(root / layout.EXCEPTIONS_CSV, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    results = json.loads((root / layout.RESULTS_JSON).read_text())
    every = json.loads((root / layout.OCSF_FINDINGS).read_text(encoding="utf-8"))
    assert all(problems(f) == [] for f in every), next(problems(f) for f in every if problems(f))
    findings = [f for f in every if f["compliance"]["status"] == "Fail"]
    warnings = [f["compliance"]["control"] for f in every if f["compliance"]["status"] == "Warning"]
    assert warnings == [t["id"] for c in results["criteria"] for t in c["tests"] if t["status"] == "ERROR"]
    assert len(findings) + len(warnings) == len(every)
    assert len(findings) == len(rows) >= 50
    assert [(f["compliance"]["control"], f["resources"][0]["uid"]) for f in findings] == [
        (r["test_id"], r["resource_id"]) for r in rows]
    assert [f["status"] for f in findings] == ["Suppressed" if r["status"] == "accepted" else "New" for r in rows]
    assert sum(f["status"] == "Suppressed" for f in findings) == 1
    assert len({f["finding_info"]["uid"] for f in every}) == len(every)


def test_both_exports_are_sealed_and_an_edit_is_named(demo_run, writable_copy, tmp_path, capsys):
    manifest = json.loads((demo_run.run_dir / layout.MANIFEST).read_text())
    sealed = (demo_run.run_dir / layout.TAG_MANIFEST).read_text()
    for name in (layout.JUNIT_XML, layout.OCSF_FINDINGS):
        assert manifest["files"][name]["sha256"] == locker.sha256_file(demo_run.run_dir / name)
        assert f"  {name}\n" in sealed, name
    copy = writable_copy(tmp_path / "pkg")
    edits = [(layout.JUNIT_XML, b"<failure ", b"<skipped "), (layout.OCSF_FINDINGS, b'"New"', b'"Resolved"')]
    for name, old, new in edits:
        original = (copy / name).read_bytes()
        assert old in original
        (copy / name).write_bytes(original.replace(old, new, 1))
        assert main(["verify", str(copy)]) == 1
        assert f"changed: {name}" in capsys.readouterr().out
        (copy / name).write_bytes(original)
    assert main(["verify", str(copy)]) == 0


def test_verify_cross_checks_a_rehashed_edit_of_the_exports(writable_copy, tmp_path, capsys):
    """An export edited and re-hashed in manifest.json: the hashes agree, results.json does not."""
    copy = writable_copy(tmp_path / "pkg")
    junit = ET.parse(copy / layout.JUNIT_XML)
    case = next(c for c in junit.getroot().iter("testcase") if c.get("name") == "CC6.1-MFA")
    case.remove(case.find("failure"))
    junit.write(copy / layout.JUNIT_XML, encoding="utf-8", xml_declaration=True)
    findings = json.loads((copy / layout.OCSF_FINDINGS).read_text(encoding="utf-8"))
    kept = [f for f in findings if f["compliance"]["control"] != "CC6.1-ROOT"]
    (copy / layout.OCSF_FINDINGS).write_text(json.dumps(kept), encoding="utf-8")
    manifest = json.loads((copy / layout.MANIFEST).read_text())
    for name in (layout.JUNIT_XML, layout.OCSF_FINDINGS):
        manifest["files"][name]["sha256"] = locker.sha256_file(copy / name)
    (copy / layout.MANIFEST).write_text(json.dumps(manifest))
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "problem: CC6.1-MFA: results.junit.xml shows PASS, results.json FAIL" in out
    assert f"problem: CC6.1-ROOT: findings.ocsf.json has 0 findings (0 suppressed), results.json " \
           f"{len(findings) - len(kept)} deviations (0 accepted)" in out
