"""The demo company's incidents (CC7.2), in both forms teams keep them, and the deviations they seed.

* GitHub issues labelled ``incident`` in the ``incident-response`` repository of the demo org, with
  ``severity:`` / ``impact:`` labels and the timeline as ``Key: value`` lines in the body and comments
  (the format :mod:`auditbook.sources.incidents` documents).
* A CSV export from the paging tool, ``demo/data/incidents.csv`` (the documented columns).

Kept apart from the CC8.1 history (``github/company.py``): no random draws, no ids from its counter,
a repository of its own (issue numbers would otherwise share the pull requests' number space).
The alarm firings these incidents answer are seeded by :mod:`auditbook.demo.aws_monitoring`.
Regenerate the truth file and the CSV with ``python -m auditbook.demo.incidents``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditbook.demo import truth_yaml
from auditbook.demo.github.state import GitHubState, Repo

ORG = "demo-fintech"
REPO = "incident-response"
REPO_ID = 880001
ISSUE_ID_BASE = 7_700_000
COMMENT_ID_BASE = 8_800_000
LABEL = "incident"
CSV_PATH = Path(__file__).resolve().parent / "data" / "incidents.csv"
TRUTH_PATH = truth_yaml.TRUTH_DIR / "incidents-cc7.2.yaml"
PM = "https://wiki.demo-fintech.example/postmortems"


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _z(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%MZ")


@dataclass
class Incident:
    title: str
    severity: str
    detected: str
    acknowledged: str | None
    resolved: str | None
    postmortem: str = ""
    impact: list[str] = field(default_factory=list)
    compliance_notified: str | None = None
    alarm: str = ""
    delay_reason: str = ""
    responder: str = "hana-sato"
    deviations: list[tuple[str, str]] = field(default_factory=list)  # (test id, why)


# Issue number -> incident, as filed in demo-fintech/incident-response.
ISSUES: dict[int, Incident] = {
    1: Incident("Card payments failing for a subset of issuers", "SEV2", "2026-07-21T14:02", "2026-07-21T14:10",
                "2026-07-21T16:45", f"{PM}/2026-07-21-issuer-declines", ["transaction-integrity"],
                "2026-07-21T18:00", alarm="payments-transaction-success-rate-low"),
    2: Incident("Settlement batch delayed", "SEV3", "2026-07-09T02:10", "2026-07-09T03:30", "2026-07-09T07:00",
                alarm="settlement-delay-high", responder="gus-moreno"),
    3: Incident("API 5xx spike after deploy", "SEV2", "2026-08-11T10:20", "2026-08-11T10:35", "2026-08-11T11:05",
                f"{PM}/2026-08-11-api-5xx", alarm="api-5xx-errors", responder="eli-cohen"),
    4: Incident("Ledger database failover", "SEV1", "2026-08-19T02:47", "2026-08-19T03:29", "2026-08-19T05:10",
                f"{PM}/2026-08-19-ledger-failover", responder="bruno-silva",
                deviations=[("CC7.2-ACKNOWLEDGE", "SEV1 acknowledged 42 min after detection (SLA 15 min)")]),
    5: Incident("Debug log captured card tokens", "SEV2", "2026-09-03T09:00", "2026-09-03T09:12", "2026-09-03T15:30",
                f"{PM}/2026-09-03-token-logging", ["customer-data"], responder="chen-wei",
                deviations=[("CC7.2-COMPLIANCE", "customer data affected; no compliance notification recorded")]),
    # Negative controls: acknowledged and resolved exactly at the SLA; resolved late with a documented reason.
    6: Incident("Payments API pods crash-looping", "SEV1", "2026-09-22T11:00", "2026-09-22T11:15", "2026-09-22T15:00",
                f"{PM}/2026-09-22-crashloop", responder="farah-haddad"),
    8: Incident("Card network certificate expiring", "SEV3", "2026-09-25T08:00", "2026-09-25T08:30",
                "2026-09-29T10:00", delay_reason="fix depends on the card network's certificate renewal (VEND-12)",
                responder="ivan-petrov"),
    # Not in the population: detected before the period (still updated inside it).
    7: Incident("Reporting export stalled", "SEV3", "2026-06-25T09:00", "2026-06-25T09:40", "2026-06-25T13:00",
                responder="julia-costa"),
}
# A regular issue in the same repository, without the incident label: never collected.
OTHER_ISSUE = (9, "Update the on-call runbook", "2026-08-02T10:00")

# The paging tool's export (CSV): incident_id -> incident.
CSV_INCIDENTS: dict[str, Incident] = {
    "PD-2010": Incident("Webhook retries piling up", "SEV3", "2026-06-28T12:00", "2026-06-28T12:20",
                        "2026-06-28T14:00"),  # before the period
    "PD-2031": Incident("Elevated login latency", "SEV3", "2026-07-15T12:00", "2026-07-15T12:40", "2026-07-15T15:00"),
    "PD-2041": Incident("Transaction success rate dropped", "SEV1", "2026-09-08T09:15", "2026-09-08T09:22",
                        "2026-09-08T11:50", f"{PM}/2026-09-08-success-rate", ["transaction-integrity"],
                        "2026-09-08T13:00", alarm="payments-transaction-success-rate-low"),
    "PD-2047": Incident("Ledger reconciliation mismatch", "SEV2", "2026-08-26T06:30", "2026-08-26T06:41",
                        "2026-08-26T13:10", "", ["transaction-integrity"], "2026-08-26T10:00",
                        alarm="ledger-reconciliation-accuracy-low",
                        deviations=[("CC7.2-POSTMORTEM", "SEV2 resolved 2026-08-26 with no post-mortem linked")]),
    # Open at period end, inside its SLA: not a deviation.
    "PD-2052": Incident("Intermittent statement email failures", "SEV4", "2026-09-30T22:00", "2026-09-30T23:10", None),
}
CSV_COLUMNS = ["incident_id", "title", "severity", "detected_at", "acknowledged_at", "resolved_at", "impact",
               "postmortem_url", "compliance_notified_at", "alarm", "resolution_delay_reason", "url"]


def _issue(number: int, inc: Incident) -> dict:
    detected = _t(inc.detected)
    created = detected + timedelta(minutes=3)
    body = [f"Opened from the on-call channel. {inc.title}.", "", f"Detected: {_z(detected)}"]
    if inc.alarm:
        body.append(f"Alarm: {inc.alarm}")
    comments = []

    def comment(at: datetime, user: str, *lines: str) -> None:
        comments.append({"id": COMMENT_ID_BASE + number * 10 + len(comments), "user": user, "body": "\n".join(lines),
                         "created_at": at})

    if inc.acknowledged:
        ack = _t(inc.acknowledged)
        comment(max(ack, created) + timedelta(minutes=1), inc.responder, "Taking this.", f"Acknowledged: {_z(ack)}")
    if inc.resolved:
        done = _t(inc.resolved)
        lines = ["Mitigated and verified.", f"Resolved: {_z(done)}"]
        if inc.delay_reason:
            lines.append(f"Resolution delay reason: {inc.delay_reason}")
        comment(done + timedelta(minutes=5), inc.responder, *lines)
    if inc.compliance_notified:
        comment(_t(inc.compliance_notified) + timedelta(minutes=2), "alice-ng",
                f"Compliance notified: {_z(_t(inc.compliance_notified))}")
    if inc.postmortem:
        comment(_t(inc.resolved or inc.detected) + timedelta(days=2), inc.responder, f"Post-mortem: {inc.postmortem}")
    if number == 7:  # a late note inside the period: the issue is listed, its detection is not in the period
        comment(_t("2026-07-02T09:00"), "julia-costa", "Follow-up ticket filed.")
    closed = _t(inc.resolved) + timedelta(minutes=10) if inc.resolved else None
    return {
        "number": number, "id": ISSUE_ID_BASE + number, "title": inc.title, "body": "\n".join(body),
        "user": inc.responder, "labels": [LABEL, f"severity:{inc.severity}", *[f"impact:{x}" for x in inc.impact]],
        "state": "closed" if closed else "open", "created_at": created,
        "updated_at": max([created, *(c["created_at"] for c in comments)]), "closed_at": closed,
        "closed_by": inc.responder if closed else None, "comments": comments,
    }


def add_issues(state: GitHubState) -> None:
    """The incident-response repository and its issues."""
    repo = Repo(REPO, REPO_ID, topics=["incidents"], created_at=_t("2025-01-06T09:00"))
    repo.issues = [_issue(n, inc) for n, inc in sorted(ISSUES.items())]
    number, title, at = OTHER_ISSUE
    repo.issues.append({"number": number, "id": ISSUE_ID_BASE + number, "title": title, "body": "Runbook refresh.",
                        "user": "alice-ng", "labels": ["documentation"], "state": "open", "created_at": _t(at),
                        "updated_at": _t(at), "closed_at": None, "comments": []})
    state.repos[REPO] = repo


def render_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for incident_id, inc in CSV_INCIDENTS.items():
        writer.writerow([incident_id, inc.title, inc.severity, _z(_t(inc.detected)),
                         _z(_t(inc.acknowledged)) if inc.acknowledged else "",
                         _z(_t(inc.resolved)) if inc.resolved else "", ";".join(inc.impact), inc.postmortem,
                         _z(_t(inc.compliance_notified)) if inc.compliance_notified else "", inc.alarm,
                         inc.delay_reason, f"https://demo-fintech.pagerduty.example/incidents/{incident_id}"])
    return out.getvalue()


def demo_truth() -> list[dict[str, str]]:
    rows = [{"test": test, "resource": f"{ORG}/{REPO}#{n}", "why": why}
            for n, inc in ISSUES.items() for test, why in inc.deviations]
    rows += [{"test": test, "resource": incident_id, "why": why}
             for incident_id, inc in CSV_INCIDENTS.items() for test, why in inc.deviations]
    return truth_yaml.in_order(rows)


def render_truth() -> str:
    return truth_yaml.render("# Generated by `python -m auditbook.demo.incidents`; do not edit.\n", demo_truth())


if __name__ == "__main__":
    CSV_PATH.parent.mkdir(parents=True, exist_ok=True)
    CSV_PATH.write_text(render_csv())
    TRUTH_PATH.write_text(render_truth())
    print(f"wrote {CSV_PATH} and {TRUTH_PATH}")
