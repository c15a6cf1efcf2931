"""CC7.2 incident response: the rules, as pure functions over incidents, alarm firings and the escalation chain.

An incident is in the population when it was detected in the period, wherever the team recorded it
(GitHub issues, a paging tool's export). Its severity decides its SLAs (params ``severities``):
minutes to acknowledge, hours to resolve, whether a post-mortem is required. Open incidents are
measured at the period end, so a run is deterministic. Every rule an auditor may ask about is in
this module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from auditbook.controls.cc71 import alarm_firings
from auditbook.results import ControlTest, Tested, TestResult, evaluate, when

ESCALATION = ControlTest(
    "CC7.2-ESCALATION", "CC7.2", "Escalation chain reaches people",
    "Every step of the escalation chain declared in params notifies an SNS topic that exists and has a confirmed "
    "subscription.", "continuous", ("escalation-chain",), sample_keys=("step",),
    configuration_only=True,
    deviates_when=("A step of the escalation chain that does not notify an {target} deviates."))
SEVERITY = ControlTest(
    "CC7.2-SEVERITY", "CC7.2", "Every incident has a severity",
    "Every incident detected in the period has exactly one severity, one of those params define.", "per_event",
    ("incidents",), lambda s, ctx: {"severities": s["severities"]}, ("incident_id",),
    deviates_when=("An incident without exactly one severity of {severities} deviates."))
ACKNOWLEDGE = ControlTest(
    "CC7.2-ACKNOWLEDGE", "CC7.2", "Incidents acknowledged within the SLA",
    "Every incident was acknowledged within its severity's acknowledgement SLA after detection (an incident still "
    "unacknowledged at period end deviates once the SLA has passed).", "per_event", ("incidents",),
    lambda s, ctx: {"severities": s["severities"], "period_end": ctx.period.end}, ("incident_id",),
    deviates_when=("An incident not acknowledged within its severity's SLA after detection deviates, one still "
                   "unacknowledged at the period end once the SLA has passed too: {threshold}."))
RESOLVE = ControlTest(
    "CC7.2-RESOLVE", "CC7.2", "Incidents resolved within the SLA or with a documented reason",
    "Every incident was resolved within its severity's resolution SLA, or records why it took longer; an incident "
    "open at period end deviates once the SLA has passed without a documented reason.", "per_event", ("incidents",),
    lambda s, ctx: {"severities": s["severities"], "period_end": ctx.period.end}, ("incident_id",),
    deviates_when=("An incident not resolved within its severity's SLA, with no reason recorded, deviates, one still "
                   "open at the period end once the SLA has passed too: {threshold}."))
POSTMORTEM = ControlTest(
    "CC7.2-POSTMORTEM", "CC7.2", "Post-mortems linked where required",
    "Every resolved incident of a severity that requires a post-mortem links one (once the post-mortem is due).",
    "per_event", ("incidents",),
    lambda s, ctx: {"severities": s["severities"], "due_days": s["postmortem_due_days"], "period_end": ctx.period.end},
    ("incident_id",),
    deviates_when=("A resolved incident of severity {postmortem_required} without a post-mortem linked within "
                   "{due_days_after_resolution} days of its resolution deviates."))
COMPLIANCE = ControlTest(
    "CC7.2-COMPLIANCE", "CC7.2", "Compliance officer notified of data and integrity incidents",
    "Every incident whose impact may affect customer data or transaction integrity (params) records that the "
    "compliance officer was notified, within the limit after detection.", "per_event", ("incidents",),
    lambda s, ctx: {"impacts": s["compliance_impacts"], "notify_hours": s["compliance_notify_hours"]}, ("incident_id",),
    deviates_when=("An incident with an impact of {impacts} that does not record the compliance officer notified "
                   "within {notify_within_hours} hours of detection deviates."))
ALERT_INCIDENT = ControlTest(
    "CC7.2-ALERT-INCIDENT", "CC7.2", "Business-metric alerts become incidents",
    "Every time an alarm on a business metric fired in the period, an incident referencing that alarm was "
    "detected within the window around the firing.", "per_event", ("business-alarm-firings", "incidents"),
    lambda s, ctx: {"window_hours": s["alarm_incident_hours"]}, ("alarm_name", "fired_at"),
    deviates_when=("A firing of a business-metric alarm with no incident referencing the alarm detected within "
                   "{incident_within_hours_of_firing} hours of it deviates."))

TESTS = [ESCALATION, SEVERITY, ACKNOWLEDGE, RESOLVE, POSTMORTEM, COMPLIANCE, ALERT_INCIDENT]


# -- escalation -----------------------------------------------------------------------------
def escalation_worksheet(topics: pd.DataFrame, chain: list[dict[str, Any]]) -> pd.DataFrame:
    """The declared chain, one row per step, with the SNS topic each step notifies as found in AWS."""
    rows = []
    for i, step in enumerate(chain, start=1):
        target = step["notify"]
        match = topics[(topics["topic_arn"] == target) | (topics["topic_name"] == target)] if not topics.empty \
            else topics
        rows.append({"step": i, "role": step["role"], "after_minutes": step.get("after_minutes", 0),
                     "when": step.get("when", "") or "always", "notify": target,
                     "topics_found": ";".join(match["topic_arn"]) if len(match) else "",
                     "confirmed_subscriptions": int(match["confirmed_subscriptions"].sum()) if len(match) else 0})
    return pd.DataFrame(rows, columns=["step", "role", "after_minutes", "when", "notify", "topics_found",
                                       "confirmed_subscriptions"])


@ESCALATION.rule
def escalation_targets_exist(sheet: pd.DataFrame) -> TestResult:
    deviations = []
    for s in sheet.itertuples():
        if not s.topics_found:
            detail = f"step {s.step} ({s.role}) notifies {s.notify}, which is not an SNS topic in scope"
        elif s.confirmed_subscriptions == 0:
            detail = f"step {s.step} ({s.role}) notifies {s.notify}, which has no confirmed subscription"
        else:
            continue
        deviations.append({"resource_type": "escalation_step", "resource_id": f"step {s.step}: {s.notify}",
                           "detail": detail})
    if sheet.empty:
        deviations.append({"resource_type": "escalation_step", "resource_id": "(none)",
                           "detail": "no escalation chain declared in params (criteria.CC7.2.escalation_chain)"})
    return evaluate(ESCALATION, sheet, deviations, {"target": "SNS topic with a confirmed subscription"})


# -- the incident population ----------------------------------------------------------------
def incident_population(github_issues: pd.DataFrame | None = None, incident_log: pd.DataFrame | None = None, *,
                        period_start: datetime, period_end: datetime) -> pd.DataFrame:
    """Incidents from every source, detected in the period, with minutes to acknowledge and hours to resolve."""
    sources = [f for f in (github_issues, incident_log) if f is not None]
    if not sources:
        raise ValueError("no incident source in params (criteria.CC7.2.incident_repos or incident_csv)")
    frames = [f for f in sources if not f.empty]
    every = pd.concat(frames, ignore_index=True) if frames else sources[0].iloc[0:0]
    inside = every[(every["detected_at"] >= period_start) & (every["detected_at"] < period_end)].copy()
    inside["minutes_to_acknowledge"] = ((inside["acknowledged_at"] - inside["detected_at"]).dt.total_seconds()
                                        / 60).round(1)
    inside["hours_to_resolve"] = ((inside["resolved_at"] - inside["detected_at"]).dt.total_seconds() / 3600).round(2)
    return inside.sort_values(["detected_at", "incident_id"]).reset_index(drop=True)


def _known(incidents: pd.DataFrame, severities: dict[str, Any]) -> Tested:
    return Tested(incidents, "incidents").keep(lambda f: f["severity"].isin(list(severities)),
                                               f"with a severity params define ({', '.join(severities)})")


def _skipped_note(incidents: pd.DataFrame, known: pd.DataFrame) -> list[str]:
    n = len(incidents) - len(known)
    return [f"{n} incidents without a valid severity are not tested here (see CC7.2-SEVERITY)."] if n else []


@SEVERITY.rule
def severity_set(incidents: pd.DataFrame, severities: dict[str, Any]) -> TestResult:
    deviations = []
    for i in incidents.itertuples():
        if i.severity in severities:
            continue
        detail = "no severity" if not i.severity else (
            f"several severities: {i.severity.replace(';', ', ')}" if ";" in i.severity
            else f"severity {i.severity!r} is not one params define ({', '.join(severities)})")
        deviations.append({"resource_type": "incident", "resource_id": i.incident_id, "detail": detail, "url": i.url})
    return evaluate(SEVERITY, incidents, deviations, {"severities": list(severities)})


@ACKNOWLEDGE.rule
def acknowledged_within_sla(incidents: pd.DataFrame, severities: dict[str, Any], period_end: datetime) -> TestResult:
    known = _known(incidents, severities)
    deviations = []
    for i in known.frame.itertuples():
        sla = timedelta(minutes=severities[i.severity]["acknowledge_minutes"])
        if pd.isna(i.acknowledged_at):
            if i.detected_at + sla >= period_end:
                continue  # still inside its SLA at period end
            detail = f"{i.severity} detected {i.detected_at:%Y-%m-%d %H:%M}; no acknowledgement recorded"
        elif i.acknowledged_at < i.detected_at:
            detail = f"acknowledged {i.acknowledged_at:%Y-%m-%d %H:%M}, before its detection: timeline inconsistent"
        elif i.acknowledged_at - i.detected_at > sla:
            minutes = (i.acknowledged_at - i.detected_at).total_seconds() / 60
            detail = (f"{i.severity} acknowledged {minutes:.0f} min after detection "
                      f"(SLA {severities[i.severity]['acknowledge_minutes']} min)")
        else:
            continue
        deviations.append({"resource_type": "incident", "resource_id": i.incident_id, "detail": detail, "url": i.url})
    threshold = {s: f"{v['acknowledge_minutes']} min" for s, v in severities.items()}
    return evaluate(ACKNOWLEDGE, known, deviations, threshold, _skipped_note(incidents, known.frame))


@RESOLVE.rule
def resolved_within_sla(incidents: pd.DataFrame, severities: dict[str, Any], period_end: datetime) -> TestResult:
    known = _known(incidents, severities)
    deviations = []
    for i in known.frame.itertuples():
        hours = severities[i.severity]["resolve_hours"]
        end = i.resolved_at if pd.notna(i.resolved_at) else pd.Timestamp(period_end)
        took = (end - i.detected_at).total_seconds() / 3600
        if took <= hours or i.resolution_delay_reason:
            continue
        detail = (f"{i.severity} resolved {took:.1f} h after detection" if pd.notna(i.resolved_at)
                  else f"{i.severity} still open at period end, {took:.1f} h after detection")
        deviations.append({"resource_type": "incident", "resource_id": i.incident_id, "url": i.url,
                           "detail": f"{detail} (SLA {hours} h), no documented reason"})
    threshold = {s: f"{v['resolve_hours']} h" for s, v in severities.items()}
    late_ok = known.frame[known.frame["resolution_delay_reason"] != ""]
    notes = _skipped_note(incidents, known.frame) + (
        [f"{len(late_ok)} incidents record a reason for their resolution time: "
         + "; ".join(f"{r.incident_id}: {r.resolution_delay_reason}" for r in late_ok.itertuples())]
        if len(late_ok) else [])
    return evaluate(RESOLVE, known, deviations, threshold, notes)


@POSTMORTEM.rule
def postmortem_linked(incidents: pd.DataFrame, severities: dict[str, Any], due_days: int,
                      period_end: datetime) -> TestResult:
    required = _known(incidents, severities).keep(
        lambda f: f["severity"].map(lambda s: bool(severities[s].get("postmortem_required"))),
        "of a severity that requires a post-mortem")
    deviations = []
    for i in required.frame.itertuples():
        if i.postmortem_url or pd.isna(i.resolved_at) or i.resolved_at + timedelta(days=due_days) > period_end:
            continue
        deviations.append({"resource_type": "incident", "resource_id": i.incident_id, "url": i.url,
                           "detail": f"{i.severity} resolved {i.resolved_at:%Y-%m-%d} with no post-mortem linked "
                                     f"(due within {due_days} days)"})
    threshold = {"postmortem_required": [s for s, v in severities.items() if v.get("postmortem_required")],
                 "due_days_after_resolution": due_days}
    return evaluate(POSTMORTEM, required, deviations, threshold)


def _impacts(text: str) -> set[str]:
    return {x.strip() for x in str(text or "").split(";") if x.strip()}


@COMPLIANCE.rule
def compliance_notified(incidents: pd.DataFrame, impacts: list[str], notify_hours: int) -> TestResult:
    wanted = set(impacts)
    affected = Tested(incidents, "incidents").keep(lambda f: f["impact"].map(lambda x: bool(_impacts(x) & wanted)),
                                                   f"whose impact includes {', '.join(impacts) or '(none named)'}")
    deviations = []
    for i in affected.frame.itertuples():
        what = ", ".join(sorted(_impacts(i.impact) & wanted))
        if pd.isna(i.compliance_notified_at):
            detail = f"impact {what}; no compliance notification recorded"
        elif i.compliance_notified_at - i.detected_at > timedelta(hours=notify_hours):
            hours = (i.compliance_notified_at - i.detected_at).total_seconds() / 3600
            detail = f"impact {what}; compliance notified {hours:.1f} h after detection (limit {notify_hours} h)"
        else:
            continue
        deviations.append({"resource_type": "incident", "resource_id": i.incident_id, "detail": detail, "url": i.url})
    return evaluate(COMPLIANCE, affected, deviations, {"impacts": impacts, "notify_within_hours": notify_hours})


# -- alerts that must become incidents ------------------------------------------------------
def business_firings(firings: pd.DataFrame, namespaces: list[str]) -> pd.DataFrame:
    """Firings of alarms on business metrics: the namespaces params name, or every custom (non ``AWS/``) one."""
    if firings.empty:
        return firings

    def business(ns: str) -> bool:
        parts = [p for p in str(ns).split(";") if p]
        return any(p in namespaces for p in parts) if namespaces else any(not p.startswith("AWS/") for p in parts)
    return firings[firings["namespace"].map(business)].reset_index(drop=True)


def business_alarm_firings(history: pd.DataFrame, alarms: pd.DataFrame, namespaces: list[str],
                           period_start: datetime | None = None, period_end: datetime | None = None) -> pd.DataFrame:
    """Every firing of a business-metric alarm in the period (see :func:`cc71.alarm_firings`)."""
    return business_firings(alarm_firings(history, alarms, period_start, period_end), namespaces)


@ALERT_INCIDENT.rule
def alerts_became_incidents(firings: pd.DataFrame, incidents: pd.DataFrame, window_hours: int) -> TestResult:
    window = timedelta(hours=window_hours)
    sheet = firings.copy()
    answered = []
    for f in sheet.itertuples():
        refs = incidents[incidents["alarms"].map(lambda a, name=f.alarm_name: name in _impacts(a))] \
            if not incidents.empty else incidents
        near = refs[(refs["detected_at"] - f.fired_at).abs() <= window] if len(refs) else refs
        answered.append(";".join(near["incident_id"]))
    sheet["incidents"] = pd.Series(answered, index=sheet.index, dtype=str)
    deviations = [{"resource_type": "alarm_firing", "resource_id": f"{f.account_id}:{f.region}:{f.alarm_name}@"
                   f"{when(f.fired_at, '%Y-%m-%dT%H:%M:%SZ')}",
                   "detail": f"{f.alarm_name} ({f.namespace}/{f.metric_name}) fired {when(f.fired_at)}; "
                             f"no incident references it within {window_hours} h"}
                  for f in sheet.itertuples() if not f.incidents]
    return evaluate(ALERT_INCIDENT, Tested(firings, "business-alarm-firings").annotate(sheet), deviations,
                    {"incident_within_hours_of_firing": window_hours})
