"""The exception register: deviations management has accepted, with an owner and an expiry.

A register is a YAML file (``exceptions_file`` in params, relative to the params file) listing known
deviations by test id and resource id. A deviation that matches an entry in force is shown as
"accepted until <expiry>", never hidden: it stays a row of exceptions.csv and counts in "n of N".
An entry is in force for a run when it expires on or after the last day of the period; an expired
entry leaves its deviation a plain open deviation again. Entries that match no deviation of the
run are reported, so a stale register is visible.

The register is validated before a run starts: a bad file is refused in one line naming the file
and the entry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from auditbook import layout
from auditbook.criteria import CRITERIA
from auditbook.params import StrictLoader, read_yaml
from auditbook.period import Period

OPEN, ACCEPTED = "open", "accepted"
REGISTER_COLUMNS = ["status", "accepted_until", "owner", "management_response"]
PACKAGE_COPY = layout.REGISTER_COPY  # the register as used, kept in the package

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_TEXT = {"type": "string", "minLength": 1}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["exceptions"],
    "properties": {
        "exceptions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "test", "resource", "owner", "management_response", "remediation_date",
                             "expires"],
                "properties": {
                    "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$"},
                    "test": {"type": "string", "pattern": r"^[A-Z][A-Z0-9.]*-[A-Z0-9-]+$"},
                    "resource": _TEXT,
                    "owner": _TEXT,
                    "management_response": _TEXT,
                    "remediation_date": _DATE,
                    "compensating_control": {"type": "string"},
                    "approved_by": {"type": "string"},
                    "approved_on": _DATE,
                    "expires": _DATE,
                },
            },
        },
    },
}


class RegisterError(ValueError):
    """A bad register: the message is one line naming the file and the entry."""


@dataclass(frozen=True)
class Acceptance:
    id: str
    test: str
    resource: str
    owner: str
    management_response: str
    remediation_date: dt.date
    expires: dt.date
    compensating_control: str = ""
    approved_by: str = ""
    approved_on: dt.date | None = None

    @property
    def criterion(self) -> str:
        return self.test.split("-", 1)[0]

    def in_force(self, period: Period) -> bool:
        """In force for the period when it still holds on the period's last day."""
        return self.expires >= period.last_day

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "test": self.test, "resource": self.resource, "owner": self.owner,
                "management_response": self.management_response,
                "remediation_date": self.remediation_date.isoformat(), "expires": self.expires.isoformat(),
                "compensating_control": self.compensating_control, "approved_by": self.approved_by,
                "approved_on": self.approved_on.isoformat() if self.approved_on else None}


@dataclass
class Register:
    source: str
    entries: list[Acceptance] = field(default_factory=list)

    def lookup(self) -> dict[tuple[str, str], Acceptance]:
        return {(e.test, e.resource): e for e in self.entries}


class _TextDates(StrictLoader):
    """YAML without implicit timestamps (dates stay text, so a bad date is reported with its entry) and without
    a key written twice."""


_TextDates.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _plain_dates(value: Any) -> Any:
    """YAML reads 2026-12-31 as a date; the schema checks text, so dates go back to ISO text."""
    if isinstance(value, dict):
        return {k: _plain_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_dates(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _where(data: Any, error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "exceptions" and isinstance(path[1], int):
        index = path[1]
        entry = data["exceptions"][index]
        name = entry.get("id") if isinstance(entry, dict) else None
        label = f"entry {index + 1}" + (f" ({name})" if name else "")
        rest = ".".join(str(p) for p in path[2:])
        return f"{label}: {rest}" if rest else label
    return ".".join(str(p) for p in path) or "(top level)"


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return "unknown key " + ", ".join(extra)
    if error.validator == "pattern":
        return f"{json.dumps(error.instance)} does not have the expected form"
    return error.message


def load(path: str | Path) -> Register:
    """Read and validate a register; raise :class:`RegisterError` naming the file and the entry."""
    path = Path(path)
    data = _plain_dates(read_yaml(path, "exception register", RegisterError, _TextDates))
    if data is None:
        data = {"exceptions": []}
    if not isinstance(data, dict):
        raise RegisterError(f"{path}: expected a mapping with an 'exceptions' list at the top level")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        raise RegisterError(f"{path}: {_where(data, errors[0])}: {_message(errors[0])}")
    entries, seen_ids, seen_keys = [], set(), {}
    for index, raw in enumerate(data["exceptions"]):
        label = f"entry {index + 1} ({raw['id']})"
        try:
            dates = {k: dt.date.fromisoformat(raw[k]) for k in ("remediation_date", "expires", "approved_on")
                     if k in raw}
        except ValueError as exc:
            raise RegisterError(f"{path}: {label}: {exc}") from None
        entry = Acceptance(
            id=raw["id"], test=raw["test"], resource=raw["resource"], owner=raw["owner"],
            management_response=" ".join(raw["management_response"].split()),
            remediation_date=dates["remediation_date"], expires=dates["expires"],
            compensating_control=" ".join(raw.get("compensating_control", "").split()),
            approved_by=raw.get("approved_by", ""), approved_on=dates.get("approved_on"),
        )
        if entry.criterion not in CRITERIA:
            raise RegisterError(f"{path}: {label}: test {entry.test!r} belongs to no known criterion")
        if entry.id in seen_ids:
            raise RegisterError(f"{path}: {label}: id {entry.id} is used twice")
        key = (entry.test, entry.resource)
        if key in seen_keys:
            raise RegisterError(f"{path}: {label}: same test and resource as {seen_keys[key]}")
        seen_ids.add(entry.id)
        seen_keys[key] = entry.id
        entries.append(entry)
    return Register(str(path), entries)


def register_path(params: dict[str, Any], params_file: str | Path) -> Path | None:
    """The register named in params, relative to the params file's folder; None when there is none."""
    name = params.get("exceptions_file")
    if not name:
        return None
    path = Path(name)
    return path if path.is_absolute() else Path(params_file).resolve().parent / path


def for_run(run_dir: Path, params: dict[str, Any], params_file: str | Path) -> Register | None:
    """The exception register a run uses: the package's copy, else (an analyst's scratch run) the params' file."""
    copy = Path(run_dir) / PACKAGE_COPY
    if copy.exists():
        return load(copy)
    path = register_path(params, params_file)
    return load(path) if path else None


def annotate(deviations: Iterable[dict[str, Any]], register: Register | None, period: Period) -> list[dict[str, Any]]:
    """Each deviation row with the register columns: status, accepted_until, owner, management_response.

    Rows are never dropped or reordered; an accepted deviation is still a deviation.
    """
    lookup = register.lookup() if register else {}
    out = []
    for row in deviations:
        entry = lookup.get((row.get("test_id"), row.get("resource_id")))
        if entry and entry.in_force(period):
            extra = {"status": ACCEPTED, "accepted_until": entry.expires.isoformat(), "owner": entry.owner,
                     "management_response": entry.management_response, "register_id": entry.id}
        else:
            extra = {"status": OPEN, "accepted_until": "", "owner": "", "management_response": "",
                     "register_id": entry.id if entry else ""}
        out.append({**row, **extra})
    return out


def reconcile(deviations: Iterable[dict[str, Any]], register: Register | None, period: Period,
              criteria_run: Iterable[str]) -> dict[str, Any]:
    """How each register entry fared in this run: applied, expired, unmatched or not evaluated."""
    if register is None:
        return {"source": None, "entries": []}
    present = {(d.get("test_id"), d.get("resource_id")) for d in deviations}
    criteria_run = set(criteria_run)
    entries = []
    for e in register.entries:
        if e.criterion not in criteria_run:
            outcome = "not evaluated"
            note = f"{e.criterion} was not part of this run"
        elif (e.test, e.resource) not in present:
            outcome = "unmatched"
            note = "no deviation of this run matches: remediated, renamed, or a mistake in the register"
        elif e.in_force(period):
            outcome = "accepted"
            note = f"deviation shown as accepted until {e.expires.isoformat()}"
        else:
            outcome = "expired"
            note = (f"expired {e.expires.isoformat()}, before the period's last day {period.last_day.isoformat()}: "
                    "reported as an open deviation")
        entries.append(dict(e.to_dict(), outcome=outcome, note=note))
    return {"source": register.source, "entries": entries}


def acceptance_text(row: dict[str, Any]) -> str:
    """What a report shows for one deviation row: empty for an open one."""
    if row.get("status") != ACCEPTED:
        return ""
    return f"accepted until {row['accepted_until']} ({row['register_id']}, owner {row['owner']})"
