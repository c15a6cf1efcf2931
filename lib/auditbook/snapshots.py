"""Snapshots: configuration read while the period runs, kept as small sealed packages.

A quarterly run reads configuration once, weeks after the period. ``auditbook snapshot`` (scheduled daily)
collects every population a run reads at a point in time (catalog basis ``state``) and every source that
forgets sooner than a quarterly run reads it (``retention``: alarm history), with the run's own collectors,
into ``<out>/snapshots/<taken-at>/``: ``snapshot.json``, ``populations/<name>.csv``, ``raw/``, sealed like a
run (manifest, manifest-sha256.txt, signature when a signer is given). The quarterly run evaluates each test
on configuration again on every verified snapshot of its period (:mod:`auditbook.over_snapshots`).
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from auditbook import catalog, layout, locker, signing
from auditbook import params as params_mod
from auditbook.basis import Retention, Window
from auditbook.context import Context
from auditbook.evidence import Collector, Connections, EvidenceCache
from auditbook.period import Period
from auditbook.provenance import CollectionError, Population, RawStore, iso, sha256_bytes, utc_now

FOLDER = "snapshots"
SNAPSHOT_JSON = "snapshot.json"
SCHEMA_VERSION = "1.0"
STAMP = "%Y%m%dT%H%M%SZ"
STAGING = ".staging-"  # beside the published folders, renamed into place only when complete
WINDOW = timedelta(days=31)  # what a source with a period argument is read over (alarm history keeps ~30 days)


class SnapshotError(RuntimeError):
    """A snapshot could not be taken at all (bad params, the folder exists): nothing was written."""


def wanted(ctx: Context) -> list[str]:
    """The populations a snapshot holds: read at a point in time, or from a source that forgets."""
    return [name for name, e in catalog.ENTRIES.items()
            if e.derive is None and not e.part_of and (e.basis == "state" or e.retention is not None)
            and (e.applies is None or e.applies(ctx))]


def take(params_file: str, out_root: Path, signer: signing.Signer | None = None,
         now: datetime | None = None) -> tuple[Path, dict[str, str]]:
    """Collect, write, seal and publish one snapshot; (its folder, population → collection error)."""
    from auditbook.notebook import _write_csv  # the package CSV writer (formula-safe, CRLF)

    params = params_mod.load(params_file)
    now = now or utc_now()
    ctx = Context(params, Period(f"snapshot {now:{STAMP}}", now - WINDOW, now), run_at=now)
    folder = Path(out_root) / FOLDER
    final, staging = folder / f"{now:{STAMP}}", folder / f"{STAGING}{now:{STAMP}}"
    if final.exists():
        raise SnapshotError(f"{final} already exists: a snapshot is never overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
    try:
        collector = Collector(ctx, Connections(ctx), EvidenceCache(staging), RawStore(staging / layout.RAW))
        got: dict[str, Population] = {}
        errors: dict[str, str] = {}
        for name in wanted(ctx):
            _collect(name, ctx, collector, got, errors)
        kept = {}
        for name, pop in sorted(got.items()):
            rel = f"populations/{name}.csv"
            _write_csv(pop.frame, staging / rel)
            kept[name] = {"file": rel, "rows": len(pop.frame), "provenance": pop.provenance.to_dict()}
        facts = {"kind": "snapshot", "taken_at": iso(now), "organization": params["organization"],
                 "params_file": Path(params_file).name, "params_digest": params_mod.digest(params)}
        (staging / SNAPSHOT_JSON).write_text(json.dumps(
            {"schema_version": SCHEMA_VERSION, **facts, "populations": kept, "collection_errors": errors},
            indent=1, default=str))
        shutil.rmtree(staging / layout.CACHE_DIR, ignore_errors=True)
        locker.write_manifest(staging, facts, signer)
        locker.seal(staging)
        locker.publish(staging, final)
    except BaseException:
        locker.unseal_and_remove(staging)
        raise
    return final, errors


def _collect(name: str, ctx: Context, collector: Collector, got: dict[str, Population],
             errors: dict[str, str]) -> Population | None:
    """One population (with what it is collected with, and its inputs first); an error is recorded, not raised:
    a snapshot of the rest is still evidence of the rest."""
    if name in got or name in errors:
        return got.get(name)
    entry = catalog.entry(name)
    inputs = {}
    for param, source in entry.input_names(ctx).items():
        pop = _collect(source, ctx, collector, got, errors)
        if pop is None and param in entry.optional:
            continue
        if pop is None:
            errors[name] = f"built from {source}, which could not be collected"
            return None
        inputs[param] = pop
    try:
        pops, _ = collector.collect(entry, inputs)
    except CollectionError as exc:
        for other in entry.collected_with():
            errors[other] = str(exc)
        return None
    for pop in pops:
        got[pop.name] = pop
    return got[name]


@dataclass
class Snapshot:
    """A verified snapshot package: when it was taken and the populations it holds."""

    root: Path
    taken_at: datetime
    organization: str
    populations: dict[str, str] = field(default_factory=dict)  # name → file
    errors: dict[str, str] = field(default_factory=dict)
    cache: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)  # read (or rebuilt) once a run

    def population(self, name: str) -> pd.DataFrame | None:
        """A population as it was read then (None when this snapshot does not hold it)."""
        if name not in self.populations or name in self.errors:
            return None
        key = f"read:{name}"
        if key not in self.cache:
            self.cache[key] = catalog.read_csv(name, self.root / self.populations[name])
        return self.cache[key]


def find(out_root: Path, organization: str, start: datetime, end: datetime) -> tuple[list[Snapshot], list[str]]:
    """The usable snapshots of this organization taken in ``[start, end)``, verified, oldest first; and one
    sentence per snapshot folder left out (does not verify, unreadable)."""
    usable, problems = [], []
    for root in sorted((Path(out_root) / FOLDER).glob("2*")):
        record = root / SNAPSHOT_JSON
        try:
            facts = json.loads(record.read_text())
            taken = datetime.fromisoformat(str(facts["taken_at"]).replace("Z", "+00:00"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{root.name}: {SNAPSHOT_JSON} unreadable ({type(exc).__name__})")
            continue
        if facts.get("organization") != organization or not start <= taken < end:
            continue
        checked = locker.verify(root)
        if not checked.ok:
            problems.append(f"{root.name}: does not verify ({'; '.join(checked.lines()[:2])})")
            continue
        usable.append(Snapshot(root, taken, organization,
                               {n: p["file"] for n, p in (facts.get("populations") or {}).items()},
                               dict(facts.get("collection_errors") or {})))
    return sorted(usable, key=lambda s: s.taken_at), problems


def covered_days(snapshots: list[Snapshot], name: str) -> set[date]:
    """The days on which a usable snapshot holds this population."""
    return {s.taken_at.date() for s in snapshots if name in s.populations and name not in s.errors}


def describe(snapshots: list[Snapshot]) -> dict[str, Any]:
    """For results.json: which snapshots the run used."""
    return {"count": len(snapshots), "taken_at": [iso(s.taken_at) for s in snapshots],
            "folders": [s.root.name for s in snapshots]}


def with_retained(pop: Population, retention: Retention, snapshots: list[Snapshot], start: datetime, end: datetime,
                  run_dir: Path) -> tuple[Population, tuple[Window, ...]]:
    """A short-retention source read at collection, with the rows of the period only snapshots still held.

    Each time is taken from the freshest read that held it: the collection's own read holds the source's last
    ``retention.days``; each snapshot, newest first, adds the rows before what newer reads already hold (within
    what it read: ``WINDOW`` back, or the source's retention if shorter). The population file of every snapshot
    that reads further back than the fresher reads is copied to ``raw/snapshots/<snapshot>/``: the package carries
    the rows it adds, and what it shows held no row. Returns the population and
    the windows the snapshots read (for the evidence basis: what they cover of the period).
    """
    read_at = pd.Timestamp(pop.provenance.collected_at)
    column = retention.time_column
    covered_from = pd.Timestamp(retention.covers_from(read_at))
    added, windows, used = [], [], []
    for snap in sorted(snapshots, key=lambda s: s.taken_at, reverse=True):
        frame = snap.population(pop.name)
        taken = pd.Timestamp(snap.taken_at)
        if frame is None or taken >= read_at:
            continue
        window_start = taken - timedelta(days=min(retention.days, WINDOW.days))
        if window_start >= covered_from:
            continue  # fresher reads already hold all it read (e.g. a source kept longer than the run is late)
        windows.append((window_start.to_pydatetime(), taken.to_pydatetime()))
        times = frame[column]
        rows = frame[(times >= max(window_start, pd.Timestamp(start))) & (times < min(covered_from, taken))
                     & (times < pd.Timestamp(end))]
        covered_from = min(covered_from, window_start)
        if len(rows):
            added.append(rows)
        used.append((snap, len(rows)))
    if not windows:
        return pop, ()
    frame = pd.concat([pop.frame, *added], ignore_index=True) if added else pop.frame
    frame = frame.drop_duplicates().sort_values(column, kind="stable").reset_index(drop=True)
    provenance = copy.deepcopy(pop.provenance)
    for snap, _ in used:
        provenance.raw_files.append(_carry(snap, pop.name, run_dir))
    n = sum(count for _, count in used)
    provenance.notes.append(
        f"{n} row(s) of the period come from {len(used)} snapshot(s) read while the source still held them "
        f"({', '.join(s.root.name for s, _ in sorted(used, key=lambda u: u[0].taken_at))}); each time is taken "
        "from the freshest read holding it; their population files are under raw/snapshots/, as sealed in each "
        "snapshot package")
    return Population(pop.name, frame, provenance), tuple(sorted(windows))


def _carry(snap: Snapshot, name: str, run_dir: Path) -> dict[str, Any]:
    """A snapshot's population file copied into the run's raw folder (once, whichever notebook gets there)."""
    data = (snap.root / snap.populations[name]).read_bytes()
    rel = f"{layout.RAW}/snapshots/{snap.root.name}/{name}.csv"
    target = Path(run_dir) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "xb") as fh:
            fh.write(data)
    except FileExistsError:
        pass
    return {"path": rel, "sha256": sha256_bytes(data), "bytes": len(data)}
