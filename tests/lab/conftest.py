"""The lab in a real browser: collected only by `make test-lab` (AUDITBOOK_LAB_PYTHON names the lab's Python)."""

import os

collect_ignore_glob = [] if os.environ.get("AUDITBOOK_LAB_PYTHON") else ["test_*.py"]
