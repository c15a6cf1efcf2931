"""State timelines: a resource's configuration at every moment of the period, not once after it.

A timeline row is one resource in one interval ``[valid_from, valid_to)`` of the period, with the settings it
had then (the columns of the state population it stands for), and whether they are known. It is built from
AWS Config's configuration history: the item in effect at a moment is the last one captured at or before it.

An interval is *unknown* when nothing shows the state then: before a resource's first configuration item
(unless Config discovered the resource while recording, i.e. it did not exist before), while the recorder did
not record the resource type, or after an item Config marks as not recorded. A test never passes over an
unknown interval (``gaps``: the evidence basis turns them into an ERROR unless deviations were found).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd

TIMELINE_COLUMNS = ("resource", "valid_from:time", "valid_to:time", "known:bool", "evidence")
# Config item statuses: present and recorded, gone, or not recorded (the state is not shown).
_PRESENT = {"OK", "ResourceDiscovered"}
_GONE = {"ResourceDeleted", "ResourceDeletedNotRecorded"}

Mapper = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]  # (configuration, supplementary) → columns


def columns(state_spec: str) -> str:
    """A timeline's column contract: the resource label and interval, then the settings it follows (kinds that
    allow a missing value: an unknown interval has none)."""
    return " ".join(TIMELINE_COLUMNS) + " " + state_spec


def from_config_history(history: pd.DataFrame, recorders: pd.DataFrame, resource_type: str, start: datetime,
                        end: datetime, to_columns: Mapper, label: Callable[[Any], str],
                        existing: list[str]) -> pd.DataFrame:
    """One row per resource and interval of ``[start, end)`` from its Config history (see the module doc).

    ``to_columns`` maps an item's configuration (and supplementary configuration) to the state population's
    columns; ``label`` names a resource from its item (e.g. ``account:trail``), as ``existing`` names the
    resources read at collection: one of those with no history at all is unknown over the whole period.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    mine = history[history["resource_type"] == resource_type].sort_values("capture_time", kind="stable") \
        if len(history) else pd.DataFrame(columns=["account_id", "region", "resource_id"])
    recording = _recording(recorders, resource_type)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for (account, region, _), items in mine.groupby(["account_id", "region", "resource_id"], sort=True):
        items = items.reset_index(drop=True)
        seen.add(label(items.iloc[-1]))
        rows += _intervals(items, start, end, recording.get((account, region)), to_columns, label)
    for name in sorted(set(existing) - seen):
        rows.append(_unknown(name, start, end, f"AWS Config holds no {resource_type} history of it"))
    return pd.DataFrame(rows)  # no rows: no columns either, and the catalog gives the contract's


def config_timeline(resource_type: str, contract: list[str], to_columns: Mapper, label: Callable[[Any], str],
                    existing: Callable[[pd.DataFrame], list[str]], no_history: Callable[[], pd.DataFrame],
                    no_recorders: Callable[[], pd.DataFrame],
                    changed_by: ChangeCalls | None = None) -> Callable[..., pd.DataFrame]:
    """The catalog's derivation of one resource type's timeline (columns ``contract``); without Config history
    (params turn it off) every resource read at collection is unknown over the whole period. With CloudTrail's
    events (when the run has them), each call ``changed_by`` is checked against the history (:func:`cross_check`).
    """
    def derive(current: pd.DataFrame, period_start: datetime, period_end: datetime,
               history: pd.DataFrame | None = None, recorders: pd.DataFrame | None = None,
               events: pd.DataFrame | None = None) -> pd.DataFrame:
        history = no_history() if history is None else history
        frame = from_config_history(history, no_recorders() if recorders is None else recorders, resource_type,
                                    period_start, period_end, to_columns, label, existing(current))
        if changed_by is not None and events is not None and len(frame):
            frame = cross_check(frame, history[history["resource_type"] == resource_type] if len(history)
                                else history, changed_by.calls(events), changed_by)
        return frame.reindex(columns=contract)  # all unknown: the setting columns are empty
    derive.__name__ = derive.__qualname__ = f"timeline of {resource_type}"
    return derive


CONFIG_LAG = pd.Timedelta(hours=6)  # how long after a change AWS Config's continuous recording shows it, at most


def cross_check(frame: pd.DataFrame, history: pd.DataFrame, calls: pd.DataFrame,
                changed_by: ChangeCalls) -> pd.DataFrame:
    """Config history checked against CloudTrail: a call that changed a resource with no configuration item
    captured within :data:`CONFIG_LAG` after it means Config missed a change (daily recording, a recorder
    paused, an exclusion): from the call to the next item the resource's state is unknown."""
    if calls.empty:
        return frame
    out = frame
    for c in calls.itertuples():
        at = pd.Timestamp(c.event_time)
        named = changed_by.resource(c.request_parameters)
        for resource in sorted(set(out["resource"])):
            account, _, name = str(resource).partition(":")
            if account != str(c.account_id) or (named and named != name):
                continue
            items = history[(history["account_id"] == c.account_id) & (history["resource_name"] == name)] \
                if len(history) else history
            after = items["capture_time"][items["capture_time"] >= at] if len(items) else pd.Series(dtype=object)
            if len(after) and after.min() <= at + CONFIG_LAG:
                continue
            until = after.min() if len(after) else pd.Timestamp(out["valid_to"].max())
            why = (f"CloudTrail {c.event_name} {at:%Y-%m-%d %H:%M} by {c.principal_name or '?'} (event {c.event_id}) "
                   f"changed it and AWS Config captured no item of it within {CONFIG_LAG.components.hours} hours")
            out = _unknown_between(out, resource, at, until, why)
    return out


def _unknown_between(frame: pd.DataFrame, resource: str, a: pd.Timestamp, b: pd.Timestamp,
                     why: str) -> pd.DataFrame:
    """The frame with ``resource`` unknown over ``[a, b)`` (its known intervals cut around it)."""
    rows = []
    for row in frame.to_dict("records"):
        if row["resource"] != resource or row["valid_to"] <= a or row["valid_from"] >= b:
            rows.append(row)
            continue
        if row["valid_from"] < a:
            rows.append({**row, "valid_to": a})
        rows.append(_unknown(resource, max(row["valid_from"], a), min(row["valid_to"], b), why))
        if row["valid_to"] > b:
            rows.append({**row, "valid_from": b})
    return pd.DataFrame(rows, columns=frame.columns)


def _recording(recorders: pd.DataFrame, resource_type: str) -> dict[tuple[str, str], pd.Timestamp | None]:
    """(account, region) → since when the type has been recorded without a break (None: not recorded)."""
    out: dict[tuple[str, str], pd.Timestamp | None] = {}
    for r in recorders[recorders["resource_type"] == resource_type].itertuples():
        out[(r.account_id, r.region)] = r.recording_since if r.recorded and r.recording else None
    return out


def _intervals(items: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, since: pd.Timestamp | None,
               to_columns: Mapper, label: Callable[[pd.Series], str]) -> list[dict[str, Any]]:
    name = label(items.iloc[-1])
    rows: list[dict[str, Any]] = []
    first = items.iloc[0]
    if first["capture_time"] > start:
        discovered_while_recording = (first["status"] == "ResourceDiscovered" and since is not None
                                      and pd.notna(since) and since <= first["capture_time"])
        if not discovered_while_recording:
            why = ("the type was not recorded" if since is None or pd.isna(since)
                   else f"no configuration item before {first['capture_time']:%Y-%m-%d %H:%M}")
            rows.append(_unknown(name, start, min(first["capture_time"], end), why))
    for i, item in items.iterrows():
        valid_from = max(item["capture_time"], start)
        valid_to = items.iloc[i + 1]["capture_time"] if i + 1 < len(items) else end
        valid_to = min(valid_to, end)
        if valid_from >= valid_to:
            continue
        status = item["status"]
        if status in _GONE:
            continue
        evidence = f"AWS Config item {item['capture_time']:%Y-%m-%dT%H:%M:%SZ} ({status})"
        if status not in _PRESENT:
            rows.append(_unknown(name, valid_from, valid_to, f"Config marks the item {status}"))
            continue
        rows.append({"resource": name, "valid_from": valid_from, "valid_to": valid_to, "known": True,
                     "evidence": evidence, **to_columns(_json(item["configuration"]), _json(item["supplementary"]))})
    return rows


def _unknown(name: str, valid_from: pd.Timestamp, valid_to: pd.Timestamp, why: str) -> dict[str, Any]:
    return {"resource": name, "valid_from": valid_from, "valid_to": valid_to, "known": False,
            "evidence": f"unknown: {why}"}


def _json(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    if not text or (isinstance(text, float) and pd.isna(text)):
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def gaps(timeline: pd.DataFrame, resources: list[str]) -> list[str]:
    """The unknown intervals of these resources' timelines, one sentence each (what the evidence basis reports)."""
    if timeline.empty:
        return []
    unknown = timeline[~timeline["known"].astype(bool) & timeline["resource"].isin(resources)]
    return [f"{r.resource}: {r.valid_from:%Y-%m-%d %H:%M} to {r.valid_to:%Y-%m-%d %H:%M} {r.evidence}"
            for r in unknown.itertuples()]


def known_intervals(timeline: pd.DataFrame, resource: str) -> list[Any]:
    """A resource's intervals whose state is shown, in time order (rows with the state's columns)."""
    if timeline.empty:
        return []
    mine = timeline[(timeline["resource"] == resource) & timeline["known"].astype(bool)]
    return list(mine.sort_values("valid_from").itertuples())


def during(row: Any) -> str:
    """An interval in a deviation's words."""
    return f"from {row.valid_from:%Y-%m-%d %H:%M} to {row.valid_to:%Y-%m-%d %H:%M} UTC"


def problems_over_time(at_collection: list[str], intervals: list[Any],
                       problems_of: Callable[[Any], list[str]]) -> list[str]:
    """A resource's problems at collection and in each known interval, each problem once with when it held:
    "spans 1 zone (at collection; from 2026-07-20 13:00 to 2026-07-22 09:00 UTC)"."""
    when: dict[str, list[str]] = {p: ["at collection"] for p in at_collection}
    for interval in intervals:
        for problem in problems_of(interval):
            when.setdefault(problem, []).append(during(interval))
    return [f"{problem} ({'; '.join(times)})" if times != ["at collection"] else problem
            for problem, times in when.items()]


# -- timelines from change events between known states ---------------------------------------------------------
@dataclass(frozen=True)
class Known:
    """A moment the setting's value is known: read then (collection, a snapshot), or set then by a change event.

    ``before`` is what a change implies held just before it (e.g. an MFA device deactivated was active), else None.
    """

    at: pd.Timestamp
    value: Any  # None: the event cannot be interpreted, so what held after it is unknown
    evidence: str
    change: bool = False
    before: Any = None
    unknown_after: str = "cannot be interpreted"  # why a change with no value leaves what follows unknown


def replay(known: list[Known], blind: list[tuple[pd.Timestamp, pd.Timestamp]], start: datetime,
           end: datetime) -> list[dict[str, Any]]:
    """One setting of one resource at every moment of ``[start, end)``: intervals with ``value`` and whether known.

    A value holds forward from a moment it was known (a reading, or the change that set it) and backward from a
    later reading (or a change implying what held before it), as long as no *blind* stretch lies between (days
    without CloudTrail log files, or after the events read): there a change could have happened unseen. Forward
    and backward disagreeing is unknown too (the events and a reading contradict each other).
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    known = sorted(known, key=lambda k: (k.at, k.change))
    cuts = {start, end} | {k.at for k in known if start < k.at < end}
    cuts |= {t for a, b, *_ in blind for t in (a, b) if start < t < end}
    edges = sorted(cuts)
    rows: list[dict[str, Any]] = []
    for p, q in zip(edges, edges[1:], strict=False):
        rows.append(_segment(p, q, known, blind))
    merged: list[dict[str, Any]] = []
    for row in rows:
        last = merged[-1] if merged else None
        if last and last["known"] == row["known"] and (not row["known"] or last["value"] == row["value"]) \
                and (row["known"] or last["evidence"] == row["evidence"]):
            last["valid_to"] = row["valid_to"]
        else:
            merged.append(row)
    return merged


def _blind_between(a: pd.Timestamp, b: pd.Timestamp, blind: list[tuple[pd.Timestamp, pd.Timestamp]]) -> bool:
    return any(x < b and y > a for x, y, *_ in blind)


def _segment(p: pd.Timestamp, q: pd.Timestamp, known: list[Known],
             blind: list[tuple[pd.Timestamp, pd.Timestamp]]) -> dict[str, Any]:
    row = {"valid_from": p, "valid_to": q}
    forward = next((k for k in reversed(known) if k.at <= p), None)
    backward = next((k for k in known if k.at >= q), None)
    ahead = None if forward is None or forward.value is None or _blind_between(forward.at, q, blind) else \
        (forward.value, forward.evidence)
    later = backward.before if backward is not None and backward.change else \
        (backward.value if backward is not None else None)
    behind = None if backward is None or later is None or _blind_between(p, backward.at, blind) else \
        (later, f"{'before ' if backward.change else ''}{backward.evidence}"
                f"{'' if backward.change else ', no change in between'}")
    if ahead and behind and ahead[0] != behind[0]:
        return {**row, "known": False, "value": None,
                "evidence": f"unknown: {ahead[1]} and {backward.evidence} disagree, and no recorded change "
                            "between them explains it"}
    if ahead or behind:
        value, evidence = ahead or behind
        return {**row, "known": True, "value": value, "evidence": evidence}
    if _blind_between(p, q, blind):
        # a blind stretch may say why (a third element); CloudTrail's are days without log files, or after the read
        why = next((b[2] for b in blind if len(b) > 2 and b[0] < q and b[1] > p),
                   "no CloudTrail events are read for this stretch (no log files, or after the events read)")
    elif forward is not None and forward.value is None:
        why = f"{forward.evidence} {forward.unknown_after}"
    else:
        why = "no reading or change of it reaches this stretch without a gap in the events"
    return {**row, "known": False, "value": None, "evidence": f"unknown: {why}"}


def blind_days(coverage: pd.DataFrame, account: str, region: str, events_until: datetime,
               read_at: datetime | None) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """When CloudTrail cannot show a change in one account and region: each day of the coverage without a log
    file, and everything from the end of the events read to the collection (or on, when it is not known); all
    of it when the coverage has no row for them."""
    mine = coverage[(coverage["account_id"] == account) & (coverage["region"] == region)] if len(coverage) else \
        coverage
    if mine.empty:  # the trail's delivery there was not examined: nothing shows its changes
        return [(pd.Timestamp("1970-01-01", tz="UTC"), _NEVER)]
    days = [_utc_day(d) for d in mine.loc[mine["log_files"] == 0, "day"]]  # the coverage names days as dates
    out = [(d, d + pd.Timedelta(days=1)) for d in days]
    until = pd.Timestamp(events_until)
    later = pd.Timestamp(read_at) + pd.Timedelta(seconds=1) if read_at is not None else _NEVER
    return out + [(until, max(later, until + pd.Timedelta(seconds=1)))]


_NEVER = pd.Timestamp("2200-01-01", tz="UTC")  # no reading after the events: blind for ever


def _utc_day(day: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(day)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


# IAM and other global services: the trail delivers their calls in us-east-1, where their timelines look for them.
GLOBAL_EVENTS_REGION = "us-east-1"
CHANGE_COLUMNS = ["account_id", "region", "resource", "at", "value", "before", "evidence"]


def _value(value: Any) -> Any:
    """A change's value as the replay reads it: a missing one (None, or the NaN a frame makes of it) is None."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


# A call read: (resource id, or '' when it names none; the value it set; the value it implies held before).
Interpretation = tuple[str, Any, Any]


def changes_from(events: pd.DataFrame, source: str, names: list[str],
                 interpret: Callable[[str, dict[str, Any] | None], Interpretation | None]) -> pd.DataFrame:
    """The successful calls ``names`` of one service as changes (:data:`CHANGE_COLUMNS`).

    ``interpret(event name, request)`` reads a call (its request parameters as a dict, None when unreadable) into
    what it set, or None for a call that sets nothing this timeline follows. A call naming no resource concerns
    every resource of its account and region, which are unknown after it.
    """
    if events.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    mine = events[(events["event_source"] == source) & events["event_name"].isin(names)
                  & (events["error_code"].fillna("") == "")]
    rows = []
    for e in mine.itertuples():
        got = interpret(e.event_name, _request(e.request_parameters))
        if got is None:
            continue
        resource, value, before = got
        when = pd.Timestamp(e.event_time)
        rows.append({"account_id": e.account_id, "region": e.aws_region,
                     "resource": resource_label(e.account_id, e.aws_region, resource) if resource else "",
                     "at": when, "value": value if resource else None, "before": before if resource else None,
                     "evidence": f"CloudTrail {e.event_name} {when:%Y-%m-%d %H:%M} by {e.principal_name or '?'} "
                                 f"(event {e.event_id})"})
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _request(text: Any) -> dict[str, Any] | None:
    if not text or (isinstance(text, float) and pd.isna(text)):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def resource_label(account_id: str, region: str, resource_id: str) -> str:
    """How a regional resource is named on an events timeline (by the id its change events name)."""
    return f"{account_id}:{region}:{resource_id}"


def events_timeline(setting: str, resource_of: Callable[[Any], str], value_of: Callable[[Any], Any],
                    changes_of: Callable[[pd.DataFrame], pd.DataFrame], contract: list[str],
                    region_of: Callable[[Any], str] = lambda row: row.region,
                    created_of: Callable[[Any], Any] = lambda row: getattr(row, "created", None),
                    ) -> Callable[..., pd.DataFrame]:
    """The catalog's derivation of one setting's timeline from CloudTrail change events between readings.

    ``resource_of``/``value_of`` read a state row (at collection, or in a snapshot: ``taken_at``); ``region_of``
    names the region whose trail delivers its changes (IAM's: us-east-1), ``created_of`` when it came to be;
    ``changes_of`` interprets the events (:data:`CHANGE_COLUMNS`; ``resource`` empty: an event that concerns
    every resource of its account and region but cannot be attributed, so it makes them unknown). A resource
    created in the period has no state before its creation.
    """
    def derive(current: pd.DataFrame, readings: pd.DataFrame, events: pd.DataFrame, coverage: pd.DataFrame,
               period_start: datetime, period_end: datetime, read_at: datetime | None = None) -> pd.DataFrame:
        start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
        changes = changes_of(events)
        rows: list[dict[str, Any]] = []
        for state in current.itertuples():
            name = resource_of(state)
            known = [Known(pd.Timestamp(read_at), value_of(state), "state at collection")] \
                if read_at is not None and value_of(state) is not None else []
            for reading in readings[[resource_of(r) == name for r in readings.itertuples()]].itertuples() \
                    if len(readings) else []:
                if value_of(reading) is not None and pd.notna(reading.taken_at):
                    known.append(Known(pd.Timestamp(reading.taken_at), value_of(reading),
                                       f"snapshot {pd.Timestamp(reading.taken_at):%Y-%m-%d %H:%M}"))
            region = region_of(state)
            mine = changes[((changes["resource"] == name) | (changes["resource"] == ""))
                           & (changes["account_id"] == state.account_id) & (changes["region"] == region)]
            known += [Known(pd.Timestamp(c.at), _value(c.value), c.evidence, change=True, before=_value(c.before))
                      for c in mine.itertuples()]
            created = created_of(state)
            since = max(start, pd.Timestamp(created)) if created is not None and pd.notna(created) else start
            if since >= end:
                continue
            blind = blind_days(coverage, state.account_id, region, end, read_at)
            for interval in replay(known, blind, since, end):
                value = interval.pop("value")
                rows.append({"resource": name, **interval, setting: value})
        return pd.DataFrame(rows).reindex(columns=contract)
    derive.__name__ = derive.__qualname__ = f"timeline of {setting} from CloudTrail events"
    return derive


# -- readings that hold between change calls -----------------------------------------------------------------
@dataclass(frozen=True)
class ChangeCalls:
    """The CloudTrail calls that can change a state population: its service's successful calls that are not
    read-only and whose name matches ``names`` (a regular expression over the whole event name). Between two of
    them, with CloudTrail's log files complete, the population is what a reading in that stretch showed.

    ``global_service``: the trail delivers the service's calls in us-east-1 (IAM), not in each region.
    """

    stream: ClassVar[str] = "cloudtrail-events"  # the catalog population the calls are read from
    source: str
    names: str
    what: str  # the calls in words, for the report: "IAM calls on users and their credentials"
    global_service: bool = False
    resource_parameter: str = ""  # the request parameter naming the resource changed (a name or an ARN)

    def resource(self, request_parameters: Any) -> str:
        """The name of the resource a call changed ('' when its request does not say: it may be any)."""
        value = str((_request(request_parameters) or {}).get(self.resource_parameter) or "") \
            if self.resource_parameter else ""
        return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value

    def calls(self, events: pd.DataFrame) -> pd.DataFrame:
        if events.empty:
            return events
        pattern = re.compile(self.names)
        writes = events["read_only"].map(lambda v: v is not True and str(v).lower() != "true")
        return events[(events["event_source"] == self.source) & writes
                      & (events["error_code"].fillna("") == "")
                      & events["event_name"].map(lambda n: bool(pattern.fullmatch(str(n))))]

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class AuditActions:
    """The GitHub organization audit log actions that may change a state population (``actions``: a regular
    expression over the whole action, e.g. ``protected_branch\\..*``). GitHub keeps the log 180 days
    (:data:`AUDIT_LOG_DAYS`), on GitHub Enterprise Cloud only."""

    stream: ClassVar[str] = "github-audit-log"
    actions: str
    what: str

    def calls(self, log: pd.DataFrame) -> pd.DataFrame:
        """The matching events, named as :func:`held_between_changes` reads calls."""
        columns = ["event_time", "event_name", "principal_name", "event_id"]
        if log.empty:
            return pd.DataFrame(columns=columns)
        pattern = re.compile(self.actions)
        mine = log[log["action"].map(lambda a: bool(pattern.fullmatch(str(a))))]
        return pd.DataFrame({"event_time": mine["at"], "event_name": "GitHub audit log " + mine["action"]
                             + mine["repo"].map(lambda r: f" on {r}" if r else ""),
                             "principal_name": mine["actor"], "event_id": mine["document_id"]}, columns=columns)

    def describe(self) -> str:
        return self.what


AUDIT_LOG_DAYS = 180


def held_between_changes(readings: list[tuple[pd.Timestamp, Any, str]], calls: pd.DataFrame,
                         blind: list[tuple[pd.Timestamp, pd.Timestamp]], start: datetime,
                         end: datetime) -> list[dict[str, Any]]:
    """What a configuration-only verdict was at every moment of ``[start, end)``, from its readings.

    ``readings`` are (when, verdict, evidence): the verdict a test reached on a state read then. A verdict holds
    forward and backward from its reading until a change call (``calls``: events) or a stretch CloudTrail does not
    show (``blind``); two readings with no call between them that disagree make the stretch unknown (a change the
    events did not show). Intervals as :func:`replay` gives them.
    """
    known = [Known(pd.Timestamp(at), verdict, evidence) for at, verdict, evidence in readings]
    def named(name: str) -> str:  # a GitHub audit log action says where it comes from; a CloudTrail call does not
        return name if name.startswith("GitHub") else f"CloudTrail {name}"
    known += [Known(pd.Timestamp(c.event_time), None,
                    f"{named(str(c.event_name))} {pd.Timestamp(c.event_time):%Y-%m-%d %H:%M} by "
                    f"{c.principal_name or '?'} (event {c.event_id})", change=True,
                    unknown_after="may have changed it, and no later reading reaches back to it")
              for c in calls.itertuples()]
    return replay(known, blind, start, end)
