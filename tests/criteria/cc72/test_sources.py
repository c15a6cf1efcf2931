"""CC7.2 sources: incidents from GitHub issues and from the incident log CSV, read strictly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from auditbook.catalog import population as held
from auditbook.demo import incidents
from auditbook.demo.github.company import DEMO_TOKEN, ORG
from auditbook.period import parse_period
from auditbook.provenance import CollectionError
from auditbook.sources.github import connect
from auditbook.sources.github.issues import collect_incident_issues
from auditbook.sources.incidents import CSV_REQUIRED, parse_timeline, read_incident_csv

PERIOD = parse_period("2026-Q3")
HEADER = ",".join(CSV_REQUIRED)


def test_incident_issues_with_their_timeline(demo_env, raw):
    gh = connect()
    pop = held("github-incident-issues",
               collect_incident_issues(gh, [f"{ORG}/{incidents.REPO}"], [incidents.LABEL], PERIOD.start, raw))
    frame = pop.frame.set_index("incident_id")
    assert set(frame.index) == {f"{ORG}/{incidents.REPO}#{n}" for n in incidents.ISSUES}  # no #9, no PR
    for number, inc in incidents.ISSUES.items():
        row = frame.loc[f"{ORG}/{incidents.REPO}#{number}"]
        assert row["severity"] == inc.severity and row["impact"] == ";".join(sorted(inc.impact))
        assert f"{row['detected_at']:%Y-%m-%dT%H:%M}" == inc.detected
        assert f"{row['acknowledged_at']:%Y-%m-%dT%H:%M}" == inc.acknowledged
        assert row["postmortem_url"] == inc.postmortem and row["alarms"] == inc.alarm
        assert row["resolution_delay_reason"] == inc.delay_reason
    assert "comments" in " ".join(o.operation for o in pop.provenance.operations)


def test_emulator_issues_filters_and_paginates(demo_env):
    base = f"{demo_env.github.url}/repos/{ORG}/{incidents.REPO}"
    headers = {"Authorization": f"token {DEMO_TOKEN}"}
    open_only = requests.get(f"{base}/issues", headers=headers, timeout=10).json()
    assert {i["number"] for i in open_only} == {9}  # state defaults to open
    first = requests.get(f"{base}/issues", params={"labels": "incident,severity:SEV1", "state": "all",
                                                   "per_page": 1}, headers=headers, timeout=10)
    assert len(first.json()) == 1 and 'rel="next"' in first.headers["Link"]
    comments = requests.get(f"{base}/issues/4/comments", headers=headers, timeout=10).json()
    assert any("Acknowledged: 2026-08-19T03:29Z" in c["body"] for c in comments)
    assert requests.get(f"{base}/issues/99/comments", headers=headers, timeout=10).status_code == 404


def test_demo_incident_csv_reads_completely(raw):
    pop = held("incident-log-csv", read_incident_csv(incidents.CSV_PATH, raw))
    assert list(pop.frame["incident_id"]) == list(incidents.CSV_INCIDENTS)
    open_one = pop.frame.set_index("incident_id").loc["PD-2052"]
    assert open_one["state"] == "open" and str(open_one["resolved_at"]) == "NaT"
    assert pop.provenance.raw_files[0]["path"] == "raw/files/incident_csv/incidents.csv"  # under its params key


@pytest.mark.parametrize(("text", "message"), [
    ("incident_id,title,severity,detected_at,resolved_at\nX,t,SEV1,2026-08-01T10:00Z,\n",
     "missing column 'acknowledged_at'"),
    (f"{HEADER}\nA,t,SEV1,2026-08-01T10:00Z,,\nB,t,SEV1,yesterday,,\n", "row 3: detected_at 'yesterday'"),
    (f"{HEADER}\nA,t,SEV1,2026-08-01T10:00Z,2026-13-01T10:00Z,\n", "row 2: acknowledged_at"),
    (f"{HEADER}\nA,t,SEV1,2026-08-01T10:00Z,,\nA,t,SEV2,2026-08-02T10:00Z,,\n",
     "row 3: duplicate incident_id 'A' (first on row 2)"),
    (f"{HEADER}\nA,t,SEV1,,,\n", "row 2: detected_at is empty"),
])
def test_bad_incident_files_are_one_line_collection_errors(tmp_path, raw, text, message):
    path = tmp_path / "export.csv"
    path.write_text(text)
    with pytest.raises(CollectionError) as err:
        held("incident-log-csv", read_incident_csv(path, raw))
    assert str(err.value).startswith(str(path)) and message in str(err.value) and "\n" not in str(err.value)


def test_missing_incident_file(tmp_path, raw):
    with pytest.raises(CollectionError, match="no such incident log file"):
        held("incident-log-csv", read_incident_csv(tmp_path / "nope.csv", raw))


def test_timeline_lines_last_wins_bullets_zones_and_unreadable_values():
    values, notes = parse_timeline([
        "Detected: 2026-08-03T10:02Z\n- Acknowledged: 2026-08-03T10:09Z\nsomething: else",
        "ACKNOWLEDGED: 2026-08-03T10:07+00:00\nResolved: soon\nPost-mortem: https://pm/1\nCompliance notified: "
        "2026-08-03 12:00"])
    assert values["detected_at"] == datetime(2026, 8, 3, 10, 2, tzinfo=UTC)
    assert values["acknowledged_at"] == datetime(2026, 8, 3, 10, 7, tzinfo=UTC)
    assert "resolved_at" not in values and values["postmortem_url"] == "https://pm/1"
    assert any("unreadable resolved time 'soon'" in n for n in notes)
    assert any("no time zone" in n for n in notes)
