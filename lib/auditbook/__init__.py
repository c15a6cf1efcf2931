"""auditbook: SOC 2 Type II evidence produced by code."""

__version__ = "0.1.0"
