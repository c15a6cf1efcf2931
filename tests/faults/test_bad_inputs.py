"""Bad inputs: one line naming the file (and row), a non-zero exit, nothing half-written, earlier runs untouched.

Complements tests/e2e/test_refusals.py (params keys, period, criterion, unreachable AWS) and
tests/unit/test_cc61_people.py (roster columns, dates, duplicates, encoding).
"""

from __future__ import annotations

import errno
import json
import shutil
import threading

import pytest
import yaml
from auditbook import catalog, locker, runner
from auditbook import params as params_mod
from auditbook.cli import main
from auditbook.context import Context
from auditbook.demo.environment import DEMO_PARAMS, DEMO_PERIOD
from auditbook.evidence import Collector, Connections, EvidenceCache
from auditbook.logs import PROGRESS
from auditbook.period import PeriodError, assert_period_length, parse_period
from auditbook.provenance import CollectionError, RawStore, utc_now
from auditbook.sources import files, incidents
from secretscan import scan


def refused(capsys, argv, *expected):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = [line for line in err.splitlines() if not PROGRESS.match(line)]  # a run that started: its progress
    assert len(lines) == 1 and lines[0].startswith("auditbook: "), err
    err = lines[0]
    for text in expected:
        assert text in err, err
    return err


# -- params, period, criteria: refused before anything is written --------------------------------
@pytest.mark.parametrize(("content", "expected"), [
    (b"", "params"),
    (b"organization: Caf\xe9\nscope: {}\n", "cannot read"),
    (b"- just\n- a list\n", "params"),
    (b"organization: X\nscope: {aws: {accounts: [{id: 12}], regions: [us-east-1]}}\n", "scope.aws.accounts"),
    (b"organization: X\nscope: {}\nsampling: {seed: -1.5}\n", "sampling.seed"),
], ids=["empty", "latin-1", "not-a-mapping", "account-id-not-a-string", "bad-seed"])
def test_malformed_params_are_refused_naming_the_file(tmp_path, capsys, content, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    out = tmp_path / "outputs"
    err = refused(capsys, ["run", "--params", str(bad), "--period", "2026-Q3", "--out", str(out)], expected)
    assert "bad.yaml" in err
    assert not out.exists()


def test_missing_params_file_is_refused(tmp_path, capsys):
    out = tmp_path / "outputs"
    refused(capsys, ["run", "--params", str(tmp_path / "nope.yaml"), "--period", "2026-Q3", "--out", str(out)],
            "nope.yaml")
    assert not out.exists()


@pytest.mark.parametrize("period", ["2026-13", "Q3-2026", "2026-09-30..2026-07-01", "", "2026-02-30..2026-03-01",
                                    "２０２６-Q3", "2026-０９", "٢٠٢٦", "2026-07-01..2026-09-３０"],
                         ids=["month-13", "reversed-form", "reversed-range", "empty", "no-such-day", "full-width-year",
                              "full-width-month", "arabic-indic-year", "full-width-day"])
def test_bad_periods_are_refused(tmp_path, capsys, period):
    """Digits of other scripts too: the label becomes a folder name, and ２０２６-Q3 is not a second 2026-Q3."""
    out = tmp_path / "outputs"
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", period, "--out", str(out)], "period")
    assert not out.exists()


def test_a_period_longer_than_13_months_is_refused_unless_asked_for(tmp_path, capsys):
    out = tmp_path / "outputs"
    argv = ["run", "--params", str(DEMO_PARAMS), "--period", "1900-01-01..2025-12-31", "--out", str(out)]
    refused(capsys, argv, "period 1900-01-01..2025-12-31", "more than 13 months", "--allow-long-period")
    # Asked for, the period passes; the run is then refused by the next check (an unknown criterion), quickly.
    refused(capsys, [*argv, "--allow-long-period", "--criteria", "CC6.9"], "unknown criterion")
    assert not out.exists()


@pytest.mark.parametrize(("period", "long"), [
    ("2025", False), ("2025-01-01..2026-01-31", False), ("2025-01-01..2026-02-01", True),
    ("2024-03-15..2025-04-14", False), ("2024-03-15..2025-04-15", True), ("2000-01-01..2025-12-31", True)])
def test_13_months_is_the_longest_period(period, long):
    if long:
        with pytest.raises(PeriodError, match="more than 13 months"):
            assert_period_length(parse_period(period))
    else:
        assert_period_length(parse_period(period))
    assert_period_length(parse_period(period), allow_long=True)


@pytest.mark.parametrize("criteria", ["CC6.9", "cc6.1", "CC6.1,A9.9"])
def test_unknown_criteria_are_refused(tmp_path, capsys, criteria):
    out = tmp_path / "outputs"
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", "--criteria", criteria,
                     "--out", str(out)], "unknown criterion")
    assert not out.exists()


@pytest.mark.parametrize("criteria", [",,", "", " , "])
def test_criteria_that_name_none_are_refused_not_read_as_all(tmp_path, capsys, criteria):
    out = tmp_path / "outputs"
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", f"--criteria={criteria}",
                     "--out", str(out)], "no criterion named")
    assert not out.exists()


@pytest.mark.parametrize("workers", ["-1", "0", "two", "1.5"])
def test_bad_worker_counts_are_refused(tmp_path, capsys, workers):
    out = tmp_path / "outputs"
    err = refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", "--workers", workers,
                           "--out", str(out)], "--workers", "at least 1")
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("operator", ["", "   ", "Jane\nDoe", "x" * 201])
def test_bad_operator_names_are_refused(tmp_path, capsys, operator):
    out = tmp_path / "outputs"
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", f"--operator={operator}",
                     "--out", str(out)], "--operator")
    assert not out.exists()


# -- files the organization provides: CollectionError naming file and row -------------------------
DECISIONS = ("system,account,identity,decision,reviewer,reviewed_at\n"
             "aws-iam,1,alice,keep,P1,2026-09-10\n"
             "github,o,bob-gh,remove,P1,2026-09-11\n")
INCIDENTS = ("incident_id,title,severity,detected_at,acknowledged_at,resolved_at\n"
             "PD-1,Outage,SEV1,2026-08-03T10:02Z,2026-08-03T10:09Z,2026-08-03T11:40Z\n"
             "PD-2,Latency,SEV3,2026-08-04T10:02Z,2026-08-04T10:09Z,2026-08-04T11:40Z\n")


@pytest.mark.parametrize(("loader", "text", "encoding", "message"), [
    (files.load_review_decisions, DECISIONS.replace("reviewer,", "approver,"), "utf-8", "lacks column(s) reviewer"),
    (files.load_review_decisions, DECISIONS.replace("2026-09-11", "11th Sept"), "utf-8",
     "row 3: reviewed_at '11th Sept' is not a date"),
    (files.load_review_decisions, DECISIONS.replace("github,o,bob-gh", "aws-iam,1,alice"), "utf-8",
     "row 3: duplicate system/account/identity"),
    (files.load_review_decisions, DECISIONS.replace("alice", "alicé"), "latin-1", "is not UTF-8"),
    (incidents.read_incident_csv, INCIDENTS.replace(",severity", ",sev"), "utf-8", "severity"),
    (incidents.read_incident_csv, INCIDENTS.replace("2026-08-04T10:02Z", "yesterday"), "utf-8", "row 3"),
    (incidents.read_incident_csv, INCIDENTS.replace("PD-2,", "PD-1,"), "utf-8", "row 3"),
    (incidents.read_incident_csv, INCIDENTS.replace("Outage", "Outage café"), "latin-1", "UTF-8"),
    (files.load_roster, "", "utf-8", "HR roster"),
], ids=["decisions-column", "decisions-date", "decisions-duplicate", "decisions-encoding", "incidents-column",
        "incidents-date", "incidents-duplicate", "incidents-encoding", "roster-empty"])
def test_bad_files_are_refused_naming_file_and_row(tmp_path, loader, text, encoding, message):
    path = tmp_path / "input.csv"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(CollectionError) as err:
        loader(path, RawStore(tmp_path / "raw"))
    text = str(err.value)
    assert "\n" not in text and str(path) in text and message in text, text


FILE_PARAMS = {"hr-roster": ("CC6.1", "hr_roster"), "access-review-decisions": ("CC6.1", "review_decisions"),
               "previous-access-review-worksheet": ("CC6.1", "previous_worksheet"),
               "incident-log-csv": ("CC7.2", "incident_csv"), "dr-test-records": ("A1.2", "dr_test_records")}


def test_files_of_one_name_in_different_folders_are_kept_apart(tmp_path):
    """hr_roster a/data.csv and review_decisions b/data.csv once collided in raw/files/data.csv (FileExistsError):
    each is kept under the params key that named it, collected as a run collects it."""
    params = params_mod.load(DEMO_PARAMS)
    for criterion, key in FILE_PARAMS.values():
        copy = tmp_path / key / "data.csv"
        copy.parent.mkdir()
        shutil.copyfile(params["criteria"][criterion][key], copy)
        params["criteria"][criterion][key] = str(copy)
    # The demo's Q2 worksheet leaves some flags blank, which its column contract refuses: its complete lines only.
    worksheet = tmp_path / "previous_worksheet" / "data.csv"
    header, *lines = worksheet.read_text().splitlines()
    kinds = catalog.entry("previous-access-review-worksheet").columns
    flags = [i for i, column in enumerate(header.split(",")) if kinds.get(column) == "bool"]
    complete = [line for line in lines if all(line.split(",")[i] for i in flags)]
    worksheet.write_text("\n".join([header, *complete]) + "\n")
    ctx = Context(params, parse_period(DEMO_PERIOD))
    run_dir = tmp_path / "run"
    collector = Collector(ctx, Connections(ctx), EvidenceCache(run_dir), RawStore(run_dir / "raw"))
    for name, (_, key) in FILE_PARAMS.items():
        (population,), _ = collector.collect(catalog.entry(name), {})
        assert [f["path"] for f in population.provenance.raw_files] == [f"raw/files/{key}/data.csv"], name
        assert (run_dir / "raw" / "files" / key / "data.csv").read_bytes() == (tmp_path / key / "data.csv").read_bytes()


# -- the output folder and concurrent runs --------------------------------------------------------
def test_output_folder_that_is_a_file_is_refused(demo_env, tmp_path, capsys):
    out = tmp_path / "outputs"
    out.write_text("not a folder")
    refused(capsys, ["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", "--criteria", "CC6.1",
                     "--out", str(out)], "output folder")
    assert out.read_text() == "not a folder"


def _params_with_broken_roster(tmp_path):
    params = yaml.safe_load(DEMO_PARAMS.read_text())
    params["report"]["logo"] = str(DEMO_PARAMS.parent / params["report"]["logo"])  # relative to the demo params
    roster = (DEMO_PARAMS.parent / params["criteria"]["CC6.1"]["hr_roster"]).resolve()
    lines = roster.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[5], "31/02/2026", 1)  # row 4: a start date that is no date
    broken = tmp_path / "hr-roster.csv"
    broken.write_text("\n".join(lines) + "\n")
    for key in ("review_decisions", "previous_worksheet"):
        params["criteria"]["CC6.1"][key] = str((DEMO_PARAMS.parent / params["criteria"]["CC6.1"][key]).resolve())
    params["criteria"]["CC6.1"]["hr_roster"] = str(broken)
    params.pop("exceptions_file", None)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path, broken


@pytest.mark.e2e
def test_bad_roster_two_runs_at_once_and_a_full_disk(demo_env, tmp_path, capsys, monkeypatch):
    """One package from two runs started in the same second; its ERROR names the roster file and row; a later
    run that hits a full disk publishes nothing and leaves it untouched."""
    params, roster = _params_with_broken_roster(tmp_path)
    out = tmp_path / "outputs"
    now = utc_now().replace(microsecond=0)
    outcomes, refusals = [], []

    def one_run():
        try:
            outcomes.append(runner.run(params, DEMO_PERIOD, ["CC6.1"], out, now=now))
        except runner.RunError as exc:
            refusals.append(str(exc))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 1 and len(refusals) == 1, (outcomes, refusals)
    assert "in progress" in refusals[0] or "already exists" in refusals[0]
    package = outcomes[0].run_dir
    assert [p.name for p in package.parent.iterdir()] == [package.name], "staging or a second package left"
    assert locker.verify(package).ok

    results = json.loads((package / "results.json").read_text())
    assert results["status"] == "ERROR"
    cause = results["criteria"][0]["collection_errors"]["hr-roster"]
    assert str(roster) in cause and "row 4" in cause and "\n" not in cause
    tests = {t["id"]: t for t in results["criteria"][0]["tests"]}
    assert tests["CC6.1-MFA"]["status"] != "ERROR", "tests that do not need the roster still run"
    assert tests["CC6.1-LEAVERS"]["status"] == "ERROR"

    assert scan(package) == []
    before = {rel: locker.sha256_file(package / rel) for rel in locker.package_files(package)}

    def disk_full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(locker, "write_manifest", disk_full)
    err = refused(capsys, ["run", "--params", str(params), "--period", DEMO_PERIOD, "--criteria", "CC6.1",
                           "--out", str(out)], "No space left on device", "nothing was published")
    assert str(out) in err
    assert [p.name for p in package.parent.iterdir()] == [package.name], "a half-written package was left"
    assert {rel: locker.sha256_file(package / rel) for rel in locker.package_files(package)} == before
    assert locker.verify(package).ok
