"""No secret in any output: the scanner over every package the tests produce, raw responses included."""

from __future__ import annotations

import gzip

from secretscan import demo_secret_values, scan


def test_the_scanner_finds_what_it_looks_for(tmp_path):
    values = demo_secret_values()
    assert {"demo-token", "Demo-Password-Not-A-Secret-1!", "demo-placeholder-not-a-secret"} <= values
    (tmp_path / "raw").mkdir()
    planted = {
        "raw/a.json": '{"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", '
                      '"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}',
        "raw/b.json": '{"token": "ghp_' + "a" * 36 + '"}',
        "raw/c.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
        "raw/d.csv": "user,password\nx,Demo-Password-Not-A-Secret-1!\n",
    }
    for rel, text in planted.items():
        (tmp_path / rel).write_text(text)
    (tmp_path / "raw" / "e.json.gz").write_bytes(gzip.compress(b'{"SecretString": "demo-placeholder-not-a-secret"}'))
    found = "\n".join(scan(tmp_path))
    for rel in [*planted, "raw/e.json.gz"]:
        assert rel in found, rel


def test_access_key_ids_alone_are_not_secrets(tmp_path):
    """CloudTrail records name the access key id a call was signed with: evidence, not a secret."""
    (tmp_path / "t.json").write_text('{"userIdentity": {"accessKeyId": "ASIAXAMPLE1234567890", "arn": "x"}}')
    assert scan(tmp_path) == []


def test_demo_package_holds_no_secret(demo_run):
    assert scan(demo_run.run_dir) == []


def test_the_ci_exports_are_scanned(writable_copy, tmp_path):
    """results.junit.xml and findings.ocsf.json carry collected text (deviation details): scanned like the rest."""
    from auditbook import layout

    copy = writable_copy(tmp_path / "pkg")
    for name in (layout.JUNIT_XML, layout.OCSF_FINDINGS):
        path = copy / name
        assert path.is_file(), name
        path.write_text(path.read_text(encoding="utf-8").replace("CC6.1-MFA", "ghp_" + "b" * 36, 1), encoding="utf-8")
    found = "\n".join(scan(copy))
    assert f"{layout.JUNIT_XML}: GitHub token" in found and f"{layout.OCSF_FINDINGS}: GitHub token" in found
