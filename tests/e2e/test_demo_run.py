"""The demo quarter end to end: the package finds exactly the seeded deviations and is sealed."""

from __future__ import annotations

import csv
import json
from collections import Counter

import yaml
from auditbook import locker
from auditbook.cli import main
from auditbook.demo.environment import truth_files
from auditbook.results import Status
from auditbook.schemas import validate_results


def seeded(criteria: set[str]) -> Counter:
    rows = [row for path in truth_files() for row in yaml.safe_load(path.read_text())]
    return Counter((r["test"], r["resource"]) for r in rows if r["test"].split("-")[0] in criteria)


def found(run_dir) -> Counter:
    with open(run_dir / "exceptions.csv", newline="") as fh:
        return Counter((r["test_id"], r["resource_id"]) for r in csv.DictReader(fh))


def test_demo_finds_exactly_the_seeded_deviations(demo_run):
    results = json.loads((demo_run.run_dir / "results.json").read_text())
    criteria = {c["criterion"] for c in results["criteria"]}
    assert "CC6.1" in criteria
    expected, actual = seeded(criteria), found(demo_run.run_dir)
    assert actual - expected == Counter(), "reported but not seeded"
    assert expected - actual == Counter(), "seeded but not found"


def test_no_test_errors_and_every_status_is_consistent(demo_run):
    results = json.loads((demo_run.run_dir / "results.json").read_text())
    validate_results(results)
    for crit in results["criteria"]:
        assert crit["status"] != "ERROR", crit
        for t in crit["tests"]:
            assert t["status"] == ("FAIL" if t["deviation_count"] else "PASS"), t
            assert t["population_size"] > 0
    assert demo_run.status is Status.FAIL


def test_the_demo_collects_every_population_it_names(demo_run):
    """A collection error a status does not turn into ERROR (an optional input such as the previous review's
    worksheet) is still a gap in the evidence: the demo must have none, or it hides a defect."""
    for record in sorted((demo_run.run_dir / "results").glob("*.json")):
        criterion = json.loads(record.read_text())
        assert criterion["collection_errors"] == {}, (criterion["criterion"], criterion["collection_errors"])
    populations = json.loads((demo_run.run_dir / "results" / "CC6.1.json").read_text())["populations"]
    assert {"previous-access-review-worksheet", "access-changes"} <= set(populations)


def test_package_layout_and_seal(demo_run):
    root = demo_run.run_dir
    for rel in ["manifest.json", "results.json", "exceptions.csv", "run.json", "reports/index.html",
                "reports/index.pdf", "reports/CC6.1.ipynb", "reports/CC6.1.html", "reports/CC6.1.pdf",
                "populations/iam-credential-report.csv", "raw/aws/123456789012/iam/credential-report.csv",
                "samples/CC6.1-MFA.csv", "results.junit.xml", "findings.ocsf.json"]:
        assert (root / rel).is_file(), rel
    assert (root / "reports" / "CC6.1.pdf").read_bytes().startswith(b"%PDF")
    assert root.parent.name == "2026-Q3" and len(root.name) == 16 and root.name.endswith("Z")
    assert not list(root.parent.glob(".staging-*")), "staging folder left behind"
    manifest = json.loads((root / "manifest.json").read_text())
    assert set(manifest["files"]) == set(locker.package_files(root))
    assert manifest["params"]["organization"] == "Demo Fintech Inc."
    assert set(manifest["caller_identities"]) >= {"arn:aws:sts::123456789012:user/moto", "auditbook-demo-bot"}
    assert manifest["git_commit"] and manifest["versions"]["boto3"]
    assert locker.verify(root).ok


def test_html_hides_code_and_shows_parameters_and_header(demo_run):
    html = (demo_run.run_dir / "reports" / "CC6.1.html").read_text()
    assert "run = start(" not in html and "import " not in html.split("<body", 1)[1]
    for fact in ["Demo Fintech Inc.", "2026-Q3", demo_run.run_dir.name, "Params digest", "Notebook commit"]:
        assert fact in html, fact
    assert "data:image/png;base64" in html  # charts embedded


def test_samples_are_reproducible_from_the_recorded_seed(demo_run):

    results = json.loads((demo_run.run_dir / "results.json").read_text())
    test = next(t for c in results["criteria"] for t in c["tests"] if t["id"] == "CC6.1-MFA")
    sample = test["sample"]
    with open(demo_run.run_dir / sample["file"], newline="") as fh:
        drawn = [r["user"] for r in csv.DictReader(fh)]
    assert len(drawn) == sample["size"] == min(25, test["population_size"])


def test_verify_cli_passes_then_names_a_changed_byte(writable_copy, tmp_path, capsys):
    copy = writable_copy(tmp_path / "pkg")
    assert main(["verify", str(copy)]) == 0
    assert "verified:" in capsys.readouterr().out
    target = copy / "reports" / "CC6.1.pdf"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "changed: reports/CC6.1.pdf" in out and "NOT verified" in out


def test_published_package_is_read_only(demo_run):
    assert not (demo_run.run_dir.stat().st_mode & 0o222)
    assert not ((demo_run.run_dir / "results.json").stat().st_mode & 0o222)


def test_the_package_holds_exactly_the_log_files_tested_events_cite(demo_run):
    """Log files are evidence by reference (cloudtrail-log-files); the ones behind a tested event are in raw/,
    byte for byte as they were read."""
    import hashlib

    root = demo_run.run_dir
    with open(root / "populations" / "cloudtrail-log-files.csv", newline="") as fh:
        listed = {r["key"]: r for r in csv.DictReader(fh)}
    cited = set()
    for path in (root / "populations" / "tested").glob("*.csv"):
        with open(path, newline="") as fh:
            cited |= {(r["account_id"], r["log_file"]) for r in csv.DictReader(fh) if r.get("log_file")}
    assert cited, "the demo's CloudTrail tests cite log files"
    under = {p for p in (root / "raw" / "aws").glob("*/cloudtrail/**/*.json.gz")}
    copied = {p for p in under if "/CloudTrail-Digest/" not in str(p)}
    assert under - copied, "the digest files read (CC7.1-LOG-INTEGRITY's evidence) are kept too"
    assert {str(p.relative_to(root / "raw" / "aws")).split("/", 2)[2] for p in copied} == {k for _, k in cited}
    for path in copied:
        key = str(path.relative_to(root / "raw" / "aws")).split("/", 2)[2]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[key]["sha256"]
    assert len(listed) > len(copied)  # the others stay by reference


def test_every_test_states_its_evidence_basis_and_none_passes_on_a_point_in_time_unaccepted(demo_run):
    """What each PASS stands on (issue 15): events, records, a timeline or snapshots covering the period, or a
    point in time the demo's params accept with a reason; never a reading after the period called continuous."""
    results = json.loads((demo_run.run_dir / "results.json").read_text())
    bases = {t["id"]: t["basis"] for c in results["criteria"] for t in c["tests"]}
    assert all(bases.values()), [k for k, v in bases.items() if not v]
    for test_id, basis in bases.items():
        if basis["kind"] == "point in time":
            assert basis["as_of"] and not basis["covers_period"], test_id
        if not basis["covers_period"]:
            status = next(t["status"] for c in results["criteria"] for t in c["tests"] if t["id"] == test_id)
            assert status == "FAIL" or basis["accepted"], (test_id, basis)
    assert bases["CC8.1-APPROVED"]["kind"] == "events over the period"
    assert bases["CC6.1-MFA"]["kind"] == "state over the period"  # readings held between IAM's change calls
    assert bases["CC8.1-PROTECTION"]["kind"] == "state over the period"  # held between the org audit log's changes
    assert bases["CC6.1-GITHUB-2FA"]["kind"] == "snapshots"  # a member's own 2FA changes in no org record
    alert = bases["CC7.2-ALERT-INCIDENT"]
    # Alarm history: the run (weeks later) holds none of the period; the snapshots of 08-10..08-31 read it while
    # CloudWatch still did, from 07-11 06:00 to 08-31 06:00; the rest of the period is named as not shown.
    assert any(g.startswith("cloudwatch-alarm-history: CloudWatch keeps alarm history about 30 days") and
               g.endswith("the 19 snapshot(s) that read it during or after the period show 2026-07-01 00:00 UTC "
                          "to 2026-07-11 06:00 UTC and 2026-08-31 06:00 UTC to 2026-10-01 00:00 UTC (`auditbook "
                          "snapshot` at least every 30 days keeps it)") for g in alert["gaps"]), alert
    carried = sorted((demo_run.run_dir / "raw" / "snapshots").glob("*/cloudwatch-alarm-history.csv"))
    assert len(carried) == 19
    with open(demo_run.run_dir / "exceptions.csv", newline="") as fh:
        alert_rows = [r for r in csv.DictReader(fh) if r["test_id"] == "CC7.2-ALERT-INCIDENT"]
    assert [r["resource_id"] for r in alert_rows] == ["123456789012:us-east-1:settlement-delay-high@"
                                                      "2026-08-14T03:40:00Z"]


def test_configuration_changed_inside_the_quarter_is_found_with_its_dates_and_the_coverage_is_stated(demo_run):
    """Changes put back before collection (issue 15): AWS Config history gives their exact interval, the daily
    snapshots the mornings they were seen; the snapshots' coverage of the period is stated on every test."""
    with open(demo_run.run_dir / "exceptions.csv", newline="") as fh:
        detail = {(r["test_id"], r["resource_id"]): r["detail"] for r in csv.DictReader(fh)}
    assert detail[("CC7.1-TRAIL", "123456789012:org-trail")] == \
        "log file validation off (from 2026-09-10 14:05 to 2026-09-11 09:31 UTC)"
    assert detail[("A1.1-ASG", "123456789012:payments-api-asg")] == ("spans 1 availability zone (us-east-1a); at "
                                                                     "least 2 required (from 2026-07-20 13:00 to "
                                                                     "2026-07-22 09:00 UTC)")
    # Her MFA timeline: DeactivateMFADevice, then the snapshots' reports without MFA, then EnableMFADevice.
    assert detail[("CC6.1-MFA", "123456789012:carol.eng")] == ("console password enabled, no MFA device (from "
                                                               "2026-08-12 15:20 to 2026-08-15 10:05 UTC)")
    # The key's rotation timeline: CloudTrail's calls replayed between the snapshots' readings give the hours.
    assert detail[("CC6.2-KMS-ROTATION", "123456789012:alias/payments-data")].startswith(
        "automatic rotation disabled (from 2026-08-22 09:00 to 2026-08-26 11:30 UTC) (key ")
    assert "2026-08-25 to 2026-08-31" in detail[("CC8.1-PROTECTION", "demo-fintech/payments-api:main")]
    results = json.loads((demo_run.run_dir / "results.json").read_text())
    mfa = next(t for c in results["criteria"] for t in c["tests"] if t["id"] == "CC6.1-MFA")["basis"]
    # The snapshots' reports hold until the next IAM call on users: the stretches no reading reaches are named.
    assert mfa["kind"] == "state over the period" and (
        "20 readings (snapshots, collection), each holding until the next change CloudTrail records (IAM calls on "
        "users and their credentials): 65 of 92 days shown in full") in mfa["statement"]
    assert [g for g in mfa["gaps"] if g.startswith("iam-credential-report")] == [
        "iam-credential-report from 2026-08-17 00:00 to 2026-08-18 00:00 UTC: unknown: no CloudTrail events are "
        "read for this stretch (no log files, or after the events read)",
        "iam-credential-report from 2026-08-18 00:00 to 2026-08-20 10:12 UTC: unknown: no reading or change of it "
        "reaches this stretch without a gap in the events",
        "iam-credential-report from 2026-09-08 10:15 to 2026-10-01 00:00 UTC: unknown: CloudTrail DeleteUser "
        "2026-09-08 10:15 by alice.admin (event c7d8744d-3373-5aaf-a888-ddcaaaad9aa3) may have changed it, and no "
        "later reading reaches back to it"]
    escalation = next(t for c in results["criteria"] for t in c["tests"] if t["id"] == "CC7.2-ESCALATION")["basis"]
    assert escalation["gaps"] == ["sns-topics from 2026-08-17 00:00 to 2026-08-18 00:00 UTC: unknown: no CloudTrail "
                                  "events are read for this stretch (no log files, or after the events read)"]
    protection = next(t for c in results["criteria"] for t in c["tests"] if t["id"] == "CC8.1-PROTECTION")["basis"]
    assert protection["gaps"] == [] and ("each holding until the next change GitHub's audit log records (GitHub "
                                         "audit log: branch protection and rulesets): 92 of 92 days shown in "
                                         "full") in protection["statement"]
    two_factor = next(t for c in results["criteria"] for t in c["tests"] if t["id"] == "CC6.1-GITHUB-2FA")["basis"]
    assert "19 of 92 days of the period covered by a snapshot" in two_factor["statement"]
    kms = next(t for c in results["criteria"] for t in c["tests"] if t["id"] == "CC6.2-KMS-ROTATION")["basis"]
    assert kms["kind"] == "state over the period" and [p["populations"] for p in kms["parts"]] == [
        ["kms-rotation-timeline"]]
    # the day without log files is the one stretch the events cannot show, for each key that must rotate
    assert kms["gaps"] and all("2026-08-17 00:00 to 2026-08-18 00:00 unknown: no CloudTrail events" in g
                               for g in kms["gaps"])


def test_the_index_shows_what_the_run_left_out_of_scope(demo_run):
    """Scope completeness (issue 16): every account of the organization and every repository of the orgs, in
    scope / excluded with its reason / not active or not production / missing from scope (each a deviation)."""
    run_dir = demo_run.run_dir
    with open(run_dir / "populations" / "tested" / "CC6.1-ACCOUNT-SCOPE.csv", newline="") as fh:
        accounts = {r["account_id"]: r["scope"] for r in csv.DictReader(fh)}
    assert accounts == {"123456789012": "in scope", "234567890123": "excluded", "345678901234": "missing from scope",
                        "456789012345": "not active"}
    with open(run_dir / "populations" / "tested" / "CC8.1-REPO-SCOPE.csv", newline="") as fh:
        repos = {f"{r['org']}/{r['repo']}": r["scope"] for r in csv.DictReader(fh)}
    assert Counter(repos.values()) == {"in scope": 5, "not production": 3, "excluded": 1, "missing from scope": 1}
    assert repos["demo-fintech/card-vault"] == "missing from scope"
    assert repos["demo-fintech/legacy-billing"] == "not production"  # archived, last deployed before the period
    html = (run_dir / "reports" / "index.html").read_text()
    section = html.split("Scope of this run", 1)[1].split("Exception register", 1)[0]
    assert "AWS accounts (CC6.1-ACCOUNT-SCOPE, FAIL): 1 missing from scope, 1 in scope, 1 excluded, 1 not active" \
        in section
    assert "GitHub repositories (CC8.1-REPO-SCOPE, FAIL)" in section and "demo-fintech card-vault" in section
    assert "staging, synthetic data only; no network path to production" in section
