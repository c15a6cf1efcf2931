"""Every collector of the evidence catalog, called the way a run calls it against the demo company.

The fault matrix runs each one clean, records the operations it makes (the emulators' request log),
then makes each of those operations fail in each way and expects a CollectionError. The calls come
from the catalog (fan-out, arguments from the demo params and the period, inputs collected first), so
a new catalog entry is in the matrix without a line here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditbook import catalog
from auditbook.context import Context
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.params import load
from auditbook.period import parse_period
from auditbook.sources import github

PARAMS = load(DEMO_PARAMS)
PERIOD = parse_period("2026-Q3")
CTX = Context(PARAMS, PERIOD)
ORG = PARAMS["scope"]["github"]["orgs"][0]["name"]
REPOS = PARAMS["scope"]["github"]["orgs"][0]["production_repos"]
BRANCHES = {repo: "main" for repo in REPOS}
AWS_FANOUTS = {"account", "first_account"}
GITHUB_FANOUTS = {"org", "repos", "github"}


def call(name: str, client: Any, raw: Any) -> Any:
    """One catalog entry's collector on one account (AWS) or the demo's first org (GitHub); inputs first."""
    entry = catalog.entry(name)
    inputs = {param: catalog.population(source, _first(call(source, client, raw))).frame
              for param, source in entry.input_names(CTX).items()}
    arguments = {**entry.arguments(CTX), **inputs}
    if entry.fanout in AWS_FANOUTS:
        return entry.collector(client, raw=raw, **arguments)
    if entry.fanout == "org":
        return entry.collector(client, ORG, raw=raw, **arguments)
    if entry.fanout == "repos":
        return entry.collector(client, ORG, BRANCHES, raw=raw, **arguments)
    return entry.collector(client, raw=raw, **arguments)


def _first(answer: Any) -> Any:
    return answer[0] if isinstance(answer, tuple) else answer


def _collectors(fanouts: set[str]) -> dict[str, Callable[[Any, Any], Any]]:
    return {e.name: (lambda client, raw, name=e.name: call(name, client, raw))
            for e in catalog.ENTRIES.values() if e.fanout in fanouts and e.collector is not None}


AWS_COLLECTORS: dict[str, Callable[[Any, Any], Any]] = _collectors(AWS_FANOUTS)
GITHUB_COLLECTORS: dict[str, Callable[[Any, Any], Any]] = {
    **_collectors(GITHUB_FANOUTS),
    "github-production-branches": lambda gh, r: github.production_branches(gh, ORG, REPOS, "default"),
}

# (source, operation, fault kind, outcome): every case the fault tests ran, counted in the summary.
CASES: list[tuple[str, str, str, str]] = []
