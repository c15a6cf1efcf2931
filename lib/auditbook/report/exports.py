"""CI-native exports of a run: JUnit XML for CI dashboards, OCSF Compliance Findings for security tooling.

Both are pure renderings of what the package already holds (results.json and the rows of exceptions.csv), so
they can never say more or less than the package: a CI dashboard reads ``results.junit.xml`` (one testsuite per
criterion, one testcase per control test), a SIEM or security lake reads ``findings.ocsf.json`` (one OCSF
Compliance Finding per deviation and per test in ERROR, as Prowler writes OCSF: a JSON array).

OCSF target: schema 1.3.0 (github.com/ocsf/ocsf-schema tag 1.3.0, commit c8bde8c4cc7e93bb4a36e873623bbe099da22fb5),
class Compliance Finding (class_uid 2003, category Findings 2). auditbook rates no severity (the significance of a
SOC 2 deviation is the auditor's judgment), so every finding carries severity_id 0 (Unknown). A deviation the
exception register accepts stays a finding, with finding status Suppressed and the register's reason in
``comment``; an open one is New. A test in ERROR is a finding with compliance status Warning (fail closed: no
finding must not read as clean); NOT_APPLICABLE and PASS tests have none (JUnit shows every test).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditbook import layout

DEVIATIONS_LISTED = 100  # per testcase; every deviation is in exceptions.csv and findings.ocsf.json
LINE_CHARS = 500  # one deviation's line in a JUnit failure text

OCSF_VERSION = "1.3.0"
OCSF_NS = "https://auditbook.dev/ns/ocsf"
CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
CLASS_UID, CLASS_NAME = 2003, "Compliance Finding"
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE  # 200301: Compliance Finding: Create
SEVERITY_UNKNOWN = 0
FINDING_NEW, FINDING_SUPPRESSED = 1, 3  # finding.status_id (the finding's triage state)
COMPLIANCE_WARNING, COMPLIANCE_FAIL = 2, 3  # compliance.status_id: Warning (no result), Fail
STANDARD = "SOC 2"

# XML 1.0 (§2.2 Char): tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF; everything else cannot be
# written at all (not even as a character reference), so it is shown as a visible escape instead.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """Any collected text as XML 1.0 can carry it: forbidden characters become ``\\xNN`` / ``\\uNNNN``."""
    text = "" if value is None else str(value)
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def _line(value: Any, limit: int = LINE_CHARS) -> str:
    """One line of text: whitespace collapsed, at most ``limit`` characters."""
    text = " ".join(xml_text(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _by_test(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row.get("test_id", "")), []).append(row)
    return grouped


def _accepted(row: dict[str, Any]) -> bool:
    return row.get("status") == "accepted"


def _deviation_line(row: dict[str, Any]) -> str:
    line = f"{row.get('resource_type', '')} {row.get('resource_id', '')}: {row.get('detail', '')}"
    if _accepted(row):
        line += f" [accepted until {row.get('accepted_until', '')}, owner {row.get('owner', '')}]"
    return _line(line)


def _failure_text(test: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [_line(f"{test['id']} {test.get('title', '')}: {test.get('deviation_count', len(rows))} of "
                   f"{test.get('population_size', '?')} deviate"),
             _line(f"Deviates when: {test.get('deviates_when') or '(not stated)'}")]
    lines += [_deviation_line(r) for r in rows[:DEVIATIONS_LISTED]]
    if len(rows) > DEVIATIONS_LISTED:
        lines.append(f"... {len(rows) - DEVIATIONS_LISTED} more deviations not listed here (first "
                     f"{DEVIATIONS_LISTED} shown): every deviation is a row of exceptions.csv")
    return "\n".join(lines)


def junit_xml(results: dict[str, Any], rows: Iterable[dict[str, Any]]) -> bytes:
    """results.junit.xml: one testsuite per criterion, one testcase per control test (classname the criterion).

    FAIL is a ``<failure>`` ("n deviations", the rows listed), ERROR an ``<error>`` with the cause, NOT_APPLICABLE
    a ``<skipped>`` with the reason. A criterion that recorded no tests because it could not run is one testcase
    named after the criterion, in error: an empty suite would read as green.
    """
    deviations = _by_test(rows)
    root = ET.Element("testsuites", name=xml_text(f"auditbook {results.get('organization', '')} "
                                                  f"{results['period']['label']} run {results['run_id']}"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for crit in results["criteria"]:
        name = crit["criterion"]
        suite = ET.SubElement(root, "testsuite", name=name, timestamp=_junit_time(results["generated_at"]))
        props = ET.SubElement(suite, "properties")
        for key, value in (("title", crit.get("title")), ("status", crit.get("status")),
                           ("period", results["period"]["label"]), ("run_id", results["run_id"])):
            ET.SubElement(props, "property", name=key, value=_line(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        tests = crit.get("tests") or []
        if not tests:
            case = ET.SubElement(suite, "testcase", classname=name, name=name, time="0")
            cause = crit.get("error") or f"{name} recorded no control test"
            ET.SubElement(case, "error", message=_line(cause), type="ERROR").text = xml_text(cause)
            counts["tests"] += 1
            counts["errors"] += 1
        for test in tests:
            case = ET.SubElement(suite, "testcase", classname=name, name=test["id"], time="0")
            counts["tests"] += 1
            status = test["status"]
            if status == "FAIL":
                found = deviations.get(test["id"], [])
                n = test.get("deviation_count", len(found))
                accepted = sum(_accepted(r) for r in found)
                message = f"{n} deviation{'s' if n != 1 else ''}" + (
                    f" ({accepted} accepted in the exception register)" if accepted else "")
                ET.SubElement(case, "failure", message=message, type="FAIL").text = _failure_text(test, found)
                counts["failures"] += 1
            elif status == "ERROR":
                cause = test.get("cause") or "evidence could not be collected completely"
                ET.SubElement(case, "error", message=_line(cause), type="ERROR").text = xml_text(cause)
                counts["errors"] += 1
            elif status == "NOT_APPLICABLE":
                ET.SubElement(case, "skipped", message=_line(test.get("cause") or "not applicable"))
                counts["skipped"] += 1
            elif status != "PASS":
                raise ValueError(f"{test['id']}: unknown status {status!r}")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _junit_time(text: str) -> str:
    """JUnit's timestamp: ISO 8601 without a zone (the JUnit XSD's pattern), in UTC."""
    moment = dt.datetime.fromisoformat(str(text))
    moment = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _millis(text: str) -> int:
    """OCSF timestamp_t: milliseconds since the epoch (UTC)."""
    moment = dt.datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def ocsf_findings(results: dict[str, Any], rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """findings.ocsf.json: one OCSF 1.3.0 Compliance Finding per row of exceptions.csv, in its order (compliance
    status Fail); then one per test in ERROR (compliance status Warning, "did not yield a result due to missing
    information"), so a tool reading only OCSF does not take a test whose evidence was incomplete for a clean one.

    ``finding_info.uid`` is a uuid5 of the organization, run id, test, resource and the row's occurrence of that
    pair, so exporting the same package again gives the same ids and two packages never share one.
    """
    tests = {t["id"]: (c, t) for c in results["criteria"] for t in c.get("tests", [])}
    created = _millis(results["generated_at"])
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{OCSF_NS}/{results.get('organization', '')}/{results['run_id']}")
    start, end = _millis(results["period"]["start"]), _millis(results["period"]["end"])

    def envelope(uid_name: list[Any], test_id: str, title: str, desc: str) -> dict[str, Any]:
        return {
            "activity_id": ACTIVITY_CREATE, "activity_name": "Create",
            "category_uid": CATEGORY_UID, "category_name": CATEGORY_NAME,
            "class_uid": CLASS_UID, "class_name": CLASS_NAME,
            "type_uid": TYPE_UID, "type_name": f"{CLASS_NAME}: Create",
            "severity_id": SEVERITY_UNKNOWN, "severity": "Unknown",
            "status_id": FINDING_NEW, "status": "New",
            "time": created,
            "start_time": start, "end_time": end,
            "message": f"{test_id}: {desc}",
            "metadata": {"version": OCSF_VERSION,
                         "product": {"name": "auditbook", "vendor_name": "auditbook",
                                     "version": str(results.get("tool_version") or "")},
                         "tenant_uid": str(results.get("organization", ""))},
            "finding_info": {"uid": str(uuid.uuid5(namespace, json.dumps(uid_name))),  # ASCII: any text
                             "title": title, "desc": desc, "created_time": created},
        }

    seen: dict[tuple[str, str], int] = {}
    findings = []
    for row in rows:
        test_id, resource = str(row.get("test_id", "")), str(row.get("resource_id", ""))
        criterion = str(row.get("criterion") or test_id.split("-", 1)[0])
        crit, test = tests.get(test_id, ({}, {}))
        n = seen[(test_id, resource)] = seen.get((test_id, resource), 0) + 1
        detail = str(row.get("detail", ""))
        finding = envelope([test_id, resource, n], test_id, f"{test_id} {test.get('title', '')}".strip(), detail)
        finding["finding_info"]["types"] = ["SOC 2 control test deviation"]
        if row.get("url"):  # the pull request, where there is one
            finding["finding_info"]["src_url"] = str(row["url"])
        finding["compliance"] = {
            "standards": [STANDARD], "requirements": [criterion], "control": test_id,
            "status": "Fail", "status_id": COMPLIANCE_FAIL,
            **({"status_detail": test["deviates_when"]} if test.get("deviates_when") else {}),
        }
        finding["resources"] = [{"type": str(row.get("resource_type", "")), "uid": resource}]
        finding["unmapped"] = {"run_id": results["run_id"], "period": results["period"]["label"],
                               "criterion_title": crit.get("title"), "register_id": row.get("register_id") or None}
        if _accepted(row):
            finding["status_id"], finding["status"] = FINDING_SUPPRESSED, "Suppressed"
            finding["comment"] = (f"Accepted in the exception register until {row.get('accepted_until', '')} "
                                  f"(owner {row.get('owner', '')}): {row.get('management_response', '')}")
        findings.append(finding)
    for crit in results["criteria"]:
        errors = [(t["id"], t.get("title", ""), t.get("cause")) for t in crit.get("tests", [])
                  if t["status"] == "ERROR"]
        if not crit.get("tests"):  # the criterion could not run: one finding for it, as in the JUnit XML
            errors = [(crit["criterion"], crit.get("title", ""), crit.get("error"))]
        for test_id, title, cause in errors:
            cause = str(cause or "evidence could not be collected completely")
            finding = envelope([test_id, "ERROR"], test_id, f"{test_id} {title}: evidence incomplete".strip(), cause)
            finding["finding_info"]["types"] = ["SOC 2 control test not concluded"]
            finding["compliance"] = {"standards": [STANDARD], "requirements": [crit["criterion"]], "control": test_id,
                                     "status": "Warning", "status_id": COMPLIANCE_WARNING, "status_detail": cause}
            finding["unmapped"] = {"run_id": results["run_id"], "period": results["period"]["label"],
                                   "criterion_title": crit.get("title")}
            findings.append(finding)
    return findings


def write(folder: Path, results: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Both exports into a package folder (before it is sealed, so the manifest lists and hashes them)."""
    (folder / layout.JUNIT_XML).write_bytes(junit_xml(results, rows))
    findings = ocsf_findings(results, rows)
    # One finding per line: a JSON array still (as Prowler writes OCSF), a line per finding for grep, and for
    # 100,000 deviations 100 MB written in 3 s instead of 125 MB in 5 s indented.
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in findings)
    text = f"[\n{lines}\n]\n" if findings else "[]\n"
    # A lone surrogate (a JSON API may send one) cannot be UTF-8: written as its JSON escape, it reads back as sent.
    (folder / layout.OCSF_FINDINGS).write_bytes(text.encode("utf-8", "backslashreplace"))
