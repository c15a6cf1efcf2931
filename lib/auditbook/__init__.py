"""auditbook: SOC 2 Type II evidence produced by code."""

from importlib.metadata import PackageNotFoundError, version

try:  # one source: pyproject.toml's version, as installed (every package records the version that produced it)
    __version__ = version("auditbook")
except PackageNotFoundError:  # a source tree on sys.path without an install: say so rather than guess a number
    __version__ = "0+unknown"
