"""``auditbook check``: what a run with these params would be able to read, asked before the quarter's run.

The params and the exception register are checked as ``run`` checks them; then every AWS account's credentials
and the permissions the collectors use (:mod:`auditbook.sources.aws.permissions`), and the GitHub token and each
endpoint family it must read (:mod:`auditbook.sources.github.permissions`). Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditbook import params as params_mod
from auditbook import register as register_mod
from auditbook.provenance import CollectionError
from auditbook.runner import RunError, needs, select_criteria


@dataclass(frozen=True)
class Row:
    system: str  # params | aws | github
    scope: str  # the file, account or org
    what: str
    how: str
    ok: bool
    detail: str = ""


def check(params_file: str | Path, criteria: list[str] | None = None) -> list[Row]:
    """Every row of the check; raises RunError (a refusal, exit 2) for params ``run`` would refuse."""
    try:
        params = params_mod.load(params_file)
        register_file = register_mod.register_path(params, params_file)
        if register_file:
            register_mod.load(register_file)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    selected = select_criteria(criteria)
    rows = [Row("params", str(params_file), "params and exception register", "checked as run checks them", True,
                "criteria " + ", ".join(selected))]
    if needs(params, selected, "aws"):
        rows += _aws_rows(params)
    if needs(params, selected, "github"):
        rows += _github_rows(params)
    return rows


def _aws_rows(params: dict[str, Any]) -> list[Row]:
    from auditbook.sources.aws.permissions import check_permissions, collector_actions
    from auditbook.sources.aws.session import open_account

    aws = params["scope"].get("aws")
    if not aws:
        return [Row("aws", "scope.aws", "accounts", "params", False, "scope.aws is required by the criteria")]
    rows: list[Row] = []
    actions = collector_actions()
    for spec in aws["accounts"]:
        where = f"{spec['id']} ({spec.get('name') or spec['id']})"
        try:
            account = open_account(spec, aws["regions"][0])
        except CollectionError as exc:
            rows.append(Row("aws", where, "credentials", "sts:GetCallerIdentity", False, str(exc)))
            continue
        rows.append(Row("aws", where, "credentials", "sts:GetCallerIdentity", True, f"acts as {account.caller_arn}"))
        permissions, note = check_permissions(account, actions)
        if note:
            rows.append(Row("aws", where, "policy simulation", "iam:SimulatePrincipalPolicy", True, note))
        by_service: dict[str, list[Any]] = {}
        for permission in permissions:
            by_service.setdefault(permission.action.split(":", 1)[0], []).append(permission)
        for service, found in by_service.items():
            missing = [p for p in found if not p.allowed]
            detail = ("missing: " + ", ".join(f"{p.action} ({p.detail})" if p.detail else p.action for p in missing)
                      if missing else "; ".join(p.detail for p in found if p.detail))
            count = f"{len(found) - len(missing)} of {len(found)} actions" if found[0].how == "simulated" else \
                "read"
            rows.append(Row("aws", where, f"{service} ({count})", found[0].how, not missing, detail))
    return rows


def _github_rows(params: dict[str, Any]) -> list[Row]:
    from auditbook.sources.github import caller_login, connect, org_login
    from auditbook.sources.github.permissions import missing_scopes, read_each, token_scopes

    github = params["scope"].get("github")
    if not github:
        return [Row("github", "scope.github", "orgs", "params", False, "scope.github is required by the criteria")]
    try:
        gh = connect(retries=1)
        login = caller_login(gh)
        scopes = token_scopes(gh)
    except CollectionError as exc:
        return [Row("github", "token", "credentials", "GET /user", False, str(exc))]
    rows = [Row("github", "token", "credentials", "GET /user", True, f"acts as {login}")]
    audit_log = any(org.get("audit_log") for org in github["orgs"])
    if scopes is not None:
        lacking = missing_scopes(scopes, audit_log)
        rows.append(Row("github", "token", "classic token scopes", "X-OAuth-Scopes", not lacking,
                        ("missing: " + ", ".join(lacking)) if lacking else ", ".join(scopes)))
    for org in github["orgs"]:
        try:
            org_login(gh, org["name"])
        except CollectionError as exc:
            rows.append(Row("github", org["name"], "organization", f"GET /orgs/{org['name']}", False, str(exc)))
            continue
        repo = next(iter(org.get("production_repos") or []), None)
        by_permission: dict[str, list[Any]] = {}
        for read in read_each(gh, org["name"], repo, org.get("production_branch"), bool(org.get("audit_log"))):
            by_permission.setdefault(read.permission, []).append(read)
        for permission, reads in by_permission.items():
            refused = [r for r in reads if not r.allowed]
            detail = "; ".join(f"{r.request}: {r.detail}" for r in (refused or reads) if r.detail)
            rows.append(Row("github", org["name"], permission, f"{len(reads)} read{'s' if len(reads) != 1 else ''}",
                            not refused, detail))
    return rows


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table (the detail last, unpadded)."""
    head = ("system", "scope", "check", "how", "result")
    cells = [(r.system, r.scope, r.what, r.how, "ok" if r.ok else "MISSING") for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(head, widths, strict=True)) + "  detail"]
    for cell, row in zip(cells, rows, strict=True):
        lines.append(("  ".join(v.ljust(w) for v, w in zip(cell, widths, strict=True)) + "  " + row.detail).rstrip())
    return "\n".join(lines)
