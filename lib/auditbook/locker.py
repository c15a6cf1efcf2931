"""The package seal: a manifest with the sha256 of every file, write-once folders, verify.

A run is assembled in a staging folder beside its final place and renamed into place only when
complete, so a reader never sees half a package and an existing run is never replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditbook import layout, signing

MANIFEST = layout.MANIFEST
MANIFEST_SCHEMA_VERSION = "1.0"


class PackageError(RuntimeError):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_files(root: Path) -> list[str]:
    """Every file of a package except the seal's own (manifests, signatures), as sorted POSIX paths."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not signing.outside_the_manifest(p.relative_to(root).as_posix())
    )


def write_manifest(root: Path, facts: dict[str, Any], signer: signing.Signer | None = None) -> dict[str, Any]:
    """manifest.json (every file's sha256 and the run's facts), then manifest-sha256.txt over every file with
    manifest.json, then its signature when a signer is given."""
    files = {rel: {"sha256": sha256_file(root / rel), "bytes": (root / rel).stat().st_size}
             for rel in package_files(root)}
    manifest = {"schema_version": MANIFEST_SCHEMA_VERSION, **facts, "files": files}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=False, default=str))
    hashes = {rel: entry["sha256"] for rel, entry in files.items()}
    signing.write_tag_manifest(root, {**hashes, MANIFEST: sha256_file(root / MANIFEST)})
    if signer is not None:
        manifest["signed_by"] = signing.sign(root, signer)
    return manifest


def seal(root: Path) -> None:
    """Make every file and folder read-only: the package is evidence, not a working copy."""
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    root.chmod(root.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def publish(staging: Path, final: Path) -> None:
    """Move a complete package into place; refuse if anything is already there."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise PackageError(f"{final} already exists: a run is never overwritten")
    # rename() of a directory onto an existing non-empty one fails, so a race cannot replace a run.
    os.rename(staging, final)


def unseal_and_remove(path: Path) -> None:
    """Remove a (possibly read-only) folder this process made: a staging folder or an addendum being drawn.

    Tolerant of another process removing it at the same time (two runs cleaning one output folder).
    """
    import contextlib
    import shutil

    if not path.exists():
        return
    for folder, _, _ in os.walk(path):
        with contextlib.suppress(OSError):
            os.chmod(folder, os.stat(folder).st_mode | 0o700)
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Verification:
    root: Path
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    facts: dict[str, Any] = field(default_factory=dict)
    signature: signing.SignatureCheck = field(default_factory=lambda: signing.SignatureCheck("unsigned"))
    digest: str = ""  # sha256 of manifest-sha256.txt: what a signature covers, and what an addendum binds to

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.problems) \
            and self.signature.state != "invalid"

    def lines(self) -> list[str]:
        out = [f"changed: {p}" for p in self.changed]
        out += [f"missing: {p}" for p in self.missing]
        out += [f"added: {p}" for p in self.added]
        out += [f"problem: {p}" for p in self.problems]
        out += [f"signature: {p}" for p in self.signature.problems]
        return out

    def verdict(self, checked_at: str, version: str) -> str:
        """A short paragraph an auditor can paste into the working papers."""
        f = self.facts
        what = (f"package {self.root} ({f.get('organization') or 'unknown organization'}, period "
                f"{f.get('period') or '?'}, run {f.get('run_id') or '?'})")
        if self.ok:
            c = f.get("counts") or {}
            numbers = (f" ({c.get('criteria', '?')} criteria, {c.get('tests', '?')} tests, {c.get('deviations', '?')} "
                       f"deviations of which {c.get('accepted', 0)} accepted in the exception register)") if c else ""
            return (f"verified: {what}: all {self.checked} files match the sha256 recorded in manifest.json, no file "
                    f"is missing or added, and results.json, exceptions.csv and the reports agree with the "
                    f"manifest{numbers}; {self.signature.sentence()}; manifest-sha256.txt sha256 {self.digest}. "
                    f"Checked {checked_at} with auditbook {version}.")
        return (f"NOT verified: {what}: {len(self.lines())} difference(s) from manifest.json, listed above. "
                f"Checked {checked_at} with auditbook {version}.")


def verify(root: Path, expect_signer: str | None = None, require_signature: bool = False) -> Verification:
    """Every hash, every cross-check between the package's records, and the signature."""
    result = Verification(root)
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        recorded: dict[str, dict[str, Any]] = manifest["files"]
    except FileNotFoundError:
        result.problems.append(f"{MANIFEST} is missing: nothing to verify against")
        return result
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        result.problems.append(f"{MANIFEST} is unreadable ({type(exc).__name__})")
        return result
    present = set(package_files(root))
    for rel, entry in sorted(recorded.items()):
        if rel not in present:
            result.missing.append(rel)
        elif sha256_file(root / rel) != entry.get("sha256"):
            result.changed.append(rel)
        result.checked += 1
    result.added = sorted(present - set(recorded))
    result.problems += tag_manifest(root, recorded)
    result.problems += consistency(root, manifest, present)
    result.problems += cross_checks(root, manifest)
    result.signature = signing.check(root, expect_signer)
    if require_signature and result.signature.state == "unsigned":
        result.problems.append("the package is unsigned and --require-signature was given")
    if (root / layout.TAG_MANIFEST).is_file():
        result.digest = sha256_file(root / layout.TAG_MANIFEST)
    result.facts = {k: manifest.get(k) for k in ("organization", "run_id", "counts")}
    result.facts["period"] = (manifest.get("period") or {}).get("label")
    return result


def tag_manifest(root: Path, recorded: dict[str, dict[str, Any]]) -> list[str]:
    """manifest-sha256.txt lists exactly manifest.json's files with the same hashes, and manifest.json itself."""
    if not (root / layout.TAG_MANIFEST).is_file():
        return [f"{layout.TAG_MANIFEST} is missing"]
    try:
        listed = signing.read_tag_manifest(root)
    except (OSError, ValueError) as exc:
        return [f"{layout.TAG_MANIFEST} is unreadable: {exc}"]
    problems = []
    if listed.pop(MANIFEST, None) != sha256_file(root / MANIFEST):
        problems.append(f"{MANIFEST} is not the one {layout.TAG_MANIFEST} lists")
    differ = sorted(rel for rel in set(listed) | set(recorded)
                    if listed.get(rel) != (recorded.get(rel) or {}).get("sha256"))
    if differ:
        problems.append(f"{layout.TAG_MANIFEST} and {MANIFEST} differ for {', '.join(differ[:5])}"
                        + (f" and {len(differ) - 5} more" if len(differ) > 5 else ""))
    return problems


def cross_checks(root: Path, manifest: dict[str, Any]) -> list[str]:
    """Every record of the run against every other: the manifest's facts and run.json; results.json and each
    criterion's own record; the OSCAL findings' states and the index's statuses against results.json."""
    import re

    results, run = _read_json(root / layout.RESULTS_JSON), _read_json(root / layout.RUN_JSON)
    if not isinstance(results, dict) or "criteria" not in results:
        return []
    problems = []
    if isinstance(run, dict):
        for key in ("run_id", "generated_at", "organization", "params_digest", "git_commit", "run_by"):
            if key in manifest and manifest.get(key) != run.get(key):
                problems.append(f"{key} differs: {MANIFEST} {manifest.get(key)!r}, {layout.RUN_JSON} {run.get(key)!r}")
        if (manifest.get("period") or {}).get("label") != (run.get("period") or {}).get("label"):
            problems.append(f"period differs between {MANIFEST} and {layout.RUN_JSON}")
    tests = {}
    for crit in results["criteria"]:
        own = _read_json(root / layout.criterion_results(crit["criterion"]))
        for t in crit.get("tests", []):
            tests[t["id"]] = t
        if own is None:
            continue
        if own.get("status") != crit.get("status") and not crit.get("error"):
            problems.append(f"{crit['criterion']} is {crit.get('status')} in results.json, {own.get('status')} in "
                            f"{layout.criterion_results(crit['criterion'])}")
        for t in own.get("tests", []):
            mine = tests.get(t["id"], {})
            for key in ("status", "deviation_count", "population_size"):
                if mine.get(key) != t.get(key):
                    problems.append(f"{t['id']} {key}: results.json {mine.get(key)}, "
                                    f"{layout.criterion_results(crit['criterion'])} {t.get(key)}")
    oscal = _read_json(root / layout.OSCAL)
    for result in (oscal or {}).get("assessment-results", {}).get("results", []):
        for finding in result.get("findings", []):
            test_id = finding.get("title", "").split(" ", 1)[0]
            state = finding.get("target", {}).get("status", {}).get("state")
            if test_id in tests and (state == "satisfied") != (tests[test_id]["status"] == "PASS"):
                problems.append(f"{test_id}: OSCAL finding {state}, results.json {tests[test_id]['status']}")
    index = root / layout.INDEX_HTML
    if index.is_file():
        html = index.read_text(encoding="utf-8", errors="replace")
        for test_id, test in tests.items():
            row = re.search(rf"<tr><td>{re.escape(test_id)}</td>.*?</tr>", html, re.S)
            shown = re.findall(r">(PASS|FAIL|ERROR|NOT_APPLICABLE)</span>", row.group(0)) if row else []
            if not shown or shown[0] != test["status"]:
                problems.append(f"{test_id}: the index shows {shown[0] if shown else 'nothing'}, results.json "
                                f"{test['status']}")
    return problems + _export_checks(root, tests)


def _export_checks(root: Path, tests: dict[str, dict[str, Any]]) -> list[str]:
    """results.junit.xml's testcases and findings.ocsf.json's findings (packages before them have neither)
    against results.json: each test's status, its deviations and how many the register accepted, its ERROR."""
    import xml.etree.ElementTree as ET  # expat refuses entity expansion bombs and never fetches external ones

    problems = []
    if (root / layout.JUNIT_XML).is_file():
        marks = {"failure": "FAIL", "error": "ERROR", "skipped": "NOT_APPLICABLE"}
        try:
            shown = {case.get("name"): next((marks[c.tag] for c in case if c.tag in marks), "PASS")
                     for case in ET.parse(root / layout.JUNIT_XML).getroot().iter("testcase")}
        except ET.ParseError:
            shown = None
            problems.append(f"{layout.JUNIT_XML} is unreadable")
        for test_id, test in tests.items() if shown is not None else ():
            if shown.get(test_id) != test["status"]:
                problems.append(f"{test_id}: {layout.JUNIT_XML} shows {shown.get(test_id, 'nothing')}, "
                                f"results.json {test['status']}")
    if (root / layout.OCSF_FINDINGS).is_file():
        findings = _read_json(root / layout.OCSF_FINDINGS)
        if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
            return [*problems, f"{layout.OCSF_FINDINGS} is unreadable"]
        found: dict[str, list[int]] = {}
        warned = set()  # tests in ERROR: a finding with compliance status Warning each
        for finding in findings:
            compliance = finding.get("compliance") or {}
            if compliance.get("status") == "Warning":
                warned.add(str(compliance.get("control")))
                continue
            counts = found.setdefault(str(compliance.get("control")), [0, 0])
            counts[0] += 1
            counts[1] += finding.get("status") == "Suppressed"
        errored = {t for t, test in tests.items() if test["status"] == "ERROR"}
        if errored - warned:
            problems.append(f"{layout.OCSF_FINDINGS} has no Warning finding for {', '.join(sorted(errored - warned))}"
                            f" (ERROR in results.json)")
        declared = {t: [test["deviation_count"], test.get("accepted_count", 0)] for t, test in tests.items()
                    if test["deviation_count"]}
        for test_id in sorted(set(found) | set(declared)):
            mine, theirs = found.get(test_id, [0, 0]), declared.get(test_id, [0, 0])
            if mine != theirs:
                problems.append(f"{test_id}: {layout.OCSF_FINDINGS} has {mine[0]} findings ({mine[1]} suppressed), "
                                f"results.json {theirs[0]} deviations ({theirs[1]} accepted)")
    return problems


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def consistency(root: Path, manifest: dict[str, Any], present: set[str]) -> list[str]:
    """The manifest against results.json, exceptions.csv and the reports: counts agree, reports exist."""
    import csv

    problems: list[str] = []
    if manifest.get("kind") == "snapshot":  # a snapshot holds populations only: its hashes are what is checked
        return problems
    if layout.RESULTS_JSON not in present:  # the hash check names it missing (or the folder is no run package)
        return [] if layout.RESULTS_JSON in manifest.get("files", {}) else [f"{layout.RESULTS_JSON} is missing"]
    results = _read_json(root / layout.RESULTS_JSON)
    if not isinstance(results, dict):
        return ["results.json is unreadable"]
    if "criteria" not in results and not manifest.get("counts"):
        return []  # not a run's package (no criteria, no counts): nothing to cross-check
    for key in ("run_id", "params_digest"):
        if manifest.get(key) != results.get(key):
            problems.append(f"{key} differs: manifest.json {manifest.get(key)}, results.json {results.get(key)}")
    statuses = {c["criterion"]: c["status"] for c in results.get("criteria", [])}
    if manifest.get("criteria") is not None and manifest["criteria"] != statuses:
        problems.append(f"criterion statuses differ: manifest.json {manifest['criteria']}, results.json {statuses}")
    tests = [t for c in results.get("criteria", []) for t in c.get("tests", [])]
    if layout.EXCEPTIONS_CSV not in present:
        return problems + ([] if layout.EXCEPTIONS_CSV in manifest.get("files", {})
                           else [f"{layout.EXCEPTIONS_CSV} is missing"])
    try:
        with open(root / layout.EXCEPTIONS_CSV, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return [*problems, "exceptions.csv is unreadable"]
    by_test: dict[str, int] = {}
    for row in rows:
        by_test[row.get("test_id", "")] = by_test.get(row.get("test_id", ""), 0) + 1
    declared = {t["id"]: t["deviation_count"] for t in tests if t["deviation_count"]}
    if by_test != declared:
        diff = sorted(k for k in set(by_test) | set(declared) if by_test.get(k, 0) != declared.get(k, 0))
        problems.append(f"exceptions.csv rows differ from results.json deviation counts for {', '.join(diff)}")
    accepted_rows = sum(1 for r in rows if r.get("status") == "accepted")
    accepted = sum(t.get("accepted_count", 0) for t in tests)
    if accepted_rows != accepted:
        problems.append(f"accepted deviations: exceptions.csv {accepted_rows}, results.json {accepted}")
    counts = manifest.get("counts")
    if counts:
        mine = {"tests": len(tests), "deviations": len(rows), "accepted": accepted_rows,
                "deviations_by_test": by_test}
        for key, value in mine.items():
            if counts.get(key) != value:
                problems.append(f"manifest.json counts.{key} is {counts.get(key)}, the package has {value}")
    reports = sorted(rel for c in results.get("criteria", []) for rel in c.get("report", {}).values())
    for rel in reports + [layout.INDEX_HTML, layout.INDEX_PDF]:
        if rel not in present:
            problems.append(f"report {rel} is listed but missing")
    if manifest.get("reports") is not None and sorted(manifest["reports"]) != reports:
        problems.append("the reports listed in manifest.json and results.json differ")
    oscal = _read_json(root / layout.OSCAL)
    if oscal is not None:
        findings = sum(len(r.get("findings", [])) for r in oscal.get("assessment-results", {}).get("results", []))
        if findings != len(tests):
            problems.append(f"oscal/assessment-results.json has {findings} findings for {len(tests)} tests")
    return problems
