"""Incidents as teams keep them: GitHub issues with a label, or a CSV export from a paging tool.

Both forms become the same columns (the catalog's ``github-incident-issues`` and ``incident-log-csv``), so the
CC7.2 rules do not care where an incident was recorded.

**Issue timeline format.** An incident issue carries its severity and impact as labels
(``severity:SEV1``, ``impact:customer-data``; prefixes in params) and its timeline as ``Key: value``
lines in the issue body or in any comment (a list bullet before the key is allowed; keys are
case-insensitive; when a key appears more than once, the last one wins, so a correction is a new
comment)::

    Detected: 2026-08-03T10:02Z
    Acknowledged: 2026-08-03T10:09Z
    Resolved: 2026-08-03T11:40Z
    Post-mortem: https://wiki.example.com/pm/2026-08-03
    Compliance notified: 2026-08-03T12:00Z
    Alarm: payments-transaction-success-rate-low
    Resolution delay reason: vendor outage, tracked in VEND-12

Times are ISO 8601 with a ``Z`` or an offset (UTC is assumed when neither is given, and noted).
``Severity:`` and ``Impact:`` lines are read when the labels are absent. Without a ``Detected`` line
the issue's creation time is used; without a ``Resolved`` line, the time the issue was closed.
A value that cannot be read is left empty and named in the ``notes`` column: the rules then report
the incident, never guess.

**CSV export columns** (header row required; one row per incident; times as above):
``incident_id, title, severity, detected_at, acknowledged_at, resolved_at`` are required columns
(``acknowledged_at`` / ``resolved_at`` may be empty: not yet acknowledged / resolved);
``impact`` (``;``-separated), ``postmortem_url``, ``compliance_notified_at``, ``alarm``,
``resolution_delay_reason`` and ``url`` are optional. A missing required column, an unreadable time
or a duplicate ``incident_id`` makes the whole file unusable: :class:`CollectionError` naming the
file and row.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd

from auditbook.provenance import Collected, CollectionError, Provenance, RawStore, iso, sha256_bytes, utc_now
from auditbook.sources.files import raw_file

TIME_COLUMNS = ["detected_at", "acknowledged_at", "resolved_at", "compliance_notified_at"]
CSV_REQUIRED = ["incident_id", "title", "severity", "detected_at", "acknowledged_at", "resolved_at"]
CSV_OPTIONAL = ["impact", "postmortem_url", "compliance_notified_at", "alarm", "resolution_delay_reason", "url"]
TIMELINE_KEYS = {  # line key (lower case) -> column
    "detected": "detected_at", "acknowledged": "acknowledged_at", "resolved": "resolved_at",
    "post-mortem": "postmortem_url", "postmortem": "postmortem_url", "compliance notified": "compliance_notified_at",
    "alarm": "alarms", "severity": "severity", "impact": "impact", "resolution delay reason": "resolution_delay_reason",
}
_LINE = re.compile(r"^\s*(?:[-*]\s+)?(?P<key>[A-Za-z][A-Za-z -]*?)\s*:\s*(?P<value>\S.*?)\s*$")


def parse_time(text: str) -> tuple[pd.Timestamp | None, bool]:
    """(UTC time, whether a zone was given); (None, False) when the text is not an ISO 8601 time."""
    text = text.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        return None, False
    cleaned = re.sub(r"\s*UTC$", "Z", text)
    try:
        value = pd.Timestamp(cleaned)
    except ValueError:
        return None, False
    if value.tzinfo is None:
        return value.tz_localize("UTC"), False
    return value.tz_convert("UTC"), True


def parse_timeline(texts: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The timeline fields found in ``Key: value`` lines, the last occurrence winning, and notes."""
    found: dict[str, str] = {}
    for text in texts:
        for line in (text or "").splitlines():
            match = _LINE.match(line)
            if match and match.group("key").strip().lower() in TIMELINE_KEYS:
                found[TIMELINE_KEYS[match.group("key").strip().lower()]] = match.group("value")
    values: dict[str, Any] = {}
    notes = []
    for column, text in found.items():
        if column in TIME_COLUMNS:
            when, zoned = parse_time(text)
            if when is None:
                notes.append(f"unreadable {column.removesuffix('_at').replace('_', ' ')} time {text!r}")
                continue
            if not zoned:
                notes.append(f"{column} {text!r} has no time zone: read as UTC")
            values[column] = when
        else:
            values[column] = text
    return values, notes



def read_incident_csv(path: str | Path, raw: RawStore, folder: str = "incident_csv") -> Collected:
    """The paging tool's export, kept byte for byte under ``raw/files/<folder>/`` (the params key that named it);
    any defect is a CollectionError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CollectionError(f"{path}: no such incident log file") from None
    except OSError as exc:
        raise CollectionError(f"{path}: cannot read the incident log ({type(exc).__name__})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CollectionError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise CollectionError(f"{path}: missing column {', '.join(repr(c) for c in missing)} "
                              f"(required: {', '.join(CSV_REQUIRED)})")
    rows, first_line = [], {}
    for line, record in enumerate(reader, start=2):
        record = {(k or "").strip(): (v or "").strip() for k, v in record.items()}
        incident_id = record["incident_id"]
        if not incident_id:
            raise CollectionError(f"{path} row {line}: empty incident_id")
        if incident_id in first_line:
            raise CollectionError(f"{path} row {line}: duplicate incident_id {incident_id!r} "
                                  f"(first on row {first_line[incident_id]})")
        first_line[incident_id] = line
        notes = []
        times: dict[str, Any] = {}
        for column in TIME_COLUMNS:
            value = record.get(column, "")
            if not value:
                if column == "detected_at":
                    raise CollectionError(f"{path} row {line}: detected_at is empty")
                times[column] = None
                continue
            when, zoned = parse_time(value)
            if when is None:
                raise CollectionError(f"{path} row {line}: {column} {value!r} is not an ISO 8601 time")
            if not zoned:
                notes.append(f"{column} has no time zone: read as UTC")
            times[column] = when
        rows.append({
            "source": f"csv:{path.name}", "incident_id": incident_id, "title": record["title"],
            "url": record.get("url", ""), "severity": record["severity"], "impact": record.get("impact", ""),
            **times, "postmortem_url": record.get("postmortem_url", ""), "alarms": record.get("alarm", ""),
            "resolution_delay_reason": record.get("resolution_delay_reason", ""),
            "state": "resolved" if times["resolved_at"] is not None else "open", "notes": "; ".join(notes),
        })
    prov = Provenance(system="file", endpoint=str(path.resolve()), scope=f"incident log {path.name}",
                      caller="auditbook (file read)", collected_at=iso(utc_now()) or "")
    prov.add_operation("read CSV", {"path": str(path), "sha256": sha256_bytes(data)}, records=len(rows))
    prov.raw_files.append(raw.save(raw_file(folder, path), data))
    prov.notes.append(f"Columns: {', '.join(header)}. Required: {', '.join(CSV_REQUIRED)}.")
    return Collected(pd.DataFrame(rows), prov)
