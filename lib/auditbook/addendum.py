"""Auditor-chosen samples: commit, then reveal.

The sealed package commits to the population each test evaluated (``populations/tested/<test-id>.csv``,
hashed in the signed manifest) before anyone outside sees it. The auditor then picks a seed the entity
could not know, and ``auditbook sample`` draws every test's sample from those sealed files into a sample
addendum beside the package — the package itself is never changed. The addendum names the package it
was drawn from (the sha256 of its manifest-sha256.txt), its own files' hashes, and is signed like a
package; ``auditbook verify PACKAGE --addendum DIR`` checks it all and draws every sample again.

The sample unit is the tested population's row: the unit the test evaluated (a store-day for the daily
backup test, a change for the approval test).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from auditbook import layout, locker, signing
from auditbook.provenance import iso, utc_now
from auditbook.sampling import draw, sample_size

ADDENDUM_JSON = "addendum.json"


class AddendumError(ValueError):
    """The addendum cannot be drawn (the package does not verify, the folder exists): one line."""


def _tested(package: Path, csv: str) -> pd.DataFrame:
    """A tested population exactly as sealed: its rows in their order, every value as written."""
    return pd.read_csv(package / csv, dtype=str, keep_default_na=False)


def _draw_one(package: Path, test: dict[str, Any], sizes: dict[str, int], seed: int) -> tuple[pd.DataFrame, Any]:
    tested = _tested(package, test["tested_population"]["csv"])
    size = sample_size(sizes, test["frequency"], len(tested))
    sample = draw(tested, [], size, seed, test["id"], test["tested_population"]["csv"])
    return sample.frame, sample


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def draw_addendum(package: Path, seed: int, out: Path, sizes: dict[str, int] | None = None,
                  signer: signing.Signer | None = None, expect_signer: str | None = None) -> Path:
    """Draw every test's sample with the auditor's ``seed`` into ``out``; returns the addendum folder."""
    package, out = Path(package), Path(out)
    checked = locker.verify(package, expect_signer)
    if not checked.ok:
        raise AddendumError(f"{package} does not verify ({len(checked.lines())} difference(s)): "
                            "samples are drawn only from a package that does")
    if out.exists():
        raise AddendumError(f"{out} already exists: an addendum is never overwritten")
    results = json.loads((package / layout.RESULTS_JSON).read_text())
    manifest = json.loads((package / layout.MANIFEST).read_text())
    params = yaml.safe_load((package / layout.RESOLVED_PARAMS).read_text()) or {}
    chosen = {**(params.get("sampling") or {}).get("sizes", {}), **(sizes or {})}
    staging = out.with_name(f".{out.name}.drawing")
    shutil.rmtree(staging, ignore_errors=True)
    tests = []
    try:
        for crit in results["criteria"]:
            for test in crit["tests"]:
                if not test.get("tested_population"):
                    continue  # ERROR or NOT_APPLICABLE: nothing was tested, nothing to sample
                frame, sample = _draw_one(package, test, chosen, seed)
                rel = layout.sample_csv(test["id"])
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                (staging / rel).write_bytes(_csv_bytes(frame))
                csv = test["tested_population"]["csv"]
                tests.append({"id": test["id"], "frequency": test["frequency"], "tested_population": csv,
                              "tested_sha256": manifest["files"][csv]["sha256"], "rows": sample.population_size,
                              "sample": rel, "size": sample.size, "seed": sample.seed, "method": sample.method})
        facts = {
            "what": "auditor-chosen samples drawn after the seal from the package's sealed tested populations",
            "package": {"run_id": results["run_id"], "organization": results["organization"],
                        "period": results["period"]["label"], "manifest_sha256_txt": checked.digest,
                        "verified": checked.signature.sentence()},
            "seed": seed, "sizes": chosen, "drawn_at": iso(utc_now()), "tests": tests,
        }
        (staging / ADDENDUM_JSON).write_text(json.dumps(facts, indent=1) + "\n")
        hashes = {rel: locker.sha256_file(staging / rel) for rel in locker.package_files(staging)}
        signing.write_tag_manifest(staging, hashes)
        if signer is not None:
            signing.sign(staging, signer)
        locker.seal(staging)
        staging.rename(out)
    except BaseException:
        locker.unseal_and_remove(staging)
        raise
    return out


@dataclass
class AddendumCheck:
    problems: list[str] = field(default_factory=list)
    signature: signing.SignatureCheck = field(default_factory=lambda: signing.SignatureCheck("unsigned"))
    samples: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.signature.state != "invalid"


def check_addendum(package: Path, addendum: Path, package_digest: str,
                   expect_signer: str | None = None) -> AddendumCheck:
    """The addendum's own hashes and signature, that it was drawn from this package, and every sample again."""
    result = AddendumCheck()
    try:
        facts = json.loads((addendum / ADDENDUM_JSON).read_text())
        listed = signing.read_tag_manifest(addendum)
    except (OSError, ValueError) as exc:
        result.problems.append(f"addendum {addendum}: unreadable ({exc})")
        return result
    present = set(locker.package_files(addendum))
    for rel in sorted(present | set(listed)):
        if rel not in present or listed.get(rel) != locker.sha256_file(addendum / rel):
            result.problems.append(f"addendum file {rel} differs from its {layout.TAG_MANIFEST}")
    result.signature = signing.check(addendum, expect_signer)
    if facts.get("package", {}).get("manifest_sha256_txt") != package_digest:
        result.problems.append("the addendum was drawn from another package (its manifest-sha256.txt differs)")
        return result
    manifest = json.loads((package / layout.MANIFEST).read_text())
    for test in facts.get("tests", []):
        if manifest["files"].get(test["tested_population"], {}).get("sha256") != test["tested_sha256"]:
            result.problems.append(f"{test['id']}: the tested population is not the one the sample was drawn from")
            continue
        frame, _ = _draw_one(package, {"id": test["id"], "frequency": test["frequency"],
                                       "tested_population": {"csv": test["tested_population"]}},
                             facts["sizes"], facts["seed"])
        if (addendum / test["sample"]).read_bytes() != _csv_bytes(frame):
            result.problems.append(f"{test['id']}: the sample is not the one seed {facts['seed']} draws")
        result.samples += 1
    return result
