"""A package nobody can quietly re-seal: the signature over manifest-sha256.txt covers every file and every fact,
every record is cross-checked against every other, and an auditor verifies with OpenSSH and coreutils alone.

The three forgeries measured on an unsigned package (a population CSV changed and re-hashed; CC8.1 turned from
FAIL to PASS consistently in results.json, exceptions.csv and the manifest; the manifest's facts edited) are
all detected on a signed package; on an unsigned one the cross-checks catch the last two, and verify says
the seal only protects against accidental change.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from auditbook import layout, locker, signing
from auditbook.addendum import check_addendum, draw_addendum
from auditbook.demo.signing_key import PRINCIPAL, demo_signer


def rehash(root: Path, changed: list[str]) -> None:
    """What an insider does after editing: record the new hashes in manifest.json and manifest-sha256.txt."""
    manifest = json.loads((root / layout.MANIFEST).read_text())
    for rel in changed:
        manifest["files"][rel]["sha256"] = locker.sha256_file(root / rel)
    (root / layout.MANIFEST).write_text(json.dumps(manifest, indent=1))
    hashes = {rel: entry["sha256"] for rel, entry in manifest["files"].items()}
    signing.write_tag_manifest(root, {**hashes, layout.MANIFEST: locker.sha256_file(root / layout.MANIFEST)})


def unsigned(root: Path) -> Path:
    (root / layout.SSH_SIGNATURE).unlink()
    return root


def forge_population(root: Path) -> None:
    path = root / layout.population_csv("iam-credential-report")
    text = path.read_text()
    assert "False" in text
    path.write_text(text.replace("False", "True", 1))  # e.g. an MFA device nobody has
    rehash(root, [layout.population_csv("iam-credential-report")])


def forge_cc81_pass(root: Path) -> None:
    """CC8.1 FAIL → PASS in results.json, its exceptions.csv rows deleted, the manifest's criteria and counts edited."""
    results = json.loads((root / layout.RESULTS_JSON).read_text())
    crit = next(c for c in results["criteria"] if c["criterion"] == "CC8.1")
    crit["status"] = "PASS"
    for t in crit["tests"]:
        t["status"], t["deviation_count"] = "PASS", 0
    (root / layout.RESULTS_JSON).write_text(json.dumps(results, indent=1))
    with open(root / layout.EXCEPTIONS_CSV, newline="") as fh:
        rows = list(csv.DictReader(fh))
    kept = [r for r in rows if r["criterion"] != "CC8.1"]
    with open(root / layout.EXCEPTIONS_CSV, "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    manifest = json.loads((root / layout.MANIFEST).read_text())
    manifest["criteria"]["CC8.1"] = "PASS"
    counts = manifest["counts"]
    counts["deviations"] = len(kept)
    counts["deviations_by_test"] = {k: v for k, v in counts["deviations_by_test"].items() if not k.startswith("CC8.1")}
    (root / layout.MANIFEST).write_text(json.dumps(manifest, indent=1))
    rehash(root, [layout.RESULTS_JSON, layout.EXCEPTIONS_CSV])


def forge_manifest_facts(root: Path) -> None:
    manifest = json.loads((root / layout.MANIFEST).read_text())
    manifest.update(organization="Totally Different Corp", run_by="someone else", git_commit="0" * 40)
    manifest["period"]["label"] = "2025-Q3"
    (root / layout.MANIFEST).write_text(json.dumps(manifest, indent=1))
    rehash(root, [])


FORGERIES = {"re-hashed population CSV": forge_population, "consistent CC8.1 FAIL to PASS": forge_cc81_pass,
             "manifest facts edited": forge_manifest_facts}


def test_the_demo_package_is_signed_and_verifies_against_its_signer(demo_run):
    result = locker.verify(demo_run.run_dir, str(demo_run.allowed_signers), require_signature=True)
    assert result.ok, result.lines()
    assert result.signature.signer.startswith(PRINCIPAL)
    assert result.digest == locker.sha256_file(demo_run.run_dir / layout.TAG_MANIFEST)


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES)
def test_a_forgery_of_a_signed_package_is_detected(demo_run, writable_copy, tmp_path, forge):
    root = writable_copy(tmp_path / "forged")
    forge(root)
    result = locker.verify(root, str(demo_run.allowed_signers))
    assert not result.ok and result.signature.state == "invalid", result.signature
    assert "does not match" in result.signature.sentence()


@pytest.mark.parametrize(("forge", "caught"), [(forge_cc81_pass, "CC8.1 is PASS in results.json, FAIL in"),
                                               (forge_manifest_facts, "organization differs")])
def test_unsigned_the_cross_checks_still_catch_a_consistent_forgery(writable_copy, tmp_path, forge, caught):
    root = unsigned(writable_copy(tmp_path / "forged"))
    forge(root)
    result = locker.verify(root)
    assert not result.ok and any(caught in p for p in result.problems), result.problems


def test_unsigned_says_what_it_protects_against_and_can_be_required(writable_copy, tmp_path):
    root = unsigned(writable_copy(tmp_path / "plain"))
    result = locker.verify(root)
    assert result.ok and signing.UNSIGNED in result.verdict("now", "x")
    required = locker.verify(root, require_signature=True)
    assert not required.ok and "unsigned and --require-signature" in " ".join(required.problems)


def test_a_package_resigned_with_another_key_fails_the_expected_signer(demo_run, writable_copy, tmp_path):
    root = writable_copy(tmp_path / "resigned")
    forge_population(root)
    (root / layout.SSH_SIGNATURE).unlink()
    other, _ = demo_signer(tmp_path / "insider")
    signing.sign(root, other)
    assert locker.verify(root).ok  # valid signature by some key: only the expected signer tells them apart
    result = locker.verify(root, str(demo_run.allowed_signers))
    assert not result.ok and "the signing key is not in" in result.signature.sentence()


def test_an_auditor_verifies_with_openssh_and_coreutils_alone(demo_run):
    root = demo_run.run_dir
    ssh = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(demo_run.allowed_signers), "-I", PRINCIPAL,
                          "-n", "auditbook-package", "-s", layout.SSH_SIGNATURE],
                         input=(root / layout.TAG_MANIFEST).read_text(), cwd=root, capture_output=True, text=True)
    assert ssh.returncode == 0 and "Good" in ssh.stdout, ssh.stderr
    sums = subprocess.run(["sha256sum", "--check", "--quiet", layout.TAG_MANIFEST], cwd=root, capture_output=True,
                          text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    listed = (root / layout.TAG_MANIFEST).read_text().splitlines()
    assert len(listed) == len(locker.package_files(root)) + 1  # every file, and manifest.json


def test_kms_signs_and_verifies_and_names_the_wrong_key(demo_env, writable_copy, tmp_path):
    import boto3

    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    other = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    root = unsigned(writable_copy(tmp_path / "kms"))
    facts = {k: v for k, v in json.loads((root / layout.MANIFEST).read_text()).items()
             if k not in ("files", "schema_version")}
    signed_by = locker.write_manifest(root, facts, signing.Signer("kms", key))["signed_by"]
    assert signed_by.startswith(f"KMS key {key}")
    assert locker.verify(root, key, require_signature=True).ok
    facts_file = json.loads((root / layout.KMS_SIGNATURE_FACTS).read_text())
    assert facts_file["digest_sha256"] == hashlib.sha256((root / layout.TAG_MANIFEST).read_bytes()).hexdigest()
    assert "not by the expected" in locker.verify(root, other).signature.sentence()
    forge_manifest_facts(root)
    assert locker.verify(root, key).signature.state == "invalid"


def test_auditor_samples_are_drawn_from_the_sealed_populations_without_changing_the_package(demo_run, tmp_path):
    root = demo_run.run_dir
    before = locker.sha256_file(root / layout.TAG_MANIFEST)
    signer, allowed = demo_signer(tmp_path / "auditor")
    first = draw_addendum(root, 424242, tmp_path / "a", signer=signer, expect_signer=str(demo_run.allowed_signers))
    digest = locker.verify(root).digest
    assert digest == before and locker.verify(root, str(demo_run.allowed_signers)).ok
    check = check_addendum(root, first, digest, str(allowed))
    assert check.ok and check.samples == 65, check.problems
    second = draw_addendum(root, 7, tmp_path / "b")
    a = (first / layout.sample_csv("CC8.1-APPROVED")).read_text()
    assert a != (second / layout.sample_csv("CC8.1-APPROVED")).read_text()  # the auditor's seed decides
    assert a != (root / layout.sample_csv("CC8.1-APPROVED")).read_text()  # not the entity's sample
    with open(first / layout.sample_csv("A1.2-DAILY-BACKUP"), newline="") as fh:
        rows = list(csv.DictReader(fh))[:3]
    for row in rows:
        assert row["store_id"] and row["day"]  # the unit sampled is the unit tested: a store-day
    with pytest.raises(ValueError, match="never overwritten"):
        draw_addendum(root, 424242, first)


def test_a_changed_addendum_or_one_from_another_package_fails(demo_run, tmp_path):
    root = demo_run.run_dir
    addendum = draw_addendum(root, 99, tmp_path / "x")
    digest = locker.verify(root).digest
    assert check_addendum(root, addendum, "0" * 64).problems[0].startswith("the addendum was drawn from another")
    for path in [addendum, *addendum.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    sample = addendum / layout.sample_csv("CC6.1-MFA")
    sample.write_text(sample.read_text().replace("\n1,", "\n2,", 1))
    problems = check_addendum(root, addendum, digest).problems
    assert any("samples/CC6.1-MFA.csv differs" in p for p in problems), problems
