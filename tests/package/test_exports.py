"""CI exports: results.junit.xml (testcase per control test) and findings.ocsf.json (OCSF finding per deviation)."""

from __future__ import annotations

import copy
import csv
import json
import xml.etree.ElementTree as ET

import pytest
from auditbook import locker
from auditbook.report import exports
from ocsf_check import problems
from pkgdata import make_results


def row(test_id: str = "CC6.1-MFA", resource: str = "111111111111:dan.dev", detail: str = "no MFA",
        status: str = "open", **extra: str) -> dict:
    base = {"criterion": test_id.split("-", 1)[0], "test_id": test_id, "resource_type": "iam_user",
            "resource_id": resource, "detail": detail, "status": status, "accepted_until": "", "owner": "",
            "management_response": ""}
    return {**base, **extra}


ACCEPTED = row(resource="111111111111:mallory", status="accepted", accepted_until="2026-12-31",
               owner="it@acme.example", management_response="Break-glass user, MFA token in the safe",
               register_id="EXC-1")


def results_with(*tests: dict, error: str | None = None) -> dict:
    """make_results() with CC6.1's tests replaced (and a criterion error when given)."""
    results = make_results()
    crit = results["criteria"][0]
    crit["tests"] = [dict(copy.deepcopy(crit["tests"][0]), **t) for t in tests]
    crit["error"] = error
    return results


def parse(results: dict, rows: list[dict]) -> ET.Element:
    return ET.fromstring(exports.junit_xml(results, rows))


def counts(element: ET.Element) -> dict[str, int]:
    return {k: int(element.get(k)) for k in ("tests", "failures", "errors", "skipped")}


def test_one_testcase_per_test_with_its_status():
    results = results_with(
        {"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": 2},
        {"id": "CC6.1-ROOT", "status": "PASS", "deviation_count": 0},
        {"id": "CC6.1-KEYS", "status": "ERROR", "deviation_count": 0, "cause": "AccessDenied on iam:ListUsers"},
        {"id": "CC6.1-SSO", "status": "NOT_APPLICABLE", "deviation_count": 0, "cause": "no Identity Center"},
    )
    root = parse(results, [row(), ACCEPTED])
    suite = root.find("testsuite")
    assert (suite.get("name"), suite.get("timestamp")) == ("CC6.1", "2026-10-03T06:15:00")  # generated_at, UTC
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["CC6.1-MFA", "CC6.1-ROOT", "CC6.1-KEYS", "CC6.1-SSO"]
    assert {c.get("classname") for c in cases.values()} == {"CC6.1"}
    failure = cases["CC6.1-MFA"].find("failure")
    assert failure.get("message") == "2 deviations (1 accepted in the exception register)"
    lines = failure.text.splitlines()
    assert "iam_user 111111111111:dan.dev: no MFA" in lines
    assert "iam_user 111111111111:mallory: no MFA [accepted until 2026-12-31, owner it@acme.example]" in lines
    assert list(cases["CC6.1-ROOT"]) == []  # PASS: plain
    assert cases["CC6.1-KEYS"].find("error").get("message") == "AccessDenied on iam:ListUsers"
    assert cases["CC6.1-SSO"].find("skipped").get("message") == "no Identity Center"
    assert counts(suite) == counts(root) == {"tests": 4, "failures": 1, "errors": 1, "skipped": 1}


def test_a_single_deviation_is_singular():
    root = parse(results_with({"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": 1}), [row()])
    assert root.find(".//failure").get("message") == "1 deviation"


def test_a_criterion_that_could_not_run_is_an_error_not_an_empty_suite():
    results = make_results()
    results["criteria"][0].update(tests=[], status="ERROR", error="the notebook recorded no results")
    root = parse(results, [])
    case = root.find("testsuite/testcase")
    assert (case.get("classname"), case.get("name")) == ("CC6.1", "CC6.1")
    assert case.find("error").get("message") == "the notebook recorded no results"
    assert counts(root) == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}


def test_counts_add_up_over_several_criteria():
    results = make_results(root_status="ERROR")
    second = copy.deepcopy(results["criteria"][0])
    second["criterion"] = "CC7.2"
    for t in second["tests"]:
        t["id"] = t["id"].replace("CC6.1", "CC7.2")
        t["status"] = "PASS"
    results["criteria"].append(second)
    root = parse(results, [row(), ACCEPTED])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["CC6.1", "CC7.2"]
    marks = {"tests": ".", "failures": "failure", "errors": "error", "skipped": "skipped"}
    for key, mark in marks.items():
        assert int(root.get(key)) == sum(int(s.get(key)) for s in suites) == \
            sum(len(s.findall(f"testcase/{mark}")) for s in suites)
    assert counts(root) == {"tests": 4, "failures": 1, "errors": 1, "skipped": 0}


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown status 'MAYBE'"):
        exports.junit_xml(results_with({"id": "CC6.1-MFA", "status": "MAYBE"}), [])


HOSTILE = ['</failure><script>alert(1)</script>', "a & b < c > d \"quoted\" 'single'", "bell\x07 esc\x1b nul\x00",
           "form\x0cfeed \ufffe \uffff \ud800", "line\nbreak\r\nand\ttab", "Ünïcødé · 株式会社 😀", "]]><!-- -->"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_always_parses_and_reads_back(text):
    results = results_with({"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": 1},
                           {"id": "CC6.1-ROOT", "status": "ERROR", "cause": text, "deviation_count": 0})
    results["organization"] = text
    data = exports.junit_xml(results, [row(resource=text, detail=text)])
    root = ET.fromstring(data)  # raises on any character XML 1.0 forbids
    failure = root.find(".//failure").text
    error = root.find(".//error")
    assert error.text == exports.xml_text(text).replace("\r\n", "\n").replace("\r", "\n")
    visible = " ".join(exports.xml_text(text).split())
    assert f"iam_user {visible}: {visible}" in failure.splitlines()
    assert root.findall(".//script") == []


def test_forbidden_characters_are_shown_not_dropped():
    assert exports.xml_text("a\x00b\x1bc\ufffed") == "a\\x00b\\x1bc\\ufffed"
    assert exports.xml_text("tab\tlf\ncr\r") == "tab\tlf\ncr\r"


def test_a_huge_deviation_list_is_capped_and_says_where_the_rest_is():
    rows = [row(resource=f"user-{i}", detail="x" * 5000) for i in range(5000)]
    results = results_with({"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": 5000})
    data = exports.junit_xml(results, rows)
    failure = ET.fromstring(data).find(".//failure")
    assert failure.get("message") == "5000 deviations"
    lines = failure.text.splitlines()
    assert sum(line.startswith("iam_user user-") for line in lines) == exports.DEVIATIONS_LISTED
    assert max(len(line) for line in lines) <= exports.LINE_CHARS
    assert lines[-1].startswith("... 4900 more deviations not listed here") and "exceptions.csv" in lines[-1]
    assert len(data) < 100_000


def test_an_empty_population_passes_plainly_and_has_no_finding():
    results = results_with({"id": "CC6.1-MFA", "status": "PASS", "population_size": 0, "deviation_count": 0,
                            "notes": ["No resources in scope: nothing to test."]})
    root = parse(results, [])
    assert list(root.find(".//testcase")) == [] and counts(root)["tests"] == 1
    assert exports.ocsf_findings(results, []) == []


def findings(rows: list[dict]) -> list[dict]:
    results = results_with({"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": len(rows),
                            "deviates_when": "Console users without MFA deviate."})
    return exports.ocsf_findings(results, rows)


def test_one_valid_compliance_finding_per_deviation():
    found = findings([row(), ACCEPTED])
    assert len(found) == 2
    for finding in found:
        assert problems(finding) == [], problems(finding)
        assert (finding["class_uid"], finding["category_uid"], finding["type_uid"], finding["activity_id"]) == (
            2003, 2, 200301, 1)
        assert finding["compliance"] == {"standards": ["SOC 2"], "requirements": ["CC6.1"], "control": "CC6.1-MFA",
                                         "status": "Fail", "status_id": 3,
                                         "status_detail": "Console users without MFA deviate."}
        assert finding["metadata"]["version"] == "1.3.0"
        assert finding["metadata"]["product"] == {"name": "auditbook", "vendor_name": "auditbook",
                                                  "version": "0.1.0"}
        assert finding["finding_info"]["title"] == "CC6.1-MFA Console users have MFA"
        assert finding["time"] == finding["finding_info"]["created_time"] == 1791008100000  # 2026-10-03T06:15:00Z
    assert [f["resources"] for f in found] == [[{"type": "iam_user", "uid": "111111111111:dan.dev"}],
                                               [{"type": "iam_user", "uid": "111111111111:mallory"}]]


def test_an_accepted_deviation_is_suppressed_with_the_registers_reason():
    open_one, accepted = findings([row(), ACCEPTED])
    assert (open_one["status_id"], open_one["status"]) == (1, "New") and "comment" not in open_one
    assert (accepted["status_id"], accepted["status"]) == (3, "Suppressed")
    assert accepted["comment"] == ("Accepted in the exception register until 2026-12-31 (owner it@acme.example): "
                                   "Break-glass user, MFA token in the safe")
    assert accepted["unmapped"]["register_id"] == "EXC-1"


def test_finding_ids_are_stable_and_unique():
    rows = [row(), ACCEPTED, row(detail="second deviation of the same user")]
    first, again = findings(rows), findings(copy.deepcopy(rows))
    uids = [f["finding_info"]["uid"] for f in first]
    assert uids == [f["finding_info"]["uid"] for f in again] and len(set(uids)) == 3
    other_run = make_results(run_id="20261004T061500Z")
    other_run["criteria"][0]["tests"][0]["deviation_count"] = 3
    assert not set(uids) & {f["finding_info"]["uid"] for f in exports.ocsf_findings(other_run, rows)}


def test_a_test_in_error_is_a_warning_finding_not_silence():
    results = results_with({"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": 1},
                           {"id": "CC6.1-ROOT", "status": "ERROR", "deviation_count": 0,
                            "cause": "AccessDenied on iam:GetCredentialReport"},
                           {"id": "CC6.1-SSO", "status": "NOT_APPLICABLE", "deviation_count": 0, "cause": "no SSO"})
    found = exports.ocsf_findings(results, [row()])
    assert [(f["compliance"]["control"], f["compliance"]["status"]) for f in found] == [
        ("CC6.1-MFA", "Fail"), ("CC6.1-ROOT", "Warning")]
    warning = found[1]
    assert problems(warning) == [], problems(warning)
    assert warning["compliance"]["status_id"] == 2 and "resources" not in warning
    assert warning["compliance"]["status_detail"] == warning["finding_info"]["desc"] == \
        "AccessDenied on iam:GetCredentialReport"
    results["criteria"][0].update(tests=[], status="ERROR", error="the notebook recorded no results")
    (only,) = exports.ocsf_findings(results, [])
    assert (only["compliance"]["control"], only["compliance"]["status"], only["finding_info"]["desc"]) == (
        "CC6.1", "Warning", "the notebook recorded no results")


def test_the_check_catches_what_the_schema_requires():
    finding = findings([row()])[0]
    broken = copy.deepcopy(finding)
    del broken["finding_info"]["uid"], broken["metadata"]["product"]["vendor_name"], broken["compliance"]["standards"]
    broken["severity_id"] = 7
    broken["type_uid"] = 200302
    broken["status"] = "Open"
    broken["resources"] = [{"type": "iam_user"}]
    broken["severty"] = "High"
    found = problems(broken)
    for expected in ["finding_info.uid: required, missing", "metadata.product.vendor_name: required, missing",
                     "compliance.standards: required, missing", "severity_id: 7 not in the enum",
                     "type_uid: not class_uid * 100 + activity_id", "resources[0]: needs name or uid",
                     "severty: not an attribute of compliance_finding"]:
        assert expected in found, (expected, found)
    assert any(p.startswith("status: 'Open'") for p in found)
    for key in ("time", "metadata", "compliance", "class_uid"):
        lacking = copy.deepcopy(finding)
        del lacking[key]
        assert problems(lacking), key


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_reads_back_exactly_from_the_json(tmp_path, text):
    results = results_with({"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": 1})
    exports.write(tmp_path, results, [row(resource=text, detail=text)])
    finding = json.loads((tmp_path / "findings.ocsf.json").read_text(encoding="utf-8"))[0]
    assert finding["resources"][0]["uid"] == text and finding["finding_info"]["desc"] == text
    ET.parse(tmp_path / "results.junit.xml")


def test_verify_cross_checks_the_exports_against_results_json(package):
    results = json.loads((package / "results.json").read_text())
    with open(package / "exceptions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    exports.write(package, results, rows)
    assert locker.cross_checks(package, {}) == []
    junit, ocsf = package / "results.junit.xml", package / "findings.ocsf.json"
    original_junit, original_ocsf = junit.read_text(), ocsf.read_text()

    junit.write_text(original_junit.replace("<failure ", "<skipped ").replace("</failure>", "</skipped>"))
    assert locker.cross_checks(package, {}) == ["CC6.1-MFA: results.junit.xml shows NOT_APPLICABLE, results.json FAIL"]
    junit.write_text(original_junit.replace('name="CC6.1-ROOT"', 'name="CC6.1-R00T"'))
    assert locker.cross_checks(package, {}) == ["CC6.1-ROOT: results.junit.xml shows nothing, results.json PASS"]
    junit.write_text(original_junit[:-20])
    assert locker.cross_checks(package, {}) == ["results.junit.xml is unreadable"]
    junit.write_text(original_junit)

    findings = json.loads(original_ocsf)
    ocsf.write_text(json.dumps(findings[:1]))
    assert locker.cross_checks(package, {}) == [
        "CC6.1-MFA: findings.ocsf.json has 1 findings (0 suppressed), results.json 2 deviations (1 accepted)"]
    ocsf.write_text(json.dumps([dict(f, status="New", status_id=1) for f in findings]))
    assert locker.cross_checks(package, {}) == [
        "CC6.1-MFA: findings.ocsf.json has 2 findings (0 suppressed), results.json 2 deviations (1 accepted)"]
    results["criteria"][0]["tests"][1].update(status="ERROR", cause="AccessDenied")
    (package / "results.json").write_text(json.dumps(results))
    exports.write(package, results, rows)
    assert locker.cross_checks(package, {}) == []
    ocsf.write_text(json.dumps([f for f in json.loads(ocsf.read_text()) if f["compliance"]["status"] != "Warning"]))
    assert locker.cross_checks(package, {}) == [
        "findings.ocsf.json has no Warning finding for CC6.1-ROOT (ERROR in results.json)"]
    ocsf.write_text("{}")
    assert locker.cross_checks(package, {}) == ["findings.ocsf.json is unreadable"]


def test_a_deviations_url_is_the_findings_source_url():
    pull = row(test_id="CC8.1-APPROVED", resource="acme/web#7", url="https://github.com/acme/web/pull/7")
    linked, plain = exports.ocsf_findings(make_results(), [pull, row()])
    assert linked["finding_info"]["src_url"] == "https://github.com/acme/web/pull/7"
    assert "src_url" not in plain["finding_info"] and problems(linked) == []


def test_the_file_is_a_json_array_with_a_finding_per_line(tmp_path):
    results = results_with({"id": "CC6.1-MFA", "status": "FAIL", "deviation_count": 2})
    exports.write(tmp_path, results, [row(), ACCEPTED])
    lines = (tmp_path / "findings.ocsf.json").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 4
    assert [json.loads(line.rstrip(",")) for line in lines[1:-1]] == exports.ocsf_findings(results, [row(), ACCEPTED])
    exports.write(tmp_path, results_with({"id": "CC6.1-MFA", "status": "PASS", "deviation_count": 0}), [])
    assert json.loads((tmp_path / "findings.ocsf.json").read_text()) == []
