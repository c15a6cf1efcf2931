"""OSCAL assessment results: valid against NIST's published schema, deterministic, fail closed."""

from __future__ import annotations

import hashlib
import json

from auditbook import oscal
from oscal_schema import SCHEMA_FILE, SCHEMA_SHA256, errors
from pkgdata import make_results, write_package


def test_pinned_schema_is_nists_file():
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_document_is_valid_oscal(package):
    document = oscal.build(json.loads((package / "results.json").read_text()), package)
    assert errors(document) == []


def test_the_schema_check_catches_mistakes(package):
    document = oscal.build(json.loads((package / "results.json").read_text()), package)
    document["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "partially-satisfied"
    del document["assessment-results"]["import-ap"]
    problems = errors(document)
    assert any("import-ap" in p for p in problems) and any("state" in p for p in problems), problems


def test_one_observation_per_population_one_finding_per_test(package):
    results = json.loads((package / "results.json").read_text())
    result = oscal.build(results, package)["assessment-results"]["results"][0]
    assert [o["title"] for o in result["observations"]] == ["Population iam-credential-report"]
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in result["findings"]}
    assert states == {"CC6.1-MFA": "not-satisfied", "CC6.1-ROOT": "satisfied"}
    obs = result["observations"][0]
    assert all(f["related-observations"] == [{"observation-uuid": obs["uuid"]}] for f in result["findings"])


def test_error_is_not_satisfied_with_its_cause(tmp_path):
    root = write_package(tmp_path / "pkg", make_results(root_status="ERROR"), [])
    result = oscal.build(json.loads((root / "results.json").read_text()), root)["assessment-results"]["results"][0]
    root_finding = next(f for f in result["findings"] if f["target"]["target-id"] == "CC6.1-ROOT")
    assert root_finding["target"]["status"] == {"state": "not-satisfied", "reason": "other",
                                                "remarks": "AccessDenied on iam:GetCredentialReport"}
    assert "AccessDenied" in root_finding["description"]


def test_evidence_carries_sha256_in_back_matter(package):
    document = oscal.build(json.loads((package / "results.json").read_text()), package)["assessment-results"]
    resources = {r["rlinks"][0]["href"]: r for r in document["back-matter"]["resources"]}
    csv = package / "populations" / "iam-credential-report.csv"
    rlink = resources["populations/iam-credential-report.csv"]["rlinks"][0]
    assert rlink["hashes"] == [{"algorithm": "SHA-256", "value": hashlib.sha256(csv.read_bytes()).hexdigest()}]
    evidence = document["results"][0]["observations"][0]["relevant-evidence"]
    assert evidence[0]["href"] == "populations/iam-credential-report.csv"
    assert evidence[0]["links"][0]["href"] == "#" + resources["populations/iam-credential-report.csv"]["uuid"]
    assert document["import-ap"]["href"] == "#" + resources["params.resolved.yaml"]["uuid"]


def test_uuids_are_deterministic_per_run(package, tmp_path):
    results = json.loads((package / "results.json").read_text())
    first, again = oscal.dumps(oscal.build(results, package)), oscal.dumps(oscal.build(results, package))
    assert first == again
    other = oscal.build(dict(results, run_id="20270103T061500Z"), package)
    assert other["assessment-results"]["uuid"] != json.loads(first)["assessment-results"]["uuid"]


def test_demo_package_oscal_is_valid_and_reexports_identically(demo_run):
    root = demo_run.run_dir
    on_disk = (root / oscal.OUTPUT).read_text()
    document = json.loads(on_disk)
    assert errors(document) == []
    results = json.loads((root / "results.json").read_text())
    assert oscal.dumps(oscal.build(results, root)) == on_disk  # re-export of the same run: identical bytes
    tests = [t for c in results["criteria"] for t in c["tests"]]
    assert len(document["assessment-results"]["results"][0]["findings"]) == len(tests)
    pops = {n for c in results["criteria"] for n in c["populations"]}
    assert len(document["assessment-results"]["results"][0]["observations"]) == len(pops)
