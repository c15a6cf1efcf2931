"""CC6.2 credentials and secrets: the rules, as pure functions over the collected populations.

Secrets Manager rotation (configured, and actually happening: the trail's rotation events),
who may read secrets (resource and identity policies) and who did (``GetSecretValue`` events),
IAM access key hygiene from the credential report, KMS key rotation, and leaked secrets found
by GitHub secret scanning. Ages are measured at the period end so a re-run gives the same answer.
"""

from __future__ import annotations

import fnmatch
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from auditbook import timeline
from auditbook.results import ControlTest, Tested, TestResult, evaluate
from auditbook.sources.aws.secretsmanager import secret_name  # how a request names a secret (an API fact)

SECRET_ROTATION = ControlTest(
    "CC6.2-SECRET-ROTATION", "CC6.2", "Secrets rotate automatically and on time",
    "Every Secrets Manager secret has automatic rotation enabled, a rotation interval within the maximum, and "
    "was rotated (or, if never rotated, created) within the maximum age before the period end; rotation stays "
    "enabled at every moment of the period its rotation timeline shows.",
    "continuous", ("secretsmanager-secrets", "secret-rotation-timeline"),
    lambda s, ctx: {"as_of": ctx.period.end, "max_rotation_days": s["max_rotation_days"]}, ("account_id", "name"),
    deviates_when=("A secret without automatic rotation, with a rotation interval over {max_rotation_days} days, or "
                   "not rotated (or created) within {max_rotation_days} days before the period end ({as_of}) "
                   "deviates; so does rotation off at any moment its timeline shows."))
ROTATION_FAILURES = ControlTest(
    "CC6.2-ROTATION-FAILURES", "CC6.2", "Failed secret rotations are fixed promptly",
    "Every secret rotation that failed in the period (CloudTrail RotationFailed, or a RotateSecret call that "
    "returned an error) was followed by a successful rotation of the same secret within the grace period.",
    "per_event", ("cloudtrail-events",), lambda s, ctx: {"grace_hours": s["rotation_failure_grace_hours"]},
    ("event_time", "event_id"),
    deviates_when=("A failed rotation not followed by a successful rotation of the same secret within "
                   "{rotation_failure_grace_hours} hours deviates."))
SECRET_ACCESS_POLICY = ControlTest(
    "CC6.2-SECRET-ACCESS-POLICY", "CC6.2", "No open read access to secrets",
    "No secret resource policy lets any principal ('*') read the secret without a restricting condition, and "
    "no IAM identity policy lets a principal other than the approved secret readers read every secret.",
    "continuous", ("secretsmanager-secrets", "iam-entitlements"),
    lambda s, ctx: {"secret_reader_principals": s["secret_reader_principals"]},
    ("account_id", "policy_kind", "subject", "policy"),
    configuration_only=True,
    deviates_when=("A resource policy letting anyone ('*') read a secret without a restricting condition, or an "
                   "identity policy letting a principal other than {secret_reader_principals} read every secret, "
                   "deviates."))
SECRET_READERS = ControlTest(
    "CC6.2-SECRET-READERS", "CC6.2", "Secrets are read only by their expected readers",
    "Every successful GetSecretValue call in the period was made by a role or user expected to read that secret.",
    "per_event", ("cloudtrail-events",), lambda s, ctx: {"expected_readers": s["expected_readers"]},
    ("event_time", "event_id"),
    deviates_when=("A successful GetSecretValue by a principal not expected for that secret deviates; expected "
                   "readers: {expected_readers}."))
KEY_AGE = ControlTest(
    "CC6.2-KEY-AGE", "CC6.2", "Access keys are rotated",
    "No active IAM access key is older than the maximum key age at the period end.",
    "continuous", ("iam-credential-report",),
    lambda s, ctx: {"as_of": ctx.period.end, "max_key_age_days": s["max_key_age_days"]}, ("account_id", "user", "key"),
    deviates_when=("An active access key older than {max_key_age_days} days at the period end ({as_of}) deviates."))
KEY_UNUSED = ControlTest(
    "CC6.2-KEY-UNUSED", "CC6.2", "Unused access keys are removed",
    "No active IAM access key went unused for longer than the threshold at the period end (a key never used "
    "counts from its creation).",
    "continuous", ("iam-credential-report",),
    lambda s, ctx: {"as_of": ctx.period.end, "max_unused_key_days": s["max_unused_key_days"]},
    ("account_id", "user", "key"),
    deviates_when=("An active access key unused for more than {max_unused_key_days} days at the period end ({as_of}) "
                   "deviates; a key never used counts from its creation."))
KEY_COUNT = ControlTest(
    "CC6.2-KEY-COUNT", "CC6.2", "One active access key per user",
    "No IAM user has more than one active access key (two keys are allowed only during a rotation).",
    "continuous", ("iam-credential-report",), lambda s, ctx: {"as_of": ctx.period.end}, ("account_id", "user"),
    configuration_only=True,
    deviates_when=("An IAM user with more than {max_active_keys} active access key deviates (two are allowed only "
                   "during a rotation)."))
KMS_ROTATION = ControlTest(
    "CC6.2-KMS-ROTATION", "CC6.2", "KMS keys rotate automatically",
    "Every customer-managed symmetric encryption KMS key has automatic key rotation enabled, at every moment of "
    "the period (its rotation timeline), not only at collection.",
    "continuous", ("kms-keys", "kms-rotation-timeline"), sample_keys=("account_id", "key_id"),
    deviates_when=("A customer-managed symmetric encryption key without automatic rotation, at collection or at any "
                   "moment of its rotation timeline, deviates."))
LEAKED_SECRETS = ControlTest(
    "CC6.2-LEAKED-SECRETS", "CC6.2", "Leaked secrets are revoked promptly",
    "Every GitHub secret scanning alert open at any time in the period was resolved within the allowed days; "
    "an alert still open at the period end is a deviation.",
    "per_event", ("github-secret-scanning-alerts",),
    lambda s, ctx: {**ctx.window, "leaked_secret_max_days": s["leaked_secret_max_days"]}, ("org", "repo", "number"),
    deviates_when=("A GitHub secret scanning alert open in the period that was not resolved within "
                   "{leaked_secret_max_days} days, or is still open at the period end, deviates."))

TESTS = [SECRET_ROTATION, ROTATION_FAILURES, SECRET_ACCESS_POLICY, SECRET_READERS, KEY_AGE, KEY_UNUSED, KEY_COUNT,
         KMS_ROTATION, LEAKED_SECRETS]

SECRETS_SOURCE = "secretsmanager.amazonaws.com"
READ_ACTION = "secretsmanager:GetSecretValue"
ROTATION_EVENTS = ["RotateSecret", "RotationStarted", "RotationSucceeded", "RotationFailed"]
# The CloudTrail events CC6.2 reads (auditbook.events.sql): secret reads and the rotation's own events.
CLOUDTRAIL_SELECTION = (f"event_source = '{SECRETS_SOURCE}' AND event_name IN ("
                        + ", ".join(f"'{name}'" for name in ["GetSecretValue", *ROTATION_EVENTS]) + ")")
_ALL_SECRETS_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[^:]*:[^:]*:secret:\*")
ROOT_KEYS_NOTE = "The root user's access keys are tested by CC6.1-ROOT (root must have none) and are not repeated here."


def _days(delta: timedelta | pd.Timedelta) -> int:
    return int(pd.Timedelta(delta).total_seconds() // 86400)


def _ts(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


# -- Secrets Manager --------------------------------------------------------------------------
@SECRET_ROTATION.rule
def secret_rotation(secrets: pd.DataFrame, history: pd.DataFrame, as_of: datetime,
                    max_rotation_days: int) -> TestResult:
    """One row per secret existing at ``as_of``; one deviation per secret naming every rule it breaks, rotation
    switched off for a while inside the period among them (with when); intervals its timeline cannot show are
    gaps."""
    tested = Tested(secrets, "secretsmanager-secrets").keep(lambda f: f["created"] < as_of,
                                                            f"created before {as_of:%Y-%m-%d} (existing at the "
                                                            "period end)")
    population = tested.frame.copy()
    last = population["last_rotated"].where(population["last_rotated"] <= as_of)
    population["days_since_rotation"] = [
        _days(pd.Timestamp(as_of) - (rotated if pd.notna(rotated) else created))
        for rotated, created in zip(last, population["created"], strict=True)]
    deviations, labels = [], []
    for row, rotated in zip(population.itertuples(), last, strict=True):
        label = timeline.resource_label(row.account_id, row.region, row.name)
        labels.append(label)
        problems = timeline.problems_over_time(
            [] if row.rotation_enabled else ["automatic rotation is not enabled"],
            timeline.known_intervals(history, label),
            lambda i: [] if i.rotation_enabled else ["automatic rotation is not enabled"])
        if row.rotation_enabled and pd.isna(row.rotation_days):
            problems.append(f"rotation interval cannot be determined from schedule {row.rotation_schedule!r}")
        elif row.rotation_enabled and row.rotation_days > max_rotation_days:
            problems.append(f"rotation interval {row.rotation_days:g} days exceeds {max_rotation_days}")
        if row.days_since_rotation > max_rotation_days:
            since = (f"last rotated {_ts(rotated)}" if pd.notna(rotated)
                     else f"never rotated; created {_ts(row.created)}")
            problems.append(f"{since}, {row.days_since_rotation} days before {as_of:%Y-%m-%d}")
        if problems:
            deviations.append({"resource_type": "secret", "resource_id": f"{row.account_id}:{row.name}",
                               "detail": "; ".join(problems), "region": row.region})
    threshold = {"max_rotation_days": max_rotation_days, "as_of": as_of.isoformat(),
                 "over the period": "rotation enabled at every moment shown"}
    return evaluate(SECRET_ROTATION, tested.annotate(population), deviations, threshold,
                    gaps=timeline.gaps(history, labels))


def _event_secret(event: Any) -> str:
    for column, key in (("request_parameters", "secretId"), ("additional_event_data", "SecretId")):
        text = getattr(event, column, "") or ""
        if text:
            value = json.loads(text).get(key)
            if value:
                return secret_name(str(value))
    return ""


def _rotation_events(events: pd.DataFrame) -> Tested:
    tested = Tested(events, "cloudtrail-events").keep(
        lambda f: (f["event_source"] == SECRETS_SOURCE) & f["event_name"].isin(ROTATION_EVENTS),
        f"Secrets Manager rotation events ({', '.join(ROTATION_EVENTS)})")
    rotation = tested.frame.copy()
    rotation["secret"] = [_event_secret(e) for e in rotation.itertuples()]
    failed = (rotation["event_name"] == "RotationFailed") | (
        (rotation["event_name"] == "RotateSecret") & (rotation["error_code"] != ""))
    rotation["outcome"] = "started"
    rotation.loc[rotation["event_name"] == "RotationSucceeded", "outcome"] = "succeeded"
    rotation.loc[failed, "outcome"] = "failed"
    return tested.annotate(rotation.reset_index(drop=True))


def rotation_events(events: pd.DataFrame) -> pd.DataFrame:
    """Secrets Manager rotation events, one row each, with the secret they concern and their outcome."""
    return _rotation_events(events).frame


@ROTATION_FAILURES.rule
def rotation_failures(events: pd.DataFrame, grace_hours: int) -> TestResult:
    """Population: the rotation events in the period (the trail population covers the period only)."""
    tested = _rotation_events(events)
    rotation = tested.frame
    grace = pd.Timedelta(hours=grace_hours)
    successes = rotation[rotation["outcome"] == "succeeded"]
    deviations = []
    for failure in rotation[rotation["outcome"] == "failed"].itertuples():
        later = successes[(successes["account_id"] == failure.account_id) & (successes["secret"] == failure.secret)
                          & (successes["event_time"] > failure.event_time)]["event_time"]
        if not later.empty and later.min() - failure.event_time <= grace:
            continue
        after = ("no later successful rotation in the period" if later.empty else
                 f"next success {later.min():%Y-%m-%d %H:%M} UTC, "
                 f"{(later.min() - failure.event_time).total_seconds() / 3600:.0f} h later")
        deviations.append({"resource_type": "secret", "resource_id": f"{failure.account_id}:{failure.secret}",
                           "detail": f"rotation failed {failure.event_time:%Y-%m-%d %H:%M} UTC; {after} "
                                     f"(grace {grace_hours} h)", "event_id": failure.event_id})
    notes = ["A failure in the last grace hours of the period whose success falls after the period end is "
             "reported: the period's trail cannot show that success."] if len(rotation) else []
    return evaluate(ROTATION_FAILURES, tested, deviations, {"rotation_failure_grace_hours": grace_hours}, notes)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _allows_read(statement: dict[str, Any]) -> bool:
    actions = [str(a).lower() for a in _as_list(statement.get("Action"))]
    return statement.get("Effect") == "Allow" and any(fnmatch.fnmatchcase(READ_ACTION.lower(), a) for a in actions)


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))


def _statements(document: str | dict[str, Any] | None) -> list[dict[str, Any]]:
    if not document:
        return []
    doc = json.loads(document) if isinstance(document, str) else document
    return _as_list(doc.get("Statement"))


def public_read_statements(policy: str | None) -> list[dict[str, Any]]:
    """Resource-policy statements letting anyone read the secret with no condition to restrict them."""
    return [s for s in _statements(policy)
            if _allows_read(s) and _anyone(s.get("Principal")) and not s.get("Condition")]


def _all_secrets(resource: str) -> bool:
    """``*``, or a secrets ARN pattern ending in ``:secret:*`` (every secret of an account/region)."""
    return resource == "*" or bool(_ALL_SECRETS_ARN.fullmatch(resource))


def reads_every_secret(document: str | None) -> bool:
    """An identity policy statement allowing GetSecretValue on every secret (``Resource: "*"``), unconditioned."""
    return any(_allows_read(s) and not s.get("Condition")
               and any(_all_secrets(str(r)) for r in _as_list(s.get("Resource")))
               for s in _statements(document))


@SECRET_ACCESS_POLICY.rule
def secret_access_policy(secrets: pd.DataFrame, entitlements: pd.DataFrame,
                         secret_reader_principals: list[str]) -> TestResult:
    """Population: every secret's resource policy and every (principal, policy) identity grant."""
    rows, deviations = [], []
    for s in secrets.itertuples():
        open_read = public_read_statements(s.resource_policy)
        rows.append({"account_id": s.account_id, "policy_kind": "secret resource policy", "subject": s.name,
                     "policy": "resource policy" if s.resource_policy else "(none)",
                     "grants_broad_read": bool(open_read)})
        if open_read:
            sids = ", ".join(st.get("Sid", "(no Sid)") for st in open_read)
            deviations.append({"resource_type": "secret", "resource_id": f"{s.account_id}:{s.name}",
                               "detail": f"resource policy lets any principal ('*') call GetSecretValue with no "
                                         f"condition (statement {sids})"})
    approved = set(secret_reader_principals)
    broad: dict[tuple[str, str, str], list[str]] = {}
    for e in entitlements.itertuples():
        grants = reads_every_secret(e.document)
        rows.append({"account_id": e.account_id, "policy_kind": f"IAM {e.principal_type} policy",
                     "subject": e.principal, "policy": f"{e.policy_name} ({e.via})" if e.policy_name else "(none)",
                     "grants_broad_read": grants})
        if grants and e.principal not in approved:
            broad.setdefault((e.account_id, e.principal_type, e.principal), []).append(f"{e.policy_name} ({e.via})")
    for (account, ptype, name), policies in sorted(broad.items()):
        deviations.append({"resource_type": f"iam_{ptype}", "resource_id": f"{account}:{name}",
                           "detail": f"can read every secret (GetSecretValue on Resource '*') through "
                                     f"{'; '.join(policies)}; not an approved secret reader"})
    notes = ["AWS-managed policies are identified by ARN only (their documents are not expanded); full "
             "administrator access is tested by CC6.1-ADMIN."]
    population = Tested(secrets, "secretsmanager-secrets").reshape(
        pd.DataFrame(rows, columns=["account_id", "policy_kind", "subject", "policy", "grants_broad_read"]),
        f"one row per secret's resource policy ({len(secrets)}) and per IAM policy grant of iam-entitlements "
        f"({len(entitlements)})")
    return evaluate(SECRET_ACCESS_POLICY, population, deviations,
                    {"secret_reader_principals": sorted(approved)}, notes)


def _reader(event: Any) -> str:
    """The role (for assumed-role sessions) or user who called: the names ``expected_readers`` uses."""
    if event.identity_type == "AssumedRole" and event.role_name:
        return event.role_name
    return event.principal_name


def _secret_read_events(events: pd.DataFrame) -> Tested:
    tested = Tested(events, "cloudtrail-events").keep(
        lambda f: (f["event_source"] == SECRETS_SOURCE) & (f["event_name"] == "GetSecretValue"),
        "Secrets Manager GetSecretValue calls")
    reads = tested.frame.copy()
    reads["secret"] = [_event_secret(e) for e in reads.itertuples()]
    reads["reader"] = [_reader(e) for e in reads.itertuples()]
    reads["succeeded"] = reads["error_code"] == ""
    return tested.annotate(reads.reset_index(drop=True))


def secret_read_events(events: pd.DataFrame) -> pd.DataFrame:
    return _secret_read_events(events).frame


def reader_counts(reads: pd.DataFrame, expected_readers: dict[str, list[str]]) -> pd.DataFrame:
    """Successful and denied reads per (secret, reader), and whether the reader is expected."""
    columns = ["account_id", "secret", "reader", "identity_type", "reads", "denied", "first_read", "last_read",
               "expected"]
    if reads.empty:
        return pd.DataFrame(columns=columns)
    grouped = reads.groupby(["account_id", "secret", "reader", "identity_type"], sort=True)
    counts = grouped.agg(reads=("succeeded", "sum"), denied=("succeeded", lambda s: int((~s).sum())),
                         first_read=("event_time", "min"), last_read=("event_time", "max")).reset_index()
    counts["reads"] = counts["reads"].astype(int)
    counts["expected"] = [r.reader in expected_readers.get(r.secret, []) for r in counts.itertuples()]
    return counts[columns]


@SECRET_READERS.rule
def secret_readers(events: pd.DataFrame, expected_readers: dict[str, list[str]]) -> TestResult:
    """Population: GetSecretValue events; one deviation per (secret, unexpected reader) with a successful read."""
    tested = _secret_read_events(events)
    counts = reader_counts(tested.frame, expected_readers)
    deviations = [
        {"resource_type": "secret", "resource_id": f"{c.account_id}:{c.secret}:{c.reader}",
         "detail": f"read {c.reads} time{'s' if c.reads != 1 else ''} by {c.identity_type} {c.reader} "
                   f"({c.first_read:%Y-%m-%d}..{c.last_read:%Y-%m-%d}), not an expected reader of {c.secret}",
         "reads": c.reads}
        for c in counts[(~counts["expected"]) & (counts["reads"] > 0)].itertuples()]
    notes = ["Denied calls (an error code) read nothing and are not deviations; they are counted in the table."]
    return evaluate(SECRET_READERS, tested, deviations, {"expected_readers": expected_readers}, notes)


# -- IAM access keys --------------------------------------------------------------------------
def _active_keys(report: pd.DataFrame, as_of: datetime) -> Tested:
    return (Tested(report, "iam-credential-report")
            .keep(lambda f: ~f["is_root"], "IAM users (the root user left out)")
            .reshape(active_keys(report, as_of), f"one row per active access key created before {as_of:%Y-%m-%d}"))


def active_keys(report: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """One row per active access key of an IAM user (root excluded) that existed at ``as_of``."""
    rows = []
    for u in report[~report["is_root"]].itertuples():
        for slot in (1, 2):
            created = getattr(u, f"access_key_{slot}_last_rotated")
            if not getattr(u, f"access_key_{slot}_active") or pd.isna(created) or created >= as_of:
                continue
            used = getattr(u, f"access_key_{slot}_last_used_date")
            # never used: unused since creation; used after as_of: in use at as_of
            unused_since = created if pd.isna(used) else min(used, pd.Timestamp(as_of))
            rows.append({"account_id": u.account_id, "user": u.user, "key": slot, "created": created,
                         "last_used": used, "age_days": _days(pd.Timestamp(as_of) - created),
                         "days_unused": _days(pd.Timestamp(as_of) - unused_since)})
    frame = pd.DataFrame(rows, columns=["account_id", "user", "key", "created", "last_used", "age_days",
                                        "days_unused"])
    for column in ("created", "last_used"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _key_id(row: Any) -> str:
    return f"{row.account_id}:{row.user}/access_key_{row.key}"


@KEY_AGE.rule
def key_age(report: pd.DataFrame, as_of: datetime, max_key_age_days: int) -> TestResult:
    keys = _active_keys(report, as_of)
    deviations = [{"resource_type": "iam_access_key", "resource_id": _key_id(k),
                   "detail": f"created {k.created:%Y-%m-%d}, {k.age_days} days old at {as_of:%Y-%m-%d}"}
                  for k in keys.frame[keys.frame["age_days"] > max_key_age_days].itertuples()]
    return evaluate(KEY_AGE, keys, deviations, {"max_key_age_days": max_key_age_days, "as_of": as_of.isoformat()},
                    [ROOT_KEYS_NOTE])


@KEY_UNUSED.rule
def key_unused(report: pd.DataFrame, as_of: datetime, max_unused_key_days: int) -> TestResult:
    keys = _active_keys(report, as_of)
    deviations = [{"resource_type": "iam_access_key", "resource_id": _key_id(k),
                   "detail": (f"last used {k.last_used:%Y-%m-%d}" if pd.notna(k.last_used)
                              else f"never used; created {k.created:%Y-%m-%d}")
                   + f", {k.days_unused} days unused at {as_of:%Y-%m-%d}"}
                  for k in keys.frame[keys.frame["days_unused"] > max_unused_key_days].itertuples()]
    notes = [ROOT_KEYS_NOTE, "The credential report keeps only a key's latest use: a key last used after the "
             "period end counts as in use at the period end."]
    return evaluate(KEY_UNUSED, keys, deviations,
                    {"max_unused_key_days": max_unused_key_days, "as_of": as_of.isoformat()}, notes)


@KEY_COUNT.rule
def key_count(report: pd.DataFrame, as_of: datetime) -> TestResult:
    """Population: IAM users existing at ``as_of`` (root excluded), with their number of active keys."""
    tested = (Tested(report, "iam-credential-report")
              .keep(lambda f: ~f["is_root"], "IAM users (the root user left out)")
              .keep(lambda f: f["user_creation_time"] < as_of, f"created before {as_of:%Y-%m-%d}"))
    users = tested.frame
    keys = active_keys(report, as_of)
    counts = keys.groupby(["account_id", "user"]).size()
    population = users[["account_id", "user"]].copy()
    population["active_keys"] = [int(counts.get((a, u), 0)) for a, u in zip(users["account_id"], users["user"],
                                                                            strict=True)]
    deviations = [{"resource_type": "iam_user", "resource_id": f"{u.account_id}:{u.user}",
                   "detail": f"{u.active_keys} active access keys"}
                  for u in population[population["active_keys"] > 1].itertuples()]
    return evaluate(KEY_COUNT, tested.annotate(population), deviations,
                    {"max_active_keys": 1}, [ROOT_KEYS_NOTE])


# -- KMS ---------------------------------------------------------------------------------------
def kms_key_name(row: Any) -> str:
    aliases = [a for a in str(row.aliases or "").split(";") if a]
    return aliases[0] if aliases else row.key_id


ROTATION_EXEMPT_STATES = {"PendingDeletion", "PendingReplicaDeletion", "PendingImport", "Unavailable"}


def rotation_eligible(key_spec: str, key_usage: str, key_state: str) -> bool:
    """A key that must rotate automatically: symmetric encryption, not on its way out or not yet usable.

    Asymmetric and HMAC keys cannot rotate automatically (AWS's rule); a key pending deletion or
    import has nothing to rotate.
    """
    return (key_spec == "SYMMETRIC_DEFAULT" and key_usage == "ENCRYPT_DECRYPT"
            and key_state not in ROTATION_EXEMPT_STATES)


@KMS_ROTATION.rule
def kms_rotation(keys: pd.DataFrame, history: pd.DataFrame) -> TestResult:
    """Population: customer-managed symmetric encryption keys not pending deletion or import. A key whose rotation
    was off for any known interval of the period deviates (with the interval); an unknown one is a gap."""
    eligible = Tested(keys, "kms-keys").keep(
        lambda f: [rotation_eligible(s, u, st) for s, u, st in zip(f["key_spec"], f["key_usage"], f["key_state"],
                                                                   strict=True)],
        "symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) not pending deletion or import")
    deviations, labels = [], []
    for k in eligible.frame.itertuples():
        label = timeline.resource_label(k.account_id, k.region, k.key_id)
        labels.append(label)
        now = [] if k.rotation_enabled is True else \
            ["automatic rotation disabled" if k.rotation_enabled is False else "rotation status not reported"]
        problems = timeline.problems_over_time(now, timeline.known_intervals(history, label),
                                               lambda i: [] if i.rotation_enabled else ["automatic rotation disabled"])
        if problems:
            deviations.append({"resource_type": "kms_key", "resource_id": f"{k.account_id}:{kms_key_name(k)}",
                               "detail": f"{'; '.join(problems)} (key {k.key_id}, {k.region}, state {k.key_state})"})
    notes = [f"{len(keys) - len(eligible)} customer-managed keys are asymmetric, HMAC or pending deletion: "
             "automatic rotation does not apply to them."] if len(keys) > len(eligible) else []
    return evaluate(KMS_ROTATION, eligible, deviations, {"rotation_required": True,
                                                         "over the period": "rotation on at every moment"},
                    notes, gaps=timeline.gaps(history, labels))


# -- GitHub secret scanning ----------------------------------------------------------------------
@LEAKED_SECRETS.rule
def leaked_secrets(alerts: pd.DataFrame, period_start: datetime, period_end: datetime,
                   leaked_secret_max_days: int) -> TestResult:
    """Population: alerts open at some time in the period (created before its end, not resolved before its start)."""
    tested = Tested(alerts, "github-secret-scanning-alerts").keep(
        lambda f: (f["created_at"] < period_end) & (f["resolved_at"].isna() | (f["resolved_at"] >= period_start)),
        "open at some time in the period (created before its end, not resolved before its start)")
    open_in_period = tested.frame.copy()
    end = pd.Timestamp(period_end)
    resolved_by_end = open_in_period["resolved_at"].where(open_in_period["resolved_at"] < end)
    ages = [((r if pd.notna(r) else end) - c).total_seconds() / 86400
            for c, r in zip(open_in_period["created_at"], resolved_by_end, strict=True)]
    open_in_period["age_days"] = [round(a, 1) for a in ages]
    open_in_period["open_at_period_end"] = resolved_by_end.isna()
    deviations = []
    for a, age in zip(open_in_period.itertuples(), ages, strict=True):
        rid = f"{a.org}/{a.repo}/secret-scanning/{a.number}"
        if a.open_at_period_end:
            detail = f"{a.secret_type} alert open at period end, {a.age_days:g} days after detection"
        elif age > leaked_secret_max_days:
            detail = f"{a.secret_type} alert resolved ({a.resolution}) after {a.age_days:g} days"
        else:
            continue
        deviations.append({"resource_type": "secret_scanning_alert", "resource_id": rid,
                           "detail": f"{detail} (limit {leaked_secret_max_days} days)"})
    return evaluate(LEAKED_SECRETS, tested.annotate(open_in_period), deviations,
                    {"leaked_secret_max_days": leaked_secret_max_days})
