"""The demo company's people: HR roster, leavers, Identity Center, and the quarter's access review.

The roster (``demo/data/hr-roster.csv``) and the reviewers' decisions
(``demo/data/access-review-decisions.csv``) are files the company hands over, generated here
from the same definitions as the seeded deviations (``python -m auditbook.demo.people``).
Leavers are removed through the real IAM API at their removal time, and the trail records the
calls, as CloudTrail would.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
from freezegun import freeze_time

from auditbook.demo import truth_yaml
from auditbook.demo.trail import Trail, user_identity

DATA = Path(__file__).parent / "data"
ROSTER_FILE = DATA / "hr-roster.csv"
DECISIONS_FILE = DATA / "access-review-decisions.csv"
PREVIOUS_WORKSHEET_FILE = DATA / "access-review-worksheet-2026-Q2.csv"
ACCOUNT = "123456789012"
ORG = "demo-fintech"
REVIEWED_AT = "2026-09-10"
REVIEWER = "P001"  # Alice Ng, CTO, reviews everyone's access...
SECOND_REVIEWER = "P002"  # ...and Bruno Silva reviews hers
OUTSIDE_REVIEWER = "P020"  # a consultant on no HR roster line, who decided one labs line


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    github: str = ""
    aws: str = ""
    start: str = "2024-02-01"
    termination: str = ""
    manager: str = "P001"

    @property
    def email(self) -> str:
        return f"{self.name.split()[0].lower()}@demo-fintech.example"


PEOPLE = [
    Person("P001", "Alice Ng", "alice-ng", "alice.admin", manager=""),
    Person("P002", "Bruno Silva", "bruno-silva", "bob.ops", "2024-06-10"),
    Person("P003", "Chen Wei", "chen-wei", "carol.eng", "2024-03-04"),
    Person("P004", "Dana Okafor", "dana-okafor", "dan.dev", "2024-09-16"),
    Person("P005", "Eli Cohen", "eli-cohen", "erin.eng", "2025-01-13"),
    Person("P006", "Farah Haddad", "farah-haddad", "frank.eng", "2025-04-07"),
    Person("P007", "Gus Moreno", "gus-moreno", "grace.sre", "2025-05-19"),
    Person("P008", "Hana Sato", "hana-sato", "hana.sato", "2025-03-03", "2026-08-14"),
    Person("P009", "Julia Costa", "julia-costa", "heidi.data", "2025-08-04"),
    Person("P010", "Kofi Mensah", "kofi-mensah", "ivan.audit", "2025-10-20"),
    Person("P011", "Lena Fischer", "lena-fischer", "lena.fischer", "2025-06-02", "2026-09-04"),
    Person("P012", "Max Keller", "max-contractor", "mallory.contractor", "2026-02-09", manager="P007"),
    Person("P013", "Trent Sales", "", "trent.sales", "2025-11-03", manager="P002"),
    Person("P014", "Oscar Former", "", "oscar.former", "2024-05-06", "2026-08-07"),
    Person("P015", "Walter Intern", "", "walter.intern", "2026-04-02", manager="P003"),
    Person("P016", "Peggy Newhire", "", "peggy.newhire", "2026-09-21", manager="P003"),
    Person("P017", "Rita Old", "", "", "2019-01-07", "2019-12-20"),  # left years ago, no accounts
]

# IAM users created and later removed by the demo, for the leavers: name → (created, removed, remover)
REMOVED_IAM_USERS = {
    "hana.sato": ("2025-03-03T09:00:00", "2026-08-20T10:12:00", "alice.admin"),     # 6 days after termination
    # terminated Friday 2026-09-04, removed Tuesday 09-08: on time, Monday 09-07 being Labor Day (business_calendar)
    "lena.fischer": ("2025-06-02T09:00:00", "2026-09-08T10:15:00", "alice.admin"),
}
# A leaver who used AWS after the removal deadline (2026-08-17) and before the late removal: a console sign-in.
LEAVER_SIGN_IN = ("hana.sato", "2026-08-18T08:47:00")
# An IAM user nobody on the roster owns.
ORPHAN_IAM_USER = ("temp.migration", "2026-06-15T09:00:00", "2026-09-25T11:00:00")
GITHUB_REMOVED = {"lena-fischer"}  # removed from the org by collection time
GITHUB_ORPHAN = "ivan-petrov"  # an org member nobody on the roster is
SERVICE_ACCOUNTS = ["ci-deployer", "backup-agent", "reporting-etl", "analytics-export", "metrics-shipper",
                    "payments-batch"]

IDENTITY_CENTER_USERS = ["alice", "bruno", "chen", "gus"]
IDENTITY_CENTER_GROUPS = {"Platform": ["alice", "bruno", "gus"]}
PERMISSION_SETS = {"AdministratorAccess": ["group:Platform"], "ReadOnlyAccess": ["user:chen"]}


def truth() -> list[dict[str, str]]:
    """The CC6.1 people deviations this module seeds."""
    return [
        {"test": "CC6.1-LEAVERS", "resource": "aws-iam:123456789012:hana.sato",
         "why": "terminated 2026-08-14; IAM user deleted 2026-08-20, after the 1-business-day limit"},
        {"test": "CC6.1-LEAVERS", "resource": "github:demo-fintech:hana-sato",
         "why": "terminated 2026-08-14; still a member of the GitHub org at collection"},
        {"test": "CC6.1-LEAVERS", "resource": "aws-iam:123456789012:oscar.former",
         "why": "terminated 2026-08-07; IAM user still has console access at collection"},
        {"test": "CC6.1-ORPHANED", "resource": "aws-iam:123456789012:temp.migration",
         "why": "IAM console user that matches nobody on the HR roster"},
        {"test": "CC6.1-ORPHANED", "resource": f"github:{ORG}:{GITHUB_ORPHAN}",
         "why": "GitHub org member that matches nobody on the HR roster"},
        {"test": "CC6.1-GITHUB-2FA", "resource": f"github:{ORG}",
         "why": "the org does not require two-factor authentication"},
        {"test": "CC6.1-GITHUB-2FA", "resource": f"github:{ORG}:kofi-mensah",
         "why": "member without two-factor authentication"},
        {"test": "CC6.1-REVIEW-COMPLETE", "resource": "aws-iam:123456789012:walter.intern",
         "why": "review line never decided"},
        {"test": "CC6.1-REVIEW-REMOVALS", "resource": "aws-iam:123456789012:trent.sales",
         "why": "decided 'remove' on 2026-09-10; still present at collection"},
        {"test": "CC6.1-REVIEW-REMOVALS", "resource": "aws-iam:123456789012:oscar.former",
         "why": "the leaver's access was decided 'remove' on 2026-09-10 and never removed"},
        {"test": "CC6.1-REVIEW-INDEPENDENT", "resource": "aws-iam:123456789012:alice.admin",
         "why": "Alice Ng reviewed her own access"},
        # leavers who kept working: the demo's GitHub history has them acting after the removal deadline
        {"test": "CC6.1-LEAVER-ACTIVITY", "resource": "github:hana-sato",
         "why": "terminated 2026-08-14; opened, merged and reviewed pull requests and committed to production "
                "branches until 2026-09-19"},
        {"test": "CC6.1-LEAVER-ACTIVITY", "resource": "aws-iam:hana.sato",
         "why": "terminated 2026-08-14 (deadline 2026-08-17); signed in to the AWS console on 2026-08-18, two "
                "days before her IAM user was deleted"},
        {"test": "CC6.1-LEAVER-ACTIVITY", "resource": "github:lena-fischer",
         "why": "terminated 2026-09-04 (deadline 2026-09-08, Labor Day between); reviewed a pull request on "
                "2026-09-09 and opened and committed one on 2026-09-25"},
        # what the review kept that it should have removed, and who may not review (the review's effectiveness)
        {"test": "CC6.1-REVIEW-EFFECTIVE", "resource": f"github:{ORG}:hana-sato",
         "why": "kept on 2026-09-10 although Hana Sato was terminated on 2026-08-14"},
        {"test": "CC6.1-REVIEW-EFFECTIVE", "resource": "aws-iam:123456789012:temp.migration",
         "why": "kept an IAM user that matches nobody on the HR roster"},
        {"test": "CC6.1-REVIEW-EFFECTIVE", "resource": f"github:{ORG}:{GITHUB_ORPHAN}",
         "why": "kept a GitHub member that matches nobody on the HR roster"},
        {"test": "CC6.1-REVIEW-EFFECTIVE", "resource": "aws-iam:123456789012:heidi.data",
         "why": "kept a console user dormant since 2026-06-02 (Julia Costa's IAM user)"},
        {"test": "CC6.1-REVIEW-EFFECTIVE", "resource": "aws-iam:123456789012:dan.dev",
         "why": "kept AdministratorAccess attached directly, outside the approved admin paths"},
        {"test": "CC6.1-REVIEW-EFFECTIVE", "resource": "github:demo-fintech-labs:julia-costa",
         "why": f"decided by {OUTSIDE_REVIEWER}, who is not on the HR roster"},
    ]


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def seed(endpoint: str, trail: Trail) -> None:
    """Leavers' IAM users (created, then removed when the company removed them), an orphan, Identity Center."""
    from moto.iam.models import iam_backends

    iam = _client("iam", endpoint)
    with freeze_time(_t("2025-01-01T00:00:00")) as clock:
        for name, (created, removed, remover) in REMOVED_IAM_USERS.items():
            clock.move_to(_t(created))
            iam.create_user(UserName=name)
            iam.add_user_to_group(GroupName="Engineers", UserName=name)
            iam.create_login_profile(UserName=name, Password="Demo-Password-Not-A-Secret-1!")
            clock.move_to(_t(removed))
            iam.remove_user_from_group(GroupName="Engineers", UserName=name)
            iam.delete_login_profile(UserName=name)
            iam.delete_user(UserName=name)
            who = user_identity(ACCOUNT, remover)
            for op, params in [("RemoveUserFromGroup", {"groupName": "Engineers", "userName": name}),
                               ("DeleteLoginProfile", {"userName": name}), ("DeleteUser", {"userName": name})]:
                trail.record(_t(removed), "iam.amazonaws.com", op, who, read_only=False, params=params)
        leaver, signed_in = LEAVER_SIGN_IN
        trail.record(_t(signed_in), "signin.amazonaws.com", "ConsoleLogin", user_identity(ACCOUNT, leaver),
                     read_only=False, event_type="AwsConsoleSignIn")
        name, created, last_sign_in = ORPHAN_IAM_USER
        clock.move_to(_t(created))
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Demo-Password-Not-A-Secret-1!")
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")
    iam_backends[ACCOUNT]["global"].users[name].password_last_used = _t(last_sign_in)
    _seed_identity_center(endpoint)


def _seed_identity_center(endpoint: str) -> None:
    sso = _client("sso-admin", endpoint)
    store = _client("identitystore", endpoint)
    instance = sso.list_instances()["Instances"][0]
    arn, store_id = instance["InstanceArn"], instance["IdentityStoreId"]
    users = {}
    for first in IDENTITY_CENTER_USERS:
        person = next(p for p in PEOPLE if p.name.split()[0].lower() == first)
        given, family = person.name.split(" ", 1)
        users[first] = store.create_user(
            IdentityStoreId=store_id, UserName=first, DisplayName=person.name,
            Name={"GivenName": given, "FamilyName": family},
            Emails=[{"Value": person.email, "Type": "work", "Primary": True}])["UserId"]
    groups = {}
    for group, members in IDENTITY_CENTER_GROUPS.items():
        groups[group] = store.create_group(IdentityStoreId=store_id, DisplayName=group)["GroupId"]
        for member in members:
            store.create_group_membership(IdentityStoreId=store_id, GroupId=groups[group],
                                          MemberId={"UserId": users[member]})
    for ps_name, principals in PERMISSION_SETS.items():
        ps_arn = sso.create_permission_set(Name=ps_name, InstanceArn=arn)["PermissionSet"]["PermissionSetArn"]
        for principal in principals:
            kind, name = principal.split(":")
            sso.create_account_assignment(
                InstanceArn=arn, TargetId=ACCOUNT, TargetType="AWS_ACCOUNT", PermissionSetArn=ps_arn,
                PrincipalType="GROUP" if kind == "group" else "USER",
                PrincipalId=groups[name] if kind == "group" else users[name])
        sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn, TargetType="AWS_ACCOUNT",
                                     TargetId=ACCOUNT)


def write_roster(path: Path = ROSTER_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["person_id", "name", "email", "github_login", "aws_user_names", "start_date",
                      "termination_date", "manager"])
        for p in PEOPLE:
            out.writerow([p.person_id, p.name, p.email, p.github, p.aws, p.start, p.termination, p.manager])


def review_decisions(worksheet_lines: list[dict[str, str]]) -> list[dict[str, str]]:
    """The reviewers' answers to the review worksheet, with the seeded gaps.

    ``worksheet_lines`` are the (system, account, identity, person_id) lines the worksheet had at
    review time. Walter's line is left undecided; Trent's is marked remove (and never removed);
    Alice reviews her own IAM user; a consultant not on the roster decides Julia's labs membership.
    """
    decisions = []
    for line in worksheet_lines:
        if line["identity"] == "walter.intern":
            continue
        reviewer = SECOND_REVIEWER if line["person_id"] == REVIEWER else REVIEWER
        if line["identity"] == "alice.admin":
            reviewer = REVIEWER
        if (line["account"], line["identity"]) == ("demo-fintech-labs", "julia-costa"):
            reviewer = OUTSIDE_REVIEWER
        decision = "remove" if line["identity"] in {"trent.sales", "oscar.former"} else "keep"
        decisions.append({"system": line["system"], "account": line["account"], "identity": line["identity"],
                          "decision": decision, "reviewer": reviewer, "reviewed_at": REVIEWED_AT})
    return decisions


def write_decisions(path: Path = DECISIONS_FILE) -> None:
    """Run the demo, build the review worksheet as of the review date, and answer it."""
    import tempfile

    from auditbook.controls.cc61 import review_worksheet
    from auditbook.demo.environment import DEMO_PARAMS, DemoEnvironment
    from auditbook.params import load
    from auditbook.provenance import RawStore
    from auditbook.sources import github
    from auditbook.sources.aws import iam, identitycenter
    from auditbook.sources.aws.session import open_account
    from auditbook.sources.files import load_roster

    raw = RawStore(tempfile.mkdtemp())
    params = load(DEMO_PARAMS)
    settings = params["criteria"]["CC6.1"]
    with DemoEnvironment():
        account = open_account({"id": ACCOUNT}, "us-east-1")
        gh = github.connect()
        sheet = review_worksheet(
            load_roster(ROSTER_FILE, raw).frame, iam.collect_credential_report(account, raw).frame,
            iam.collect_entitlements(account, raw).frame, identitycenter.collect_assignments(account, raw).frame,
            pd.concat([github.collect_org_members(gh, org["name"], raw).frame
                       for org in params["scope"]["github"]["orgs"]], ignore_index=True),
            service_accounts=SERVICE_ACCOUNTS,
            as_of=_t("2026-10-01T00:00:00"), admin_policy_arns=settings["admin_policy_arns"])
    write_previous_worksheet(sheet)
    at_review = sheet[sheet["created_at"].isna() | (sheet["created_at"] <= _t(REVIEWED_AT + "T00:00:00"))]
    lines = at_review[["system", "account", "identity", "person_id"]].to_dict("records")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, ["system", "account", "identity", "decision", "reviewer", "reviewed_at"])
        out.writeheader()
        out.writerows(review_decisions(lines))


def write_previous_worksheet(sheet: Any, path: Path = PREVIOUS_WORKSHEET_FILE) -> None:
    """The Q2 review's worksheet, as an earlier package would hold it: the leavers were still there,
    the orphan and the September joiner not yet, and dan.dev not yet an administrator."""
    previous = sheet[~sheet["identity"].isin(["temp.migration", "peggy.newhire"])].copy()
    dan = previous["identity"] == "dan.dev"
    previous.loc[dan, ["admin", "privileges"]] = [False, "EngineerAccess (group:Engineers)"]
    extra = []
    for system, account, identity, person_id, person, privileges in [
            ("aws-iam", ACCOUNT, "hana.sato", "P008", "Hana Sato", "EngineerAccess (group:Engineers)"),
            ("aws-iam", ACCOUNT, "lena.fischer", "P011", "Lena Fischer", "EngineerAccess (group:Engineers)"),
            ("github", ORG, "lena-fischer", "P011", "Lena Fischer", "member")]:
        extra.append({"line": f"{system}:{account}:{identity}", "system": system, "account": account,
                      "identity": identity, "person_id": person_id, "person": person, "privileges": privileges,
                      "admin": False, "no_mfa": False, "dormant": False, "leaver": False, "orphaned": False,
                      "has_access": True})  # still employed at the Q2 review: every flag a worksheet has
    pd.concat([previous, pd.DataFrame(extra)], ignore_index=True).sort_values("line").to_csv(
        path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")


def write_truth() -> None:
    (truth_yaml.TRUTH_DIR / "people-cc6.1.yaml").write_text(truth_yaml.render(
        "# Generated by `python -m auditbook.demo.people`: the CC6.1 people deviations the demo seeds.\n",
        truth(), width=120), encoding="utf-8")


if __name__ == "__main__":
    write_roster()
    write_decisions()
    write_truth()
    print(json.dumps({"roster": str(ROSTER_FILE), "decisions": str(DECISIONS_FILE)}))
