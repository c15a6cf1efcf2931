"""The evidence package's file names, in one place: every writer and reader of a package uses these.

```
outputs/<period>/<run-id>/
  run.json  params.resolved.yaml  exceptions-register.yaml  run.log (the run's log, auditbook.logs)
  reports/<criterion>.ipynb|.html|.pdf  reports/index.html|.pdf
  results/<criterion>.json          one criterion's record, written by its notebook
  populations/<name>.csv            every population collected or derived, complete
  populations/tested/<test-id>.csv  exactly the rows each test evaluated (N), in the sample's order
  samples/<test-id>.csv             the seeded sample, population_row = row of the tested CSV
  raw/<source>/...                  raw API answers as received
  results.json  exceptions.csv  oscal/assessment-results.json  manifest.json
  sbom.cdx.json                     CycloneDX SBOM: every distribution installed where the run ran
  results.junit.xml  findings.ocsf.json      CI exports: JUnit per control test, OCSF per deviation and ERROR
  manifest-sha256.txt               every file (manifest.json included) with its sha256, sha256sum format
  manifest-sha256.txt.sig | .kms.sig + .kms.json    the signature over it (SSH or AWS KMS), when signed
```
"""

from __future__ import annotations

RUN_JSON = "run.json"
RESOLVED_PARAMS = "params.resolved.yaml"
RUN_LOG = "run.log"
REGISTER_COPY = "exceptions-register.yaml"
RESULTS_JSON = "results.json"
EXCEPTIONS_CSV = "exceptions.csv"
SBOM = "sbom.cdx.json"  # CycloneDX SBOM of the environment that produced the package (auditbook.sbom)
MANIFEST = "manifest.json"
TAG_MANIFEST = "manifest-sha256.txt"  # every file with its sha256, manifest.json included: what is signed
SSH_SIGNATURE = "manifest-sha256.txt.sig"
KMS_SIGNATURE = "manifest-sha256.txt.kms.sig"
KMS_SIGNATURE_FACTS = "manifest-sha256.txt.kms.json"
SEAL_FILES = (MANIFEST, TAG_MANIFEST, SSH_SIGNATURE, KMS_SIGNATURE, KMS_SIGNATURE_FACTS)  # not in manifest.json
OSCAL = "oscal/assessment-results.json"
JUNIT_XML = "results.junit.xml"  # one testcase per control test, for CI dashboards
OCSF_FINDINGS = "findings.ocsf.json"  # OCSF Compliance Findings (deviations, tests in ERROR): security tooling
REPORTS = "reports"
INDEX_HTML = "reports/index.html"
INDEX_PDF = "reports/index.pdf"
TESTS_OF_CONTROLS_MD = f"{REPORTS}/tests-of-controls.md"  # section IV of the SOC 2 report, to paste
RAW = "raw"
POPULATIONS = "populations"
CACHE_DIR = ".evidence"  # working state of a run: removed before the package is sealed
COLLECT_NOTEBOOKS = f"{CACHE_DIR}/notebooks"  # collect-only executions (a scheduler's fan-out)


def population_csv(name: str) -> str:
    return f"{POPULATIONS}/{name}.csv"


# A population larger than this is written as Parquet (a CSV of tens of millions of events is neither readable
# nor small); its tested rows stay CSV (``populations/tested``), whatever their number.
PARQUET_ROWS = 100_000


def population_file(name: str, rows: int) -> str:
    """The population's file in the package: CSV, or Parquet above :data:`PARQUET_ROWS` rows."""
    return f"{POPULATIONS}/{name}.parquet" if rows > PARQUET_ROWS else population_csv(name)


def population_xlsx(name: str) -> str:
    return f"{POPULATIONS}/{name}.xlsx"


def tested_csv(test_id: str) -> str:
    return f"{POPULATIONS}/tested/{test_id}.csv"


def sample_csv(test_id: str) -> str:
    return f"samples/{test_id}.csv"


def criterion_results(criterion: str) -> str:
    return f"results/{criterion}.json"


def report(criterion: str, kind: str) -> str:
    """``kind``: ipynb, html or pdf."""
    return f"{REPORTS}/{criterion}.{kind}"
