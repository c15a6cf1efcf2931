"""CC6.1 people rules: roster joins, leavers, orphans, the access review round trip, and bad files."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from auditbook.catalog import population as held
from auditbook.controls import cc61
from auditbook.provenance import CollectionError
from auditbook.sources import files

START, END = pd.Timestamp("2026-07-01", tz="UTC"), pd.Timestamp("2026-10-01", tz="UTC")
ROSTER = """person_id,name,email,github_login,aws_user_names,start_date,termination_date,manager
P1,Ann Lee,ann@x.example,ann-gh,ann,2024-01-01,,
P2,Bob Roy,bob@x.example,bob-gh,bob,2024-01-01,2026-08-14,P1
P3,Cy Dee,cy@x.example,,cy,2024-01-01,2026-09-11,P1
P4,Di Old,di@x.example,,,2019-01-01,2019-12-31,P1
"""



def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def ts(text):
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def report(*users):
    return pd.DataFrame([{"account_id": "1", "user": u, "is_root": u == "<root_account>",
                          "user_creation_time": ts("2025-01-01"),
                          "password_enabled": True, "password_last_used": ts("2026-09-20"), "mfa_active": True,
                          "access_key_1_active": False,
                          "access_key_2_active": False, "access_key_1_last_used_date": pd.NaT,
                          "access_key_2_last_used_date": pd.NaT} for u in users])


ENT = pd.DataFrame(columns=["account_id", "principal_type", "principal", "principal_arn", "via", "policy_type",
                            "policy_name", "policy_arn", "document"])
IC = pd.DataFrame([{"account_id": "1", "identity_store_id": "d", "user_id": "u1", "user_name": "ann",
                    "email": "ann@x.example", "display_name": "Ann Lee", "via": "group:Platform",
                    "permission_set": "AdministratorAccess", "permission_set_arn": "arn", "target_account": "1"}])
MEMBERS = pd.DataFrame([{"org": "o", "login": "ann-gh", "role": "admin", "two_factor_disabled": False,
                         "is_outside_collaborator": False},
                        {"org": "o", "login": "bob-gh", "role": "member", "two_factor_disabled": True,
                         "is_outside_collaborator": False},
                        {"org": "o", "login": "stranger", "role": "member", "two_factor_disabled": False,
                         "is_outside_collaborator": False},
                        {"org": "o", "login": "deploy-bot", "role": "member", "two_factor_disabled": False,
                         "is_outside_collaborator": False}])


def worksheet(tmp_path, raw, users=("ann", "bob", "ghost")):
    roster = held("hr-roster", files.load_roster(write(tmp_path, "roster.csv", ROSTER), raw)).frame
    return roster, cc61.review_worksheet(roster, report(*users), ENT, IC, MEMBERS, service_accounts=["deploy-bot"])


def test_worksheet_joins_every_account_to_a_person(tmp_path, raw):
    _, sheet = worksheet(tmp_path, raw)
    lines = dict(zip(sheet["line"], sheet["person_id"], strict=True))
    assert lines == {"aws-iam:1:ann": "P1", "aws-iam:1:bob": "P2", "aws-iam:1:ghost": "",
                     "identity-center:1:ann": "P1", "github:o:ann-gh": "P1", "github:o:bob-gh": "P2",
                     "github:o:stranger": ""}
    r = cc61.accounts_match_roster(sheet)
    assert sorted(r.deviations["resource_id"]) == ["aws-iam:1:ghost", "github:o:stranger"]
    assert sheet.set_index("line").loc["github:o:bob-gh", "leaver"]


def test_leavers_timed_from_the_trail_and_absence_elsewhere(tmp_path, raw):
    roster, sheet = worksheet(tmp_path, raw, users=("ann", "bob"))
    events = pd.DataFrame([
        {"account_id": "1", "event_name": "DeleteLoginProfile", "error_code": "", "event_time": ts("2026-09-14T09:00"),
         "request_parameters": json.dumps({"userName": "cy"})},  # Fri 11th -> Mon 14th: within 1 business day
    ])
    accounts = cc61.leaver_accounts(roster, sheet, events, START, END, 1)
    assert sorted(zip(accounts["system"], accounts["identity"], strict=True)) == [
        ("aws-iam", "bob"), ("aws-iam", "cy"), ("github", "bob-gh")]
    r = cc61.leavers_removed_in_time(accounts, default_accounts={"aws-iam": "1", "github": "o"}, business_days=1)
    assert sorted(r.deviations["resource_id"]) == ["aws-iam:1:bob", "github:o:bob-gh"]


def test_a_leaver_is_looked_up_in_every_account_and_org(tmp_path, raw):
    """The same IAM user name in two accounts and the same login in two orgs are separate accounts."""
    roster = held("hr-roster", files.load_roster(write(tmp_path, "r.csv", ROSTER), raw)).frame
    two_accounts = pd.concat([report("ann", "bob"), report("bob").assign(account_id="2")], ignore_index=True)
    two_orgs = pd.concat([MEMBERS, MEMBERS[MEMBERS["login"] == "bob-gh"].assign(org="p")], ignore_index=True)
    sheet = cc61.review_worksheet(roster, two_accounts, ENT, IC, two_orgs, service_accounts=["deploy-bot"])
    events = pd.DataFrame([
        {"account_id": "2", "event_name": "DeleteUser", "error_code": "", "event_time": ts("2026-09-30T09:00"),
         "request_parameters": json.dumps({"userName": "cy"})},
    ])
    accounts = cc61.leaver_accounts(roster, sheet, events, START, END, 1)
    assert sorted(zip(accounts["system"], accounts["account"], accounts["identity"], strict=True)) == [
        ("aws-iam", "1", "bob"), ("aws-iam", "2", "bob"), ("aws-iam", "2", "cy"),
        ("github", "o", "bob-gh"), ("github", "p", "bob-gh")]
    r = cc61.leavers_removed_in_time(accounts, default_accounts={"aws-iam": "1", "github": "o+p"}, business_days=1)
    assert sorted(r.deviations["resource_id"]) == [
        "aws-iam:1:bob", "aws-iam:2:bob", "aws-iam:2:cy", "github:o:bob-gh", "github:p:bob-gh"]


def test_removal_deadline_skips_the_weekend():
    assert cc61.removal_deadline(ts("2026-08-14"), 1) == ts("2026-08-18")  # Friday -> end of Monday
    assert cc61.removal_deadline(ts("2026-08-12"), 1) == ts("2026-08-14")  # Wednesday -> end of Thursday
    assert cc61.removal_deadline(ts("2026-08-14"), 0) == ts("2026-08-15")


def test_a_removal_the_day_after_a_public_holiday_is_on_time_with_the_organizations_calendar():
    from datetime import date

    from auditbook.business_days import BusinessCalendar, CalendarError
    from auditbook.params import ParamsError, validate

    us = BusinessCalendar.from_params({"country": "US"})
    assert date(2026, 9, 7) in us.holidays(2026, 2026)  # Labor Day, a Monday
    friday = ts("2026-09-04")
    assert cc61.removal_deadline(friday, 1) == ts("2026-09-08")  # no calendar: end of Monday
    assert cc61.removal_deadline(friday, 1, us.holidays(2026, 2026)) == ts("2026-09-09")  # end of Tuesday
    assert cc61.removal_deadline(ts("2026-09-05"), 0, us.holidays(2026, 2026)) == ts("2026-09-09")  # a Saturday
    company = BusinessCalendar.from_params({"dates": ["2026-12-24"]})
    assert cc61.removal_deadline(ts("2026-12-23"), 1, company.holidays(2026, 2026)) == ts("2026-12-26")
    assert us.describe().startswith("Monday to Friday, less the public holidays of US (holidays ")
    assert BusinessCalendar.from_params({"country": "DE", "subdivision": "BY", "dates": ["2026-12-24"]}).describe() \
        .endswith("and 1 holiday(s) named in params")
    assert BusinessCalendar.from_params(None).describe() == "Monday to Friday (no holidays: params name no calendar)"
    with pytest.raises(CalendarError, match="Country XX not available"):
        BusinessCalendar.from_params({"country": "XX"})
    base = {"organization": "o", "scope": {"aws": {"accounts": [{"id": "123456789012"}], "regions": ["us-east-1"]}}}
    with pytest.raises(ParamsError, match="business_calendar: Entity `US` does not have subdivision ZZ"):
        validate({**base, "business_calendar": {"country": "US", "subdivision": "ZZ"}})
    with pytest.raises(ParamsError, match="business_calendar"):
        validate({**base, "business_calendar": {"dates": ["4 July"]}})


def test_a_leaver_removed_the_day_after_labor_day_is_on_time(raw):
    from auditbook.catalog import empty, from_rows

    roster = from_rows("hr-roster", [{"person_id": "P1", "name": "Lena", "aws_user_names": "lena",
                                      "termination_date": ts("2026-09-04")}])
    events = from_rows("cloudtrail-events", [{
        "account_id": "1", "event_time": ts("2026-09-08") + pd.Timedelta(hours=10), "event_id": "e1",
        "event_source": "iam.amazonaws.com", "event_name": "DeleteUser", "read_only": False,
        "event_type": "AwsApiCall", "aws_region": "us-east-1", "error_code": "",
        "request_parameters": json.dumps({"userName": "lena"})}])
    sheet = empty("access-review-worksheet")
    from auditbook.business_days import BusinessCalendar

    holidays = BusinessCalendar.from_params({"country": "US"}).holidays(2026, 2026)
    accounts = cc61.leaver_accounts(roster, sheet, events, ts("2026-07-01"), ts("2026-10-01"), 1, holidays)
    assert cc61.leavers_removed_in_time(accounts, default_accounts={"aws-iam": "1"}, business_days=1).deviations.empty
    without = cc61.leaver_accounts(roster, sheet, events, ts("2026-07-01"), ts("2026-10-01"), 1)
    late = cc61.leavers_removed_in_time(without, default_accounts={"aws-iam": "1"}, business_days=1)
    assert len(late.deviations) == 1


def test_access_review_round_trip(tmp_path, raw):
    """Worksheet out, reviewers' decisions back in, tested: undecided, self-review, removal not done."""
    from auditbook.demo.people import review_decisions

    _, sheet = worksheet(tmp_path, raw)
    lines = [dict(r, person_id=r["person_id"]) for r in sheet[["system", "account", "identity", "person_id"]]
             .to_dict("records") if r["identity"] != "ghost"]
    answers = review_decisions(lines)
    for a in answers:
        if a["identity"] == "bob":
            a["decision"] = "remove"
        if a["identity"] == "ann-gh":
            a["reviewer"] = "P1"
    path = tmp_path / "decisions.csv"
    with open(path, "w", newline="") as fh:
        out = csv.DictWriter(fh, list(answers[0]))
        out.writeheader()
        out.writerows(answers)
    decisions = held("access-review-decisions", files.load_review_decisions(path, raw)).frame
    assert [d["resource_id"] for d in cc61.review_complete(sheet, decisions).deviations.to_dict("records")] == [
        "aws-iam:1:ghost"]
    assert list(cc61.review_independent(decisions, sheet).deviations["resource_id"]) == ["github:o:ann-gh"]
    assert list(cc61.review_removals_done(decisions, sheet).deviations["resource_id"]) == ["aws-iam:1:bob"]


def test_github_two_factor_org_setting_and_members():
    settings = pd.DataFrame([{"org": "o", "two_factor_requirement_enabled": False}])
    r = cc61.github_two_factor(MEMBERS, settings)
    assert sorted(r.deviations["resource_id"]) == ["github:o", "github:o:bob-gh"]


@pytest.mark.parametrize(("text", "encoding", "message"), [
    (ROSTER.replace("manager", "boss"), "utf-8", "lacks column(s) manager"),
    (ROSTER.replace("2026-08-14", "14/08/26x"), "utf-8", "row 3: termination_date '14/08/26x' is not a date"),
    (ROSTER.replace("P3,", "P2,"), "utf-8", "row 4: duplicate person_id P2"),
    (ROSTER.replace("Ann Lee", "Ann Lé"), "latin-1", "is not UTF-8"),
])
def test_bad_roster_files_are_refused_naming_file_and_row(tmp_path, raw, text, encoding, message):
    path = write(tmp_path, "roster.csv", text, encoding)
    with pytest.raises(CollectionError) as err:
        held("hr-roster", files.load_roster(path, raw))
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_decisions_must_be_keep_or_remove(tmp_path, raw):
    path = write(tmp_path, "d.csv", "system,account,identity,decision,reviewer,reviewed_at\n"
                                    "github,o,ann-gh,maybe,P2,2026-09-10\n")
    with pytest.raises(CollectionError, match="row 2: decision 'maybe'"):
        held("access-review-decisions", files.load_review_decisions(path, raw))


def test_missing_file_setting_is_a_collection_error(raw):
    with pytest.raises(CollectionError, match="set criteria.CC6.1.hr_roster"):
        held("hr-roster", files.load_roster(None, raw))


def test_changes_since_the_previous_review(tmp_path, raw):
    _, sheet = worksheet(tmp_path, raw)
    previous = sheet[sheet["identity"] != "ghost"].copy()
    previous.loc[previous["identity"] == "ann-gh", "admin"] = False
    previous = pd.concat([previous, pd.DataFrame([{"line": "aws-iam:1:gone", "person": "Gone", "privileges": "x",
                                                   "admin": False}])])
    changes = cc61.changes_since(previous.astype(str), sheet)
    assert sorted(zip(changes["change"], changes["line"], strict=True)) == [
        ("account removed", "aws-iam:1:gone"), ("became admin", "github:o:ann-gh"), ("new account", "aws-iam:1:ghost")]


def test_a_review_that_keeps_what_should_go_or_is_made_by_someone_who_may_not_review_is_a_deviation():
    from auditbook.catalog import from_rows

    roster = from_rows("hr-roster", [
        {"person_id": "P1", "name": "Ann", "start_date": ts("2020-01-01"), "manager": "P2"},
        {"person_id": "P2", "name": "Bob", "start_date": ts("2020-01-01"), "termination_date": ts("2026-09-01")},
        {"person_id": "P3", "name": "Cy", "start_date": ts("2020-01-01"), "termination_date": ts("2026-09-10")},
        {"person_id": "P4", "name": "Di", "start_date": ts("2026-10-01")}])
    sheet = from_rows("access-review-worksheet", [
        {"line": f"aws-iam:1:{who}", "system": "aws-iam", "account": "1", "identity": who, "person_id": pid,
         "orphaned": pid == "", "dormant": who == "sleepy"}
        for who, pid in [("ann", "P1"), ("bob", "P2"), ("cy", "P3"), ("ghost", ""), ("sleepy", "P1"), ("root", "P1"),
                         ("gone", "P2")]])
    entitlements = from_rows("iam-entitlements", [
        {"account_id": "1", "principal_type": "user", "principal": "root", "via": "direct",
         "policy_type": "aws_managed", "policy_name": "AdministratorAccess",
         "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"account_id": "1", "principal_type": "user", "principal": "ann", "via": "group:Admins",
         "policy_type": "aws_managed", "policy_name": "AdministratorAccess",
         "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}])

    def decide(identity, decision="keep", reviewer="P1", at="2026-09-10"):
        return {"system": "aws-iam", "account": "1", "identity": identity, "decision": decision, "reviewer": reviewer,
                "reviewed_at": ts(at)}
    decisions = from_rows("access-review-decisions", [
        decide("ann", reviewer="P3"),          # fine: Cy still employed on her last day
        decide("bob"),                         # kept after its owner's termination
        decide("cy"),                          # terminated the day of the review: not before it
        decide("ghost"), decide("sleepy"), decide("root"),
        decide("gone", decision="remove"),     # removing is what should happen
        decide("ann", reviewer="P9"),          # reviewer on no roster line
        decide("cy", reviewer="P2"),           # reviewer who had left
        decide("cy", reviewer="P4")])          # reviewer not started yet

    def run(approvers=()):
        r = cc61.review_effective(decisions, sheet, roster, entitlements,
                                  ["arn:aws:iam::aws:policy/AdministratorAccess"], ["Admins"], [], list(approvers))
        return [(x["resource_id"].rsplit(":", 1)[1], x["detail"].split(": ", 1)[1]) for x in r.deviations.to_dict(
            "records")]
    assert run() == [
        ("bob", "kept access of Bob, terminated on 2026-09-01, before the review"),
        ("ghost", "kept an account that matches nobody on the HR roster"),
        ("sleepy", "kept a dormant account"),
        ("root", "kept administrator access outside the approved paths (AdministratorAccess (aws_managed, direct))"),
        ("ann", "reviewer P9 is not on the HR roster"),
        ("cy", "reviewer Bob had left on 2026-09-01"),
        ("cy", "reviewer Di had not started yet (2026-10-01)")]
    assert ("ann", "reviewer Cy may not decide this line (approvers: P1)") in run(approvers=["P1"])
    managed = run(approvers=["manager"])  # Ann's manager is P2 (Bob): Cy may not decide her line
    assert ("ann", "reviewer Cy may not decide this line (approvers: P2)") in managed
    assert any(who == "ghost" and detail.startswith("reviewer Ann may not decide this line (approvers: none: the line "
                                                    "has no owner with a manager on the roster)")
               for who, detail in managed)
    assert cc61.review_effective(from_rows("access-review-decisions", []), sheet, roster, entitlements, [], [], [],
                                 []).status.value == "PASS"


def test_what_a_leaver_did_after_the_removal_deadline_is_a_deviation_naming_each_kind_of_activity():
    from auditbook.catalog import empty, from_rows

    roster = from_rows("hr-roster", [
        {"person_id": "P1", "name": "Lena", "github_login": "lena", "aws_user_names": "lena.f",
         "termination_date": ts("2026-09-04")},                       # Friday; Monday 09-07 is Labor Day
        {"person_id": "P2", "name": "Old", "github_login": "old", "termination_date": ts("2025-01-10")},
        {"person_id": "P3", "name": "Stay", "github_login": "stay"}])
    at = pd.Timestamp
    reviews = from_rows("github-pull-reviews", [
        {"org": "o", "repo": "r", "number": 1, "reviewer": "lena", "submitted_at": at("2026-09-08 23:59", tz="UTC")},
        {"org": "o", "repo": "r", "number": 2, "reviewer": "lena", "submitted_at": at("2026-09-09 03:39", tz="UTC")},
        {"org": "o", "repo": "r", "number": 3, "reviewer": "stay", "submitted_at": at("2026-09-20", tz="UTC")}])
    pulls = from_rows("github-merged-pulls", [
        {"org": "o", "repo": "r", "number": 4, "author": "old", "merged_by": "stay",
         "created_at": at("2026-07-02", tz="UTC"), "merged_at": at("2026-07-03", tz="UTC")}])
    events = from_rows("cloudtrail-events", [
        {"account_id": "1", "event_time": at("2026-09-15 10:00", tz="UTC"), "event_id": "e", "event_name": "PutObject",
         "identity_type": "IAMUser", "principal_name": "lena.f"}])
    from auditbook.business_days import BusinessCalendar

    holidays = BusinessCalendar.from_params({"country": "US"}).holidays(2026, 2026)
    frame = cc61.leaver_activity(roster, events, pulls, reviews, empty("github-branch-commits"),
                                 empty("github-deployments"), ts("2026-07-01"), ts("2026-10-01"), 1, holidays)
    counts = {(r.system, r.identity): r.count for r in frame.itertuples()}
    assert counts == {("aws-iam", "lena.f"): 1, ("github", "lena"): 1, ("github", "old"): 1}
    result = cc61.leavers_inactive(from_rows("leaver-activity", frame.to_dict("records")))
    detail = result.deviations.set_index("resource_id")["detail"]
    assert detail["github:lena"] == ("Lena terminated 2026-09-04 (removal deadline 2026-09-08); access used until "
                                     "2026-09-09 03:39: 1 review submitted (2026-09-09 03:39; o/r#2)")
    assert detail["aws-iam:lena.f"].endswith("1 AWS API call (2026-09-15 10:00; PutObject in 1)")
    assert detail["github:old"].endswith("1 pull request opened (2026-07-02 00:00; o/r#4)")
    assert result.population_size == 3 and len(result.deviations) == 3


def test_a_github_leaver_removed_by_collection_shows_when_the_access_was_last_used():
    from auditbook.catalog import from_rows

    accounts = from_rows("leaver-accounts", [
        {"person_id": "P1", "person": "Hana", "termination_date": ts("2026-08-14"), "deadline": ts("2026-08-18"),
         "system": "github", "account": "o", "identity": "hana"},
        {"person_id": "P2", "person": "Lu", "termination_date": ts("2026-08-14"), "deadline": ts("2026-08-18"),
         "system": "github", "account": "o", "identity": "lu"}])
    activity = from_rows("leaver-activity", [
        {"person_id": "P1", "system": "github", "identity": "hana", "count": 3, "last": ts("2026-09-19")},
        {"person_id": "P2", "system": "github", "identity": "lu", "count": 0}])
    notes = cc61.leavers_removed_in_time(accounts, activity, default_accounts={}, business_days=1).notes
    assert notes[0].endswith("access used until 2026-09-19 00:00 (CC6.1-LEAVER-ACTIVITY).")
    assert notes[1].endswith("no use of it seen after the deadline.")


def test_identity_center_sessions_after_the_deadline_count_for_the_leavers_identity_center_user():
    """An Identity Center user acts in a session of a role AWSReservedSSO_<permission set>_… named after them: by
    their user name (from the assignments, matched by roster email), or by their email when the user was deleted by
    collection. A session of another role with the same name is an IAM user name's, not theirs."""
    from auditbook.catalog import empty, from_rows

    roster = from_rows("hr-roster", [
        {"person_id": "P1", "name": "Hana", "email": "hana@ex.com", "aws_user_names": "hana.sato",
         "termination_date": ts("2026-08-14")},
        {"person_id": "P2", "name": "Gone", "email": "gone@ex.com", "termination_date": ts("2026-08-14")},
        {"person_id": "P3", "name": "Stay", "email": "stay@ex.com"}])
    assignments = from_rows("identity-center-assignments", [
        {"account_id": "1", "user_name": "hana", "email": "Hana@ex.com", "permission_set": "Admin"},
        {"account_id": "1", "user_name": "stay", "email": "stay@ex.com", "permission_set": "Admin"}])
    at = pd.Timestamp

    def event(when, name, role, who):
        return {"account_id": "1", "event_time": at(when, tz="UTC"), "event_id": f"{when}{who}", "event_name": name,
                "identity_type": "AssumedRole", "principal_name": who, "role_name": role}
    events = from_rows("cloudtrail-events", [
        event("2026-08-20 09:00", "PutObject", "AWSReservedSSO_Admin_0123abcd", "hana"),
        event("2026-08-21 09:00", "PutObject", "ci-deploy-role", "hana"),                 # not an SSO session
        event("2026-08-22 09:00", "RunInstances", "AWSReservedSSO_Admin_0123abcd", "gone@ex.com"),
        event("2026-08-16 09:00", "PutObject", "AWSReservedSSO_Admin_0123abcd", "hana"),  # before the deadline
        event("2026-08-23 09:00", "PutObject", "AWSReservedSSO_Admin_0123abcd", "stay")])
    frame = cc61.leaver_activity(roster, events, empty("github-merged-pulls"), empty("github-pull-reviews"),
                                 empty("github-branch-commits"), empty("github-deployments"), ts("2026-07-01"),
                                 ts("2026-10-01"), 1, [], assignments)
    counts = {(r.system, r.identity): (r.count, r.activities) for r in frame.itertuples()}
    assert counts == {
        ("aws-iam", "hana.sato"): (0, ""),
        ("identity-center", "hana"): (1, "1 AWS API call (2026-08-20 09:00; PutObject in 1)"),
        ("identity-center", "gone@ex.com"): (1, "1 AWS API call (2026-08-22 09:00; RunInstances in 1)")}
    without = cc61.leaver_activity(roster, events, empty("github-merged-pulls"), empty("github-pull-reviews"),
                                   empty("github-branch-commits"), empty("github-deployments"), ts("2026-07-01"),
                                   ts("2026-10-01"), 1, [])  # no assignments: matched by email only
    assert {(r.system, r.identity) for r in without.itertuples() if r.count} == {("identity-center", "gone@ex.com")}
