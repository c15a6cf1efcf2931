"""GitHub evidence: PyGithub against ``GITHUB_API_URL`` with ``GITHUB_TOKEN``."""

from auditbook.sources.github.client import caller_login, connect, org_login
from auditbook.sources.github.org import collect_org_members, collect_org_settings
from auditbook.sources.github.pulls import collect_merged_pulls
from auditbook.sources.github.repos import (
    collect_branch_commits,
    collect_branch_protection,
    collect_deployments,
    production_branches,
)

__all__ = [
    "caller_login", "collect_branch_commits", "collect_branch_protection", "collect_deployments",
    "collect_merged_pulls", "collect_org_members", "collect_org_settings", "connect", "org_login",
    "production_branches",
]
