"""Collecting the catalog's evidence for a run: once per run, fanned out, held to its column contract.

The first notebook that needs a population collects it; the others wait for it and read the same
snapshot, so every criterion tests the same evidence. Notebooks run in separate kernels, in
parallel: a lock file per cache key serialises them. The key is the population's name plus its
resolved arguments (:func:`auditbook.catalog.key`); a population collected twice in one run with
other arguments is refused, never silently replaced. The cache folder is working state, removed
before the package is sealed.
"""

from __future__ import annotations

import fcntl
import logging
import pickle
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from auditbook import catalog, layout
from auditbook.catalog import Entry
from auditbook.context import Context
from auditbook.provenance import CollectionError, Population, Provenance, RawStore, iso, utc_now

T = TypeVar("T")
log = logging.getLogger(__name__)


class EvidenceCache:
    def __init__(self, run_dir: Path) -> None:
        self.dir = Path(run_dir) / layout.CACHE_DIR

    def get_or_collect(self, key: str, collect: Callable[[], T]) -> tuple[T, bool]:
        """(evidence, collected by this call). A failure is cached too: every reader sees it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            stored, failed = self.dir / f"{key}.pickle", self.dir / f"{key}.error"
            if stored.exists():
                return pickle.loads(stored.read_bytes()), False
            if failed.exists():
                raise CollectionError(failed.read_text())
            try:
                value = collect()
            except CollectionError as exc:
                failed.write_text(str(exc))
                raise
            except Exception as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}")
                raise CollectionError(f"{type(exc).__name__}: {exc}") from exc
            stored.write_bytes(pickle.dumps(value))
            return value, True

    def claim(self, name: str, key: str) -> None:
        """Refuse a second collection of ``name`` with other arguments in the same run (one CSV per name)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{name}.claim"
        with open(self.dir / f"{name}.claim.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists() and path.read_text() != key:
                raise CollectionError(f"{name} was already collected in this run with other arguments "
                                      f"({path.read_text()} vs {key}): a population has one definition per run")
            path.write_text(key)


class Connections:
    """How a run reaches the systems in scope: a session per AWS account (opened when first needed), one
    GitHub client, each org's production branches (resolved once)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._sessions: dict[str, Any] = {}
        self._branches: dict[str, dict[str, str]] = {}

    def aws_account(self, account_id: str) -> Any:
        from auditbook.sources.aws.session import open_account

        if account_id not in self._sessions:
            aws = self.ctx.aws
            spec = next(a for a in aws["accounts"] if a["id"] == account_id)
            self._sessions[account_id] = open_account(spec, aws["regions"][0])
        return self._sessions[account_id]

    @property
    def account_ids(self) -> list[str]:
        if not self.ctx.aws:
            raise CollectionError("params scope.aws is not set: no AWS account to collect from")
        return self.ctx.account_ids

    @cached_property
    def github(self) -> Any:
        """A PyGithub client on ``GITHUB_API_URL`` with ``GITHUB_TOKEN`` or ``GH_TOKEN`` (the standard variables)."""
        from auditbook.sources.github import connect

        return connect()

    @property
    def orgs(self) -> list[dict[str, Any]]:
        if not self.ctx.orgs:
            raise CollectionError("params scope.github is not set: no GitHub organization to collect from")
        return self.ctx.orgs

    def production_branches(self, org: dict[str, Any]) -> dict[str, str]:
        """An org's production repo → its production branch (the default branch, or the named one)."""
        from auditbook.sources.github import production_branches

        if not org["production_repos"]:
            return {}
        if org["name"] not in self._branches:
            self._branches[org["name"]] = production_branches(self.github, org["name"], org["production_repos"],
                                                              org["production_branch"])
        return self._branches[org["name"]]


class Collector:
    """Runs catalog entries: the fan-out over accounts and orgs, each AWS account's part cached on its own
    (so a scheduler can collect the accounts in parallel first), derivations, and the column contract."""

    def __init__(self, ctx: Context, connections: Connections, cache: EvidenceCache, raw: RawStore) -> None:
        self.ctx, self.connections, self.cache, self.raw = ctx, connections, cache, raw

    def collect(self, entry: Entry, inputs: dict[str, Population]) -> tuple[tuple[Population, ...], bool]:
        """The populations of one entry (with those collected with it), and whether this call collected them."""
        key = catalog.key(entry.name, self.ctx)
        self.cache.claim(entry.name, key)
        started = time.monotonic()
        try:
            pops, here = self.cache.get_or_collect(key, lambda: self._produce(entry, inputs, key))
        except CollectionError as exc:
            log.warning("%s: could not be collected (%.1f s): %s", entry.name, time.monotonic() - started,
                        " ".join(str(exc).split())[:300])
            raise
        how = "derived" if entry.fanout == "derived" else "collected"
        for pop in pops:
            if here:
                log.info("%s: %s %d rows (%.1f s)", pop.name, how, len(pop.frame), time.monotonic() - started)
            else:
                log.info("%s: %d rows, %s by another notebook of this run", pop.name, len(pop.frame), how)
        return pops, here

    def account_part(self, entry: Entry, account_id: str, inputs: dict[str, Population]) -> tuple[Population, ...]:
        """One AWS account's part of an entry that fans out per account (with the populations collected with it)."""
        key = f"{catalog.key(entry.name, self.ctx)}@{account_id}"

        def collect() -> tuple[Population, ...]:
            log.info("%s: collecting from AWS account %s", entry.name, account_id)
            account = self.connections.aws_account(account_id)
            return _with_retries(account, lambda: _named(entry, entry.collector(account, raw=self.raw,
                                                                                **self._arguments(entry, inputs))))
        return self.cache.get_or_collect(key, collect)[0]

    def copy_cited_log_files(self, cited: pd.DataFrame, log_files: pd.DataFrame) -> int:
        """Copy into raw/ the trail log files rows of a tested population cite (``account_id``, ``log_file``):
        the package holds the files behind every tested event, listed by reference otherwise."""
        from auditbook.sources.aws.cloudtrail import copy_log_files

        wanted = cited.loc[cited["log_file"].astype(str) != "", ["account_id", "log_file"]].drop_duplicates()
        listed = log_files.set_index(["account_id", "key"])[["bucket", "sha256"]]
        copied = 0
        for account_id, keys in wanted.groupby("account_id")["log_file"]:
            unknown = [k for k in keys if (account_id, k) not in listed.index]
            if unknown:
                raise CollectionError(f"{unknown[0]}: cited by a tested event but not among the listed log files")
            files = [(listed.at[(account_id, k), "bucket"], k, listed.at[(account_id, k), "sha256"]) for k in keys]
            copied += copy_log_files(self.connections.aws_account(str(account_id)), self.raw, files)
        return copied

    def _arguments(self, entry: Entry, inputs: dict[str, Population]) -> dict[str, Any]:
        return {**entry.arguments(self.ctx), **{param: pop.frame for param, pop in inputs.items()}}

    def _produce(self, entry: Entry, inputs: dict[str, Population], key: str) -> tuple[Population, ...]:
        log.info("%s: %s (%s)", entry.name, "deriving" if entry.fanout == "derived" else "collecting", entry.fanout)
        if entry.fanout == "derived":
            return (self._derive(entry, inputs),)
        names = entry.collected_with()
        if entry.fanout == "account":
            parts = [self.account_part(entry, a, inputs) for a in self.connections.account_ids]
            return tuple(combine(name, [p[i] for p in parts]) for i, name in enumerate(names))
        arguments = self._arguments(entry, inputs)
        if entry.fanout == "first_account":
            first = self.connections.aws_account(self.connections.account_ids[0])
            return _with_retries(first, lambda: _named(entry, entry.collector(first, raw=self.raw, **arguments)))
        elif entry.fanout == "org":
            answers = [entry.collector(self.connections.github, org["name"], raw=self.raw, **arguments)
                       for org in self.connections.orgs]
        elif entry.fanout == "repos":
            branches = [(org["name"], self.connections.production_branches(org)) for org in self.connections.orgs]
            branches = [(name, b) for name, b in branches if b]
            if not branches:
                raise CollectionError("no production repository in scope: list production_repos under "
                                      "scope.github.orgs")
            answers = [entry.collector(self.connections.github, name, b, raw=self.raw, **arguments)
                       for name, b in branches]
        elif entry.fanout == "github":
            answers = [entry.collector(self.connections.github, raw=self.raw, **arguments)]
        else:  # file
            answers = [entry.collector(raw=self.raw, **arguments)]
        parts = [_named(entry, a) for a in answers]
        return tuple(combine(name, [p[i] for p in parts]) for i, name in enumerate(names))

    def _derive(self, entry: Entry, inputs: dict[str, Population]) -> Population:
        sources = [pop.name for pop in inputs.values()]
        try:
            frame = entry.derive(**self._arguments(entry, inputs))
        except CollectionError:
            raise
        except Exception as exc:
            raise CollectionError(f"could not be derived: {type(exc).__name__}: {exc}") from exc
        function = f"{entry.derive.__module__}.{entry.derive.__name__}"
        prov = Provenance(system="derived", endpoint="auditbook", scope=", ".join(sources), caller="auditbook",
                          collected_at=iso(utc_now()) or "",
                          notes=[f"Derived by {function} from {', '.join(sources)}."])
        return Population(entry.name, catalog.conform(entry.name, frame), prov)


def _with_retries(account: Any, collect: Callable[[], tuple[Population, ...]]) -> tuple[Population, ...]:
    """An AWS collection, with the retries AWS asked for during it in each population's provenance: a
    population collected through throttling is complete, and its record says what it took."""
    from auditbook.sources.aws.session import retry_note

    retries = getattr(account, "retries", None)
    if retries is None:
        return collect()
    before = retries.snapshot()
    populations = collect()
    note = retry_note(retries.since(before))
    if note:
        log.warning("%s", note)
        for population in populations:
            population.provenance.notes.append(note)
    return populations


def _named(entry: Entry, answer: Any) -> tuple[Population, ...]:
    """A collector's answer (one ``Collected`` or a tuple) as the catalog's populations, held to their contracts."""
    names = entry.collected_with()
    answers = answer if isinstance(answer, tuple) else (answer,)
    if len(answers) != len(names):
        raise CollectionError(f"{entry.name}: the collector returned {len(answers)} populations, the catalog "
                              f"declares {len(names)} ({', '.join(names)})")
    return tuple(catalog.population(name, collected) for name, collected in zip(names, answers, strict=True))


def combine(name: str, parts: list[Population]) -> Population:
    """One population from the same collector run in several accounts or orgs."""
    if len(parts) == 1:
        return Population(name, parts[0].frame, parts[0].provenance)
    first = parts[0].provenance
    prov = Provenance(
        system=first.system, endpoint=first.endpoint,
        scope="; ".join(p.provenance.scope for p in parts),
        caller="; ".join(sorted({p.provenance.caller for p in parts})),
        collected_at=first.collected_at,
        operations=[o for p in parts for o in p.provenance.operations],
        raw_files=[r for p in parts for r in p.provenance.raw_files],
        notes=[n for p in parts for n in p.provenance.notes],
    )
    return Population(name, pd.concat([p.frame for p in parts], ignore_index=True), prov)
