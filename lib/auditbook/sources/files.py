"""Files an organization keeps outside AWS and GitHub: the HR roster, access review decisions, the
record of disaster-recovery tests.

Each is read strictly: a missing column, an unreadable date, a duplicate id or a file that is
not UTF-8 stops the collection with one line naming the file and the row. The file itself is
kept under ``raw/files/<folder>/<file name>`` with its sha256, as the evidence it is: ``folder`` is the
params key that named it (the catalog passes it), so two files of the same name in different folders
(``a/data.csv`` as the roster, ``b/data.csv`` as the decisions) never collide.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from auditbook import cells
from auditbook.params import DuplicateKeyError, StrictLoader
from auditbook.provenance import Collected, CollectionError, Provenance, RawStore, iso, sha256_bytes, utc_now

ROSTER_COLUMNS = {
    "person_id": "stable id of the person in the HR system",
    "name": "full name",
    "email": "work email (matches Identity Center users)",
    "github_login": "GitHub login, blank if none",
    "aws_user_names": "IAM user names, separated by ';', blank if none",
    "start_date": "first day of employment or contract (YYYY-MM-DD)",
    "termination_date": "last day, blank while employed (YYYY-MM-DD, or with time in UTC)",
    "manager": "person_id of the manager",
}
DECISION_COLUMNS = {
    "system": "aws-iam, identity-center or github",
    "account": "AWS account id or GitHub org",
    "identity": "IAM user name, Identity Center user name or GitHub login",
    "decision": "keep or remove",
    "reviewer": "person_id of the reviewer",
    "reviewed_at": "date of the decision (YYYY-MM-DD)",
}


def raw_file(folder: str, path: Path) -> str:
    """Where an organization's file is kept in the package's ``raw/``: under the params key that named it."""
    return f"files/{folder}/{path.name}"


def _read_csv(path: Path, name: str, required: dict[str, str], raw: RawStore,
              folder: str) -> tuple[pd.DataFrame, Provenance]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CollectionError(f"{path}: cannot read the {name} ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CollectionError(f"{path}: the {name} is not UTF-8 (byte {exc.start})") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CollectionError(f"{path}: the {name} is not a CSV file ({' '.join(str(exc).split())})") from None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CollectionError(f"{path}: the {name} lacks column(s) {', '.join(missing)}")
    frame = frame.apply(lambda col: col.str.strip())
    prov = Provenance(system="file", endpoint=str(path), scope=name, caller="(file provided by the organization)",
                      collected_at=iso(utc_now()) or "")
    prov.raw_files.append(raw.save(raw_file(folder, path), data))
    prov.add_operation(f"read {path.name}", records=len(frame))
    return frame, prov


def _dates(frame: pd.DataFrame, column: str, path: Path, optional: bool) -> pd.Series:
    """ISO 8601 only (``2026-08-14``, ``2026-08-14T17:00:00Z``): "11th Sept" is refused, never read as this year."""
    parsed = pd.to_datetime(frame[column].replace("", None), utc=True, errors="coerce", format="ISO8601")
    for row, (text, value) in enumerate(zip(frame[column], parsed, strict=True), start=2):
        if pd.isna(value) and (text or not optional):
            raise CollectionError(f"{path}: row {row}: {column} {text!r} is not a date")
    return parsed


def _unique(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    dup = frame[frame.duplicated(columns, keep="first")]
    if len(dup):
        row = int(dup.index[0]) + 2
        raise CollectionError(f"{path}: row {row}: duplicate {'/'.join(columns)} "
                              f"{'/'.join(str(dup.iloc[0][c]) for c in columns)}")


def _required(path: str | Path | None, name: str, key: str) -> Path:
    if not path:
        raise CollectionError(f"no {name}: set {key} in params")
    return Path(path)


def load_roster(path: str | Path | None, raw: RawStore, folder: str = "hr_roster") -> Collected:
    path = _required(path, "HR roster", "criteria.CC6.1.hr_roster")
    frame, prov = _read_csv(path, "HR roster", ROSTER_COLUMNS, raw, folder)
    _unique(frame, ["person_id"], path)
    frame["start_date"] = _dates(frame, "start_date", path, optional=False)
    frame["termination_date"] = _dates(frame, "termination_date", path, optional=True)
    frame["email"] = frame["email"].str.lower()
    for column in ("github_login", "email"):
        present = frame[frame[column] != ""]
        _unique(present, [column], path)
    prov.notes.append(f"{len(frame)} people, {int(frame['termination_date'].notna().sum())} with a termination date.")
    return Collected(frame, prov)


def load_review_decisions(path: str | Path | None, raw: RawStore, folder: str = "review_decisions") -> Collected:
    path = _required(path, "access review decisions", "criteria.CC6.1.review_decisions")
    frame, prov = _read_csv(path, "access review decisions", DECISION_COLUMNS, raw, folder)
    _unique(frame, ["system", "account", "identity"], path)
    bad = frame[~frame["decision"].str.lower().isin(["keep", "remove"])]
    if len(bad):
        raise CollectionError(f"{path}: row {int(bad.index[0]) + 2}: decision {bad.iloc[0]['decision']!r} "
                              "is not keep or remove")
    frame["decision"] = frame["decision"].str.lower()
    frame["reviewed_at"] = _dates(frame, "reviewed_at", path, optional=False)
    return Collected(frame, prov)


def load_previous_worksheet(path: str | Path, raw: RawStore, folder: str = "previous_worksheet") -> Collected:
    """The access review worksheet of the previous review (an earlier package's CSV, whose text a spreadsheet
    would run was written with a leading ``'``: taken off, so a name is compared with itself)."""
    path = Path(path)
    frame, prov = _read_csv(path, "previous access review worksheet",
                            {"line": "", "person": "", "privileges": "", "admin": ""}, raw, folder)
    frame = cells.restore_frame(frame)
    _unique(frame, ["line"], path)
    return Collected(frame, prov)


def as_utc_day_end(ts: pd.Timestamp) -> pd.Timestamp:
    """A termination date without a time means the end of that day (UTC)."""
    if ts.tzinfo is None:
        ts = ts.tz_localize(UTC)
    return ts + pd.Timedelta(days=1) if ts == ts.normalize() else ts


DR_TEST_FIELDS = ["data_store", "started_at", "completed_at", "data_as_of", "outcome"]



def collect_dr_tests(path: str | Path, raw: RawStore, folder: str = "dr_test_records") -> Collected:
    """The organization's record of disaster-recovery restore tests: a YAML list of
    ``{data_store, started_at, completed_at, data_as_of, outcome, evidence}`` (``data_store`` as
    ``<account>:<rds|ebs>:<name>``). A file that is missing or malformed is an error."""
    file = Path(path)
    try:
        content = file.read_bytes()
        records = yaml.load(content, Loader=StrictLoader) or []  # noqa: S506 - a SafeLoader
    except DuplicateKeyError as exc:
        raise CollectionError(f"DR test records {file}: {exc}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise CollectionError(f"DR test records {file}: {type(exc).__name__}: {exc}") from None
    if not isinstance(records, list):
        raise CollectionError(f"DR test records {file}: expected a list of tests")
    rows = []
    for n, rec in enumerate(records, start=1):
        missing = [f for f in DR_TEST_FIELDS if not isinstance(rec, dict) or rec.get(f) in (None, "")]
        if missing:
            raise CollectionError(f"DR test records {file}: entry {n} lacks {', '.join(missing)}")
        started, completed = _when(rec["started_at"]), _when(rec["completed_at"])
        rows.append({
            "account_id": str(rec["data_store"]).split(":", 1)[0], "region": rec.get("region", ""),
            "restore_job_id": rec.get("id", f"dr-test-{n}"), "source": "dr-test-record",
            "recovery_point_arn": rec.get("recovery_point", ""), "resource_arn": "",
            "data_store": rec["data_store"], "resource_type": rec.get("resource_type", ""),
            "status": "COMPLETED" if str(rec["outcome"]).lower() in ("success", "succeeded", "passed")
            else str(rec["outcome"]).upper(),
            "validation_status": str(rec["outcome"]).upper(), "started": started, "completed": completed,
            "duration_minutes": round((completed - started).total_seconds() / 60, 1),
            "recovery_point_created": _when(rec["data_as_of"]), "created_resource_arn": rec.get("evidence", ""),
        })
    saved = raw.save(raw_file(folder, file), content)
    prov = Provenance(system="file", endpoint=str(file.resolve()), scope="disaster-recovery test records",
                      caller="auditbook", collected_at=iso(utc_now()) or "", raw_files=[saved])
    prov.add_operation("read file", {"path": str(file), "sha256": sha256_bytes(content)}, 1, len(rows))
    return Collected(pd.DataFrame(rows), prov)



def _when(value: Any) -> datetime:
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)

