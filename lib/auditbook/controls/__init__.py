"""The SOC 2 rules: one module per trust criterion, pure functions over the catalog's populations.

Each module declares its control tests (``TESTS``), each bound to its rule with ``@TEST.rule``.
"""

from __future__ import annotations

from auditbook.results import ControlTest


def all_tests() -> list[ControlTest]:
    """Every control test of every criterion, in the criteria's order."""
    from auditbook.controls import a11, a12, cc61, cc62, cc71, cc72, cc81, cc91

    return [t for module in (cc61, cc62, cc71, cc72, cc81, cc91, a11, a12) for t in module.TESTS]
