"""CC7.1-LOG-INTEGRITY on small frames: the derivation's statuses row by row, and the rule's deviations and words.

The delivered log files arrive as ``cloudtrail-log-files``, which the streaming events collector adds to the
catalog; until it is there its frames are built here in its column contract.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.controls import cc71
from auditbook.results import Status

# cloudtrail-log-files, as the events collector declares it (content_sha256: hex SHA-256 of the uncompressed file)
LOG_FILE_COLUMNS = {"account_id": "str", "region": "str", "day": "str", "bucket": "str", "key": "str", "size": "int",
                    "etag": "str", "last_modified": "time", "sha256": "str", "content_sha256": "str",
                    "records": "int", "kept": "int"}
START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 4, tzinfo=UTC)
ACCT, REGION = "111111111111", "us-east-1"


def key(day: int, hour: int, region: str = REGION) -> str:
    return (f"AWSLogs/{ACCT}/CloudTrail/{region}/2026/07/{day:02d}/{ACCT}_CloudTrail_{region}_202607{day:02d}T"
            f"{hour:02d}05Z_x{day}{hour}.json.gz")


def digest_key(day: int, hour: int, region: str = REGION) -> str:
    return (f"AWSLogs/{ACCT}/CloudTrail-Digest/{region}/2026/07/{day:02d}/{ACCT}_CloudTrail-Digest_{region}_t_"
            f"us-east-1_202607{day:02d}T{hour:02d}0000Z.json.gz")


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def delivered(*files: tuple[str, str, str], region: str = REGION) -> pd.DataFrame:
    """(key, content sha256, delivered at) → a cloudtrail-log-files frame."""
    rows = [{"account_id": ACCT, "region": region, "day": k.split("/")[-2], "bucket": "logs", "key": k, "size": 10,
             "etag": "e", "last_modified": pd.Timestamp(at, tz="UTC"), "sha256": "gz", "content_sha256": h,
             "records": 1, "kept": 1} for k, h, at in files]
    frame = pd.DataFrame(rows, columns=list(LOG_FILE_COLUMNS))
    frame["last_modified"] = pd.to_datetime(frame["last_modified"], utc=True)
    return frame


def digests(*rows: dict) -> pd.DataFrame:
    base = {"account_id": ACCT, "region": REGION, "public_key_fingerprint": "fp", "signature_valid": True,
            "chain_ok": True, "log_files": 1, "problem": ""}
    return catalog.from_rows("cloudtrail-digests", [{**base, **r} for r in rows])


def digest(day: int, hour: int, **overrides) -> dict:
    end = pd.Timestamp(datetime(2026, 7, day, hour, tzinfo=UTC))
    return {"digest_key": digest_key(day, hour), "digest_start": end - pd.Timedelta(hours=1), "digest_end": end,
            **overrides}


def listed(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """(digest key, log file key, sha256) → a cloudtrail-digest-log-files frame."""
    return catalog.from_rows("cloudtrail-digest-log-files", [
        {"account_id": ACCT, "region": REGION, "digest_key": d, "key": k, "content_sha256": h} for d, k, h in rows])


def integrity(files: pd.DataFrame, digest_rows: pd.DataFrame, listing: pd.DataFrame) -> pd.DataFrame:
    return cc71.log_integrity(files, digest_rows, listing, START, END)


def statuses(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["key"], frame["status"], strict=True))


def test_every_file_in_a_valid_digest_with_its_hash_passes():
    a, b = key(1, 10), key(1, 11)
    frame = integrity(delivered((a, sha(a), "2026-07-01T10:06Z"), (b, sha(b), "2026-07-01T11:06Z")),
                      digests(digest(1, 11), digest(1, 12)),
                      listed((digest_key(1, 11), a, sha(a)), (digest_key(1, 12), b, sha(b).upper())))
    assert statuses(frame) == {a: "valid", b: "valid"}
    assert list(frame["digest_key"]) == [digest_key(1, 11), digest_key(1, 12)]
    catalog.conform("cloudtrail-log-integrity", frame)
    result = cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame))
    assert result.status is Status.PASS and result.population_size == 2
    assert result.notes[0] == "2 log files validated, 0 modified, 0 missing, digest chain unbroken."


def test_modified_missing_and_undigested_files_are_each_a_deviation():
    good, changed, gone, extra = key(1, 10), key(1, 11), key(2, 9), key(2, 15)
    files = delivered((good, sha(good), "2026-07-01T10:06Z"), (changed, sha("tampered"), "2026-07-01T11:06Z"),
                      (extra, sha(extra), "2026-07-02T15:06Z"))
    frame = integrity(files, digests(digest(1, 11), digest(1, 12), digest(2, 10), digest(3, 9)),
                      listed((digest_key(1, 11), good, sha(good)), (digest_key(1, 12), changed, sha(changed)),
                             (digest_key(2, 10), gone, sha(gone))))
    assert statuses(frame) == {good: "valid", changed: "modified", gone: "missing", extra: "not in a digest"}
    row = frame.set_index("key").loc[changed]
    assert (row["listed_sha256"], row["content_sha256"]) == (sha(changed), sha("tampered"))
    assert "changed after delivery" in row["detail"]
    assert pd.isna(frame.set_index("key").loc[gone, "delivered_at"])
    assert "validation was off, or the digest that listed it is missing" in frame.set_index("key").loc[extra, "detail"]
    result = cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame))
    assert result.status is Status.FAIL
    assert sorted(result.deviations["resource_id"]) == sorted(f"{ACCT}:{k}" for k in (changed, gone, extra))
    assert set(result.deviations["resource_type"]) == {"cloudtrail_log_file"}
    assert result.notes[0] == ("1 log files validated, 1 modified, 1 missing, digest chain unbroken; 1 log files in no "
                               "digest.")


def test_bad_digests_are_rows_and_vouch_for_nothing():
    a, b, c = key(1, 10), key(1, 11), key(1, 12)
    files = delivered((a, sha(a), "2026-07-01T10:06Z"), (b, sha(b), "2026-07-01T11:06Z"),
                      (c, sha(c), "2026-07-01T12:06Z"))
    ghost = key(1, 13)
    frame = integrity(files, digests(
        digest(1, 11),
        digest(1, 12, signature_valid=False, problem="signature does not verify"),
        digest(1, 13, chain_ok=False, problem="previous digest X is missing: the chain is broken")),
        listed((digest_key(1, 11), a, sha(a)), (digest_key(1, 12), b, sha(b)),
               (digest_key(1, 12), ghost, sha(ghost)), (digest_key(1, 13), c, sha(c))))
    by_key = frame.set_index("key")
    assert by_key.loc[a, "status"] == "valid" and by_key.loc[c, "status"] == "valid"  # a broken link is not a forgery
    assert by_key.loc[b, "status"] == "not in a digest" and "whose signature is invalid" in by_key.loc[b, "detail"]
    assert ghost not in by_key.index  # an unverified digest's word that a file existed is not evidence
    assert by_key.loc[digest_key(1, 12), "status"] == "signature invalid"
    assert by_key.loc[digest_key(1, 13), "status"] == "chain broken"
    assert by_key.loc[digest_key(1, 13), "detail"].startswith("previous digest X is missing")
    result = cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame))
    assert sorted(result.deviations["resource_id"]) == sorted(
        f"{ACCT}:{k}" for k in (b, digest_key(1, 12), digest_key(1, 13)))
    kinds = dict(zip(result.deviations["resource_id"], result.deviations["resource_type"], strict=True))
    assert kinds[f"{ACCT}:{digest_key(1, 12)}"] == "cloudtrail_digest"
    assert result.notes[0] == ("2 log files validated, 0 modified, 0 missing, digest chain broken; 1 digests do not "
                               "chain to the digest before them; 1 digests with an invalid signature; 1 log files in "
                               "no digest.")


def test_a_digest_both_forged_and_unchained_says_both():
    frame = integrity(delivered(), digests(digest(1, 11, signature_valid=False, chain_ok=False, problem="p")), listed())
    assert list(frame["status"]) == ["signature invalid, chain broken"]
    assert cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame)).notes[0].endswith(
        "digest chain broken; 1 digests do not chain to the digest before them; 1 digests with an invalid signature.")


def test_files_awaiting_their_digest_at_collection_are_not_deviations():
    """A file delivered after the newest digest, within two digest intervals of it, has no digest yet because none
    was due; one delivered later than that is a deviation (its digest should exist)."""
    a, pending, late = key(1, 10), key(3, 21), key(3, 22)
    files = delivered((a, sha(a), "2026-07-01T10:06Z"), (pending, sha(pending), "2026-07-03T21:55Z"),
                      (late, sha(late), "2026-07-03T22:05Z"))
    frame = integrity(files, digests(digest(1, 11), digest(3, 20)), listed((digest_key(1, 11), a, sha(a))))
    by_key = frame.set_index("key")
    assert bool(by_key.loc[pending, "awaiting_digest"]) and "not yet due" in by_key.loc[pending, "detail"]
    assert not by_key.loc[late, "awaiting_digest"] and "after the newest digest" in by_key.loc[late, "detail"]
    result = cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame))
    assert list(result.deviations["resource_id"]) == [f"{ACCT}:{late}"]
    assert result.population_size == 2 and [s.rows for s in result.steps] == [3, 2]
    assert any("awaiting their digest" in note for note in result.notes)


def test_no_digest_at_all_fails_saying_validation_is_off():
    a, b = key(1, 10), key(2, 10)
    frame = integrity(delivered((a, sha(a), "2026-07-01T10:06Z"), (b, sha(b), "2026-07-02T10:06Z")),
                      catalog.empty("cloudtrail-digests"), catalog.empty("cloudtrail-digest-log-files"))
    assert set(frame["status"]) == {"not in a digest"}
    assert all("log file validation was off" in d for d in frame["detail"])
    result = cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame))
    assert result.status is Status.FAIL and result.deviation_count == 2
    assert any(note.startswith(f"Log file validation was off in {ACCT}:{REGION}") for note in result.notes)


def test_the_period_s_days_and_the_next_are_checked_and_no_other():
    """The digest at the period's start edge also lists the previous day's last files: not this period's. The day
    after the period is checked (its first files hold the period's last minutes: cloudtrail-log-files reads it)."""
    before, inside = key(1, 0).replace("/07/01/", "/06/30/"), key(1, 0)
    next_day, later = key(4, 0), key(5, 0)
    frame = integrity(delivered((inside, sha(inside), "2026-07-01T00:06Z"), (later, sha(later), "2026-07-05T00:06Z")),
                      digests(digest(1, 1), digest(4, 1)),
                      listed((digest_key(1, 1), before, sha(before)), (digest_key(1, 1), inside, sha(inside)),
                             (digest_key(4, 1), next_day, sha(next_day))))
    assert statuses(frame) == {inside: "valid", next_day: "missing"}


def test_regions_and_accounts_are_kept_apart():
    a = key(1, 10, "eu-west-1")
    frame = integrity(delivered((a, sha(a), "2026-07-01T10:06Z"), region="eu-west-1"),
                      digests(digest(1, 11)), listed())  # a us-east-1 digest says nothing about eu-west-1
    assert "no digest file for eu-west-1 covers the period" in frame.loc[0, "detail"]


@pytest.mark.parametrize("rows", [0, 1], ids=["empty", "one-row-of-empty-values"])
def test_the_derivation_and_rule_are_total(rows):
    files = pd.DataFrame([{c: "" for c in LOG_FILE_COLUMNS}] * rows, columns=list(LOG_FILE_COLUMNS))
    files["last_modified"] = pd.to_datetime(files["last_modified"], utc=True)
    frame = cc71.log_integrity(files, catalog.from_rows("cloudtrail-digests", [{}] * rows),
                               catalog.from_rows("cloudtrail-digest-log-files", [{}] * rows), START, END)
    result = cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame))
    assert result.status in (Status.PASS, Status.FAIL)
    if rows == 0:
        assert result.status is Status.PASS and result.notes[0].startswith("No resources in scope")


def test_a_modified_or_missing_file_puts_every_event_test_in_doubt_an_undigested_one_does_not():
    inside, other = key(1, 0), key(1, 1)
    clean = integrity(delivered((inside, sha(inside), "2026-07-01T00:06Z")), digests(digest(1, 1)),
                      listed((digest_key(1, 1), inside, sha(inside))))
    assert cc71.trail_doubt(clean) == "" and cc71.trail_doubt(clean.iloc[0:0]) == ""
    tampered = integrity(delivered((inside, sha("changed"), "2026-07-01T00:06Z")), digests(digest(1, 1)),
                         listed((digest_key(1, 1), inside, sha(inside)), (digest_key(1, 1), other, sha(other))))
    doubt = cc71.trail_doubt(tampered)
    assert doubt.startswith("the trail's log files are not as CloudTrail wrote them (1 modified, 1 missing")
    assert inside in doubt and other in doubt
    undigested = integrity(delivered((inside, sha(inside), "2026-07-01T00:06Z")), digests(), listed())
    assert set(undigested["status"]) == {cc71.UNDIGESTED} and cc71.trail_doubt(undigested) == ""


def athena_files(*files: tuple[str, str]) -> pd.DataFrame:
    """(key, day) → cloudtrail-log-files as the Athena engine lists them: from "$path", nothing hashed."""
    frame = delivered(*((k, "", None) for k, _ in files))
    frame["size"], frame["etag"], frame["sha256"] = None, "", ""
    return frame


def test_under_athena_a_listed_file_is_not_verified_and_the_test_cannot_conclude():
    """Athena read the files in place: auditbook has no hash to compare, so a file a valid digest lists is neither
    valid nor modified; a file the digests list that Athena did not see is still missing, a bad digest still bad."""
    a, gone, extra = key(1, 10), key(1, 11), key(2, 9)
    frame = cc71.log_integrity(athena_files((a, "01"), (extra, "02")), digests(digest(1, 11), digest(1, 12)),
                               listed((digest_key(1, 11), a, sha(a)), (digest_key(1, 12), gone, sha(gone))),
                               START, END, engine="athena")
    assert statuses(frame) == {a: cc71.UNVERIFIED, gone: "missing", extra: "not in a digest"}
    assert "read in place by Athena" in frame.set_index("key").loc[a, "detail"]
    with pytest.raises(ValueError, match=r"1 log files were read in place by Athena and never hashed.*1 missing"):
        cc71.log_files_intact(catalog.conform("cloudtrail-log-integrity", frame))
    assert cc71.trail_doubt(frame).startswith("the trail's log files are not as CloudTrail wrote them (0 modified, "
                                              "1 missing")


def test_under_athena_unverified_files_alone_put_no_event_test_in_doubt():
    """Like a file in no digest, a file not hashed proves no change: the tests on events stand (the integrity test
    is ERROR and says why)."""
    a = key(1, 10)
    frame = cc71.log_integrity(athena_files((a, "01")), digests(digest(1, 11)), listed((digest_key(1, 11), a, sha(a))),
                               START, END, engine="athena")
    assert list(frame["status"]) == [cc71.UNVERIFIED] and cc71.trail_doubt(frame) == ""


def test_the_local_engine_never_reports_a_file_unverified():
    """An empty content hash under the local engine is a file that does not hash as recorded (fail closed)."""
    a = key(1, 10)
    frame = integrity(delivered((a, "", "2026-07-01T10:06Z")), digests(digest(1, 11)),
                      listed((digest_key(1, 11), a, sha(a))))
    assert statuses(frame) == {a: "modified"}


def test_under_cloudtrail_lake_there_are_no_files_to_check():
    with pytest.raises(ValueError, match="engine cloudtrail-lake reads the events from the event data store"):
        cc71.log_integrity(catalog.empty("cloudtrail-log-files"), digests(digest(1, 11)), listed(), START, END,
                           engine="cloudtrail-lake")
