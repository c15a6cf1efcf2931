"""Signing a sealed package, so that whoever holds it cannot change it and seal it again unnoticed.

Sealing writes ``manifest-sha256.txt``: one ``<sha256>  <path>`` line per file of the package,
manifest.json included (the BagIt payload-manifest format, which ``sha256sum -c`` checks). The
signature covers that file, so it covers every file and every fact manifest.json records:

- an SSH signing key (``ssh-keygen -Y sign``; anyone verifies with ``ssh-keygen -Y verify`` and an
  allowed-signers file naming the key): ``manifest-sha256.txt.sig``;
- an AWS KMS asymmetric key (``kms:Sign`` over the file's SHA-256 digest; anyone with ``kms:Verify``
  on the key, or its public key from ``kms:GetPublicKey``, verifies): ``manifest-sha256.txt.kms.sig``
  (the raw signature) and ``manifest-sha256.txt.kms.json`` (key, algorithm, digest).

A package without a signature still verifies against itself, and says that this only protects
against accidental change.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditbook import layout

SSH_NAMESPACE = "auditbook-package"  # the -n of ssh-keygen -Y: a signature for a package, nothing else
KMS_ALGORITHMS = ["RSASSA_PSS_SHA_256", "ECDSA_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256"]
UNSIGNED = "unsigned: protects against accidental change only"


class SigningError(RuntimeError):
    """The package could not be signed: one line naming the signer and the cause."""


@dataclass(frozen=True)
class Signer:
    """How packages are signed: ``ssh:<private key file>`` or ``kms:<key id or ARN>``."""

    kind: str
    key: str

    @classmethod
    def parse(cls, text: str) -> Signer:
        kind, _, key = str(text).partition(":")
        if kind not in ("ssh", "kms") or not key:
            raise ValueError(f"signer {text!r}: expected ssh:<private key file> or kms:<key id or ARN>")
        if kind == "ssh" and not Path(key).expanduser().is_file():
            raise ValueError(f"signer {text!r}: no such SSH private key file")
        return cls(kind, str(Path(key).expanduser()) if kind == "ssh" else key)

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


def signer_in(params: dict[str, Any]) -> Signer | None:
    """The signer params name (``signing.ssh_key`` or ``signing.kms_key``), if any."""
    chosen = params.get("signing") or {}
    if chosen.get("ssh_key") and chosen.get("kms_key"):
        raise ValueError("params signing: name ssh_key or kms_key, not both")
    if chosen.get("ssh_key"):
        return Signer.parse(f"ssh:{chosen['ssh_key']}")
    return Signer("kms", chosen["kms_key"]) if chosen.get("kms_key") else None


def preflight(signer: Signer) -> None:
    """Refuse a signer that cannot sign before a package is started: a key that needs a passphrase, a KMS key
    that is missing, not for signing, or not allowed to this caller."""
    if signer.kind == "ssh":
        done = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", signer.key], capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise SigningError(f"signer {signer}: not a usable SSH private key without a passphrase "
                               f"({' '.join(done.stderr.split())[:120]})")
        return
    import botocore.exceptions

    try:
        key = _kms().describe_key(KeyId=signer.key)["KeyMetadata"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise SigningError(f"signer {signer}: {' '.join(str(exc).split())[:200]}") from None
    if key.get("KeyUsage") != "SIGN_VERIFY" or not set(KMS_ALGORITHMS) & set(key.get("SigningAlgorithms") or []):
        raise SigningError(f"signer {signer}: not an asymmetric SIGN_VERIFY key with a SHA-256 algorithm")


def digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outside_the_manifest(rel: str) -> bool:
    """The seal's own files: the manifests and signatures, which cannot list themselves."""
    return rel in layout.SEAL_FILES


def write_tag_manifest(root: Path, hashes: dict[str, str]) -> Path:
    """``manifest-sha256.txt``: every file of the package (manifest.json included), sorted, sha256sum format."""
    lines = [f"{sha}  {rel}" for rel, sha in sorted(hashes.items())]
    path = root / layout.TAG_MANIFEST
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_tag_manifest(root: Path) -> dict[str, str]:
    hashes = {}
    for n, line in enumerate((root / layout.TAG_MANIFEST).read_text(encoding="utf-8").splitlines(), start=1):
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if not match:
            raise ValueError(f"{layout.TAG_MANIFEST} line {n} is not '<sha256>  <path>'")
        hashes[match.group(2)] = match.group(1)
    return hashes


def sign(root: Path, signer: Signer) -> str:
    """Sign the package's ``manifest-sha256.txt``; returns who signed, in words."""
    tag = root / layout.TAG_MANIFEST
    if signer.kind == "ssh":
        done = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", signer.key, "-n", SSH_NAMESPACE, str(tag)],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise SigningError(f"signer ssh:{signer.key}: {' '.join(done.stderr.split())[:200]}")
        return f"SSH key {_ssh_fingerprint(signer.key)}"
    return _sign_kms(tag, signer.key)


def _kms() -> Any:
    import boto3

    from auditbook.sources.aws.session import RETRY_CONFIG

    return boto3.client("kms", config=RETRY_CONFIG)


def _sign_kms(tag: Path, key_id: str) -> str:
    import botocore.exceptions

    digest = hashlib.sha256(tag.read_bytes()).digest()
    try:
        kms = _kms()
        key = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        offered = key.get("SigningAlgorithms") or []
        algorithm = next((a for a in KMS_ALGORITHMS if a in offered), None)
        if key.get("KeyUsage") != "SIGN_VERIFY" or algorithm is None:
            raise SigningError(f"signer kms:{key_id}: not an asymmetric SIGN_VERIFY key with a SHA-256 algorithm")
        signature = kms.sign(KeyId=key["Arn"], Message=digest, MessageType="DIGEST",
                             SigningAlgorithm=algorithm)["Signature"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise SigningError(f"signer kms:{key_id}: {' '.join(str(exc).split())[:200]}") from None
    (tag.parent / layout.KMS_SIGNATURE).write_bytes(signature)
    (tag.parent / layout.KMS_SIGNATURE_FACTS).write_text(json.dumps({
        "key_arn": key["Arn"], "signing_algorithm": algorithm, "message_type": "DIGEST",
        "message": f"sha256 of {layout.TAG_MANIFEST}", "digest_sha256": digest.hex(),
        "signature_base64": base64.b64encode(signature).decode(),
    }, indent=1) + "\n")
    return f"KMS key {key['Arn']} ({algorithm})"


def _ssh_fingerprint(key_file: str) -> str:
    done = subprocess.run(["ssh-keygen", "-l", "-f", key_file], capture_output=True, text=True, timeout=30)
    parts = done.stdout.split()
    return parts[1] if done.returncode == 0 and len(parts) > 1 else "(fingerprint unreadable)"


@dataclass
class SignatureCheck:
    """What verify found of the seal: ``signed`` (valid), ``unsigned``, or ``invalid`` with the problems."""

    state: str
    signer: str = ""
    problems: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        if self.state == "signed":
            return f"signed by {self.signer}"
        if self.state == "unsigned":
            return UNSIGNED
        return "the signature does NOT hold: " + "; ".join(self.problems)


def check(root: Path, expect_signer: str | None = None) -> SignatureCheck:
    """Check the seal's signature over manifest-sha256.txt (and, given one, that the expected signer made it)."""
    tag = root / layout.TAG_MANIFEST
    ssh_sig, kms_facts = root / layout.SSH_SIGNATURE, root / layout.KMS_SIGNATURE_FACTS
    if not ssh_sig.exists() and not kms_facts.exists():
        problems = [f"a signer was expected ({expect_signer}) but the package is unsigned"] if expect_signer else []
        return SignatureCheck("invalid" if problems else "unsigned", problems=problems)
    if not tag.exists():
        return SignatureCheck("invalid", problems=[f"{layout.TAG_MANIFEST} is missing: the signature covers nothing"])
    if ssh_sig.exists():
        return _check_ssh(tag, ssh_sig, expect_signer)
    return _check_kms(tag, kms_facts, expect_signer)


def _check_ssh(tag: Path, sig: Path, expect_signer: str | None) -> SignatureCheck:
    if expect_signer is None:  # valid signature, key not checked against anyone
        done = subprocess.run(["ssh-keygen", "-Y", "check-novalidate", "-n", SSH_NAMESPACE, "-s", str(sig)],
                              input=tag.read_bytes(), capture_output=True, timeout=60)
        key = re.search(rb"key (SHA256:\S+)", done.stdout + done.stderr)
        if done.returncode != 0:
            return SignatureCheck("invalid", problems=[f"SSH signature does not match {layout.TAG_MANIFEST}"])
        return SignatureCheck("signed", f"SSH key {key.group(1).decode() if key else '?'} (not checked against an "
                                        "expected signer: pass --expect-signer)")
    allowed = Path(expect_signer)
    if not allowed.is_file():
        return SignatureCheck("invalid", problems=[f"--expect-signer {expect_signer}: no such allowed-signers file"])
    found = subprocess.run(["ssh-keygen", "-Y", "find-principals", "-f", str(allowed), "-s", str(sig)],
                           capture_output=True, text=True, timeout=60)
    principals = found.stdout.split()
    if found.returncode != 0 or not principals:
        return SignatureCheck("invalid", problems=[f"the signing key is not in {allowed}"])
    done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", principals[0], "-n", SSH_NAMESPACE,
                           "-s", str(sig)], input=tag.read_bytes(), capture_output=True, timeout=60)
    if done.returncode != 0:
        return SignatureCheck("invalid", problems=[f"SSH signature does not match {layout.TAG_MANIFEST}"])
    return SignatureCheck("signed", f"{principals[0]} (SSH key in {allowed})")


def _check_kms(tag: Path, facts_path: Path, expect_signer: str | None) -> SignatureCheck:
    import botocore.exceptions

    try:
        facts = json.loads(facts_path.read_text())
        signature = (tag.parent / layout.KMS_SIGNATURE).read_bytes()
    except (OSError, ValueError):
        return SignatureCheck("invalid", problems=[f"{layout.KMS_SIGNATURE} or its facts are unreadable"])
    digest = hashlib.sha256(tag.read_bytes()).digest()
    if digest.hex() != facts.get("digest_sha256"):
        return SignatureCheck("invalid", problems=[f"{layout.TAG_MANIFEST} is not the file that was signed"])
    key_arn = facts.get("key_arn", "")
    kms = _kms()
    try:
        if expect_signer is not None and kms.describe_key(KeyId=expect_signer)["KeyMetadata"]["Arn"] != key_arn:
            return SignatureCheck("invalid", problems=[f"signed by {key_arn}, not by the expected {expect_signer}"])
        valid = kms.verify(KeyId=key_arn, Message=digest, MessageType="DIGEST", Signature=signature,
                           SigningAlgorithm=facts.get("signing_algorithm", ""))["SignatureValid"]
    except kms.exceptions.KMSInvalidSignatureException:
        valid = False
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        return SignatureCheck("invalid", problems=[f"KMS could not check the signature: "
                                                   f"{' '.join(str(exc).split())[:160]}"])
    if not valid:
        return SignatureCheck("invalid", problems=[f"KMS signature does not match {layout.TAG_MANIFEST}"])
    note = "" if expect_signer else " (not checked against an expected signer: pass --expect-signer)"
    return SignatureCheck("signed", f"KMS key {key_arn}{note}")
