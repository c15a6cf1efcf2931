"""Readings of a configuration population in the organization's snapshot packages, as one population.

Each daily snapshot (``auditbook snapshot``) read the configuration as it was that morning. A timeline replays
CloudTrail's change events from those readings (:func:`auditbook.timeline.replay`): they are the moments the
state is known between the events. The run found and verified the packages (``Context.snapshot_folders``);
each population file read is carried into the run's ``raw/snapshots/<snapshot>/`` with its hash.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from auditbook.provenance import Collected, Provenance, RawStore, iso, utc_now

SNAPSHOT_JSON = "snapshot.json"


def collect_states(raw: RawStore, population: str, folders: list[str]) -> Collected:
    """Every snapshot's rows of ``population``, each with the moment it was taken (``taken_at``)."""
    import json

    from auditbook import catalog  # the catalog names this collector: imported when it runs

    prov = Provenance(system="auditbook:snapshots", endpoint="snapshot packages", scope=population,
                      caller="auditbook", collected_at=iso(utc_now()) or "")
    frames = []
    for folder in map(Path, folders):
        facts = json.loads((folder / SNAPSHOT_JSON).read_text())
        held = (facts.get("populations") or {}).get(population)
        if not held or population in (facts.get("collection_errors") or {}):
            prov.notes.append(f"{folder.name}: holds no reading of {population}")
            continue
        data = (folder / held["file"]).read_bytes()
        prov.raw_files.append(raw.save(f"snapshots/{folder.name}/{population}.csv", data))
        frame = catalog.read_csv(population, folder / held["file"])
        frame.insert(0, "taken_at", pd.Timestamp(facts["taken_at"]))
        frames.append(frame)
        prov.add_operation("read snapshot", {"snapshot": folder.name, "population": held["file"]},
                           records=len(frame))
    columns = ["taken_at", *catalog.entry(population).columns]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return Collected(frame, prov)
