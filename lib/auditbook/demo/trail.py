"""The demo account's CloudTrail: a multi-region trail and its log files in S3.

Every part of the demo that needs an API call on record (a manual change, a secret read, a user
deleted) adds a CloudTrail record here with :func:`record`; :func:`deliver` writes them as the
trail does: one gzipped ``{"Records": [...]}`` file per region and hour of activity, under
``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``. A day with no file is a gap in logging.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from auditbook.demo.moto_state import put_objects

TRAIL_NAME = "org-trail"
TRAIL_BUCKET = "demo-fintech-cloudtrail"
TRAIL_PREFIX = "audit"
PIPELINE_ROLE = "ci-deploy-role"
EVENT_NAMESPACE = uuid.UUID("6f1d9a52-5c1e-4d0b-9a57-2f0e6f3c0a11")


def _stable_id(text: str) -> str:
    """Deterministic principal id digits (str hash() is salted per process)."""
    return f"{int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) % 10**12:012d}"


def user_identity(account_id: str, user: str) -> dict[str, Any]:
    return {"type": "IAMUser", "principalId": f"AIDA{_stable_id(user)}",
            "arn": f"arn:aws:iam::{account_id}:user/{user}", "accountId": account_id, "userName": user}


def role_identity(account_id: str, role: str, session: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole", "principalId": f"AROA{_stable_id(role)}:{session}",
        "arn": f"arn:aws:sts::{account_id}:assumed-role/{role}/{session}", "accountId": account_id,
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": f"AROA{_stable_id(role)}",
                                             "arn": f"arn:aws:iam::{account_id}:role/{role}",
                                             "accountId": account_id, "userName": role}},
    }


def service_identity(service: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


@dataclass
class Trail:
    """The records the demo account's trail will deliver, and which days it was not logging."""

    account_id: str
    seed: int = 11
    records: list[dict[str, Any]] = field(default_factory=list)
    not_logging: set[date] = field(default_factory=set)  # days with no delivery at all

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._seen: Counter[str] = Counter()

    def record(self, when: datetime, source: str, name: str, identity: dict[str, Any], *, read_only: bool,
               region: str = "us-east-1", params: dict[str, Any] | None = None, error: str | None = None,
               event_type: str = "AwsApiCall", category: str = "Management", resources: list | None = None,
               ) -> dict[str, Any]:
        """Add one record. Its event id is derived from what it records, so it does not depend
        on the order in which the demo's parts add their records (the truth files name ids)."""
        when_text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        key = f"{when_text}|{source}|{name}|{identity.get('arn', identity.get('invokedBy'))}"
        self._seen[key] += 1
        event_id = str(uuid.uuid5(EVENT_NAMESPACE, f"{key}|{self._seen[key]}"))
        rec: dict[str, Any] = {
            "eventVersion": "1.09", "userIdentity": identity,
            "eventTime": when_text,
            "eventSource": source, "eventName": name, "awsRegion": region,
            "sourceIPAddress": identity.get("invokedBy") or f"198.51.100.{self._rng.randint(2, 250)}",
            "userAgent": "aws-cli/2.17.0" if identity.get("type") != "AWSService" else identity["invokedBy"],
            "requestParameters": params, "responseElements": None,
            "requestID": str(uuid.uuid5(EVENT_NAMESPACE, f"request|{event_id}")),
            "eventID": event_id,
            "readOnly": read_only, "eventType": event_type, "managementEvent": category == "Management",
            "recipientAccountId": self.account_id, "eventCategory": category,
        }
        if resources:
            rec["resources"] = resources
        if error:
            rec["errorCode"] = error
            rec["errorMessage"] = f"User is not authorized to perform {source.split('.')[0]}:{name}"
        self.records.append(rec)
        return rec

    def files(self) -> dict[str, bytes]:
        """Key → gzipped body, one file per region and hour, as CloudTrail delivers them."""
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for rec in self.records:
            when = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
            if when.date() in self.not_logging:
                continue
            grouped[(rec["awsRegion"], when.strftime("%Y%m%dT%H00Z"))].append(rec)
        out = {}
        for (region, hour), recs in sorted(grouped.items()):
            day = datetime.strptime(hour, "%Y%m%dT%H00Z")
            key = (f"{TRAIL_PREFIX}/AWSLogs/{self.account_id}/CloudTrail/{region}/{day:%Y/%m/%d}/"
                   f"{self.account_id}_CloudTrail_{region}_{hour}_{uuid.UUID(int=self._rng.getrandbits(128)).hex[:16]}"
                   ".json.gz")
            recs = sorted(recs, key=lambda r: (r["eventTime"], r["eventID"]))
            out[key] = gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0)
        return out


def deliver(trail: Trail) -> int:
    """Write every log file to the trail's bucket (straight into the emulator's S3); returns the number of files."""
    return put_objects(TRAIL_BUCKET, trail.files(), trail.account_id)


def business_hours(rng: random.Random, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59),
                    tzinfo=UTC)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
