"""The demo's signing key: an SSH key the demo makes for itself, so its packages are signed like real ones.

Kept beside the packages it signs (``<out>/.demo-signing/``) with the allowed-signers file an auditor's
``ssh-keygen -Y verify`` (or ``auditbook verify --expect-signer``) takes. A real organization signs with
its own key or with AWS KMS (params ``signing``); this key proves nothing outside the demo.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from auditbook.signing import Signer

PRINCIPAL = "auditbook-demo@demo-fintech.example"


def demo_signer(out: Path) -> tuple[Signer, Path]:
    """The demo's signer and its allowed-signers file, made on first use in the output folder."""
    folder = Path(out) / ".demo-signing"
    key, allowed = folder / "demo_signing_key", folder / "allowed_signers"
    if not key.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", PRINCIPAL, "-f", str(key)], check=True,
                       capture_output=True, timeout=60)
        public = (folder / "demo_signing_key.pub").read_text().split()
        allowed.write_text(f"{PRINCIPAL} {public[0]} {public[1]}\n")
    return Signer("ssh", str(key)), allowed
