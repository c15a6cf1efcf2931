"""The lock files cover pyproject.toml: every dependency the install needs is pinned, at a version inside
pyproject's range, with hashes (pip's --require-hashes refuses a line without one). When this fails after a
change to pyproject.toml: `make lock`, then commit requirements/."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCKS = {"requirements/main.lock": ("demo", "dev"), "requirements/lab.lock": ("demo", "lab")}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")
# The environment the locks are compiled for (make lock: --python-version 3.11.5 on Linux).
TARGET = {"python_version": "3.11", "python_full_version": "3.11.5", "sys_platform": "linux",
          "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def pins(text: str) -> dict[str, tuple[str, int]]:
    """``{canonical name: (version, number of hashes)}``; a requirement line that is not ``name==version`` is
    kept with version ``""`` so the check names it."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace() or stripped.startswith("-"):
            if current and stripped.startswith("--hash=sha256:"):
                version, hashes = found[current]
                found[current] = (version, hashes + 1)
            continue
        match = PIN.match(stripped)
        current = canonicalize_name(match["name"] if match else re.split(r"[\s<>=!~;\[\\]", stripped)[0])
        found[current] = (match["version"] if match else "", 0)
    return found


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject's dependencies and the named extras, with the extras of those (moto[server]) expanded from the
    installed metadata: what `pip install -e ".[extras]"` would install directly."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    direct = [Requirement(r) for r in project["dependencies"]]
    direct += [Requirement(r) for extra in extras for r in project["optional-dependencies"][extra]]
    expanded = []
    for requirement in direct:
        for extra in requirement.extras:
            for line in metadata.requires(requirement.name) or []:
                inner = Requirement(line)
                if inner.marker and inner.marker.evaluate({**TARGET, "extra": extra}) \
                        and not inner.marker.evaluate({**TARGET, "extra": ""}):
                    inner.marker = None  # wanted because of the extra, whatever else its marker says
                    expanded.append(inner)
    return direct + expanded


def problems(text: str, requirements: list[Requirement]) -> list[str]:
    locked = pins(text)
    found = []
    for name, (version, hashes) in sorted(locked.items()):
        if not version:
            found.append(f"{name} is not pinned with ==")
        if not hashes:
            found.append(f"{name} has no --hash")
    for requirement in requirements:
        if requirement.marker and not requirement.marker.evaluate({**TARGET, "extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name not in locked:
            found.append(f"{requirement} is not in the lock")
        elif locked[name][0] and not requirement.specifier.contains(locked[name][0], prereleases=True):
            found.append(f"{name}=={locked[name][0]} is outside pyproject's {requirement}")
    return found


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_pins_every_dependency_of_pyproject_inside_its_range_with_hashes(lock):
    text = (REPO / lock).read_text()
    assert problems(text, wanted(LOCKS[lock])) == []
    assert len(pins(text)) > 100  # the whole tree, not only the direct dependencies


def test_the_lab_runs_the_library_on_the_tested_versions():
    main, lab = (pins((REPO / lock).read_text()) for lock in ("requirements/main.lock", "requirements/lab.lock"))
    differ = {name: (main[name][0], lab[name][0]) for name in main.keys() & lab.keys() if main[name][0] != lab[name][0]}
    assert differ == {}


def test_the_check_names_a_missing_package_a_version_out_of_range_and_a_line_without_hash():
    text = (REPO / "requirements/main.lock").read_text()
    requirements = wanted(LOCKS["requirements/main.lock"])
    boto3 = pins(text)["boto3"][0]
    without_boto3 = re.sub(r"(?m)^boto3==.*\n(?:[ \t]+.*\n)*", "", text)
    assert problems(without_boto3, requirements) == ["boto3<2,>=1.35 is not in the lock"]
    old_pandas = re.sub(r"(?m)^pandas==\S+", "pandas==1.5.3", text)
    assert problems(old_pandas, requirements) == ["pandas==1.5.3 is outside pyproject's pandas<4,>=2.2"]
    unhashed = re.sub(r"(?m)^(six==\S+) \\\n(?:[ \t]+--hash=.*\n)+", r"\1\n", text)
    assert problems(unhashed, requirements) == ["six has no --hash"]
    ranged = text.replace(f"boto3=={boto3}", "boto3>=1.35")
    assert problems(ranged, requirements) == ["boto3 is not pinned with =="]
    flask = re.sub(r"(?m)^flask==.*\n(?:[ \t]+.*\n)*", "", text)  # moto[server] needs it
    assert problems(flask, requirements) == ["flask!=2.2.0,!=2.2.1 is not in the lock"]


def recipe(makefile: str, target: str) -> str:
    """The lines of ``target``'s rule (its prerequisites line and its tab-indented recipe)."""
    match = re.search(rf"(?m)^{re.escape(target)}:(.*\n(?:\t.*\n)*)", makefile)
    assert match, target
    return match.group(1)


def test_make_ci_and_the_workflows_install_from_the_lock():
    import yaml

    makefile = (REPO / "Makefile").read_text()
    setup = recipe(makefile, "$(STAMP)")
    assert "$(LOCK)" in setup.splitlines()[0]  # a changed lock rebuilds .venv
    assert "--require-hashes -r $(LOCK)" in setup and "--no-deps -e ." in setup
    assert not re.search(r"pip install[^\n]*-e \"?\.\[", setup)  # never the ranges
    lab = recipe(makefile, "$(LABSTAMP)")
    assert "$(LABLOCK)" in lab.splitlines()[0] and "$(LABSTAMP)" in recipe(makefile, "lab").splitlines()[0]
    assert "--require-hashes -r $(LABLOCK)" in lab and "pip install" not in recipe(makefile, "lab")
    assert "uv pip compile" in recipe(makefile, "lock") and "--generate-hashes" in recipe(makefile, "lock")
    assert "make test" in (REPO / ".ci/run").read_text() and "$(STAMP)" in recipe(makefile, "test").splitlines()[0]
    for name, job, command in [("quarterly.yml", "evidence", "make quarter"), ("snapshot.yml", "snapshot",
                                                                              "make snapshot")]:
        steps = yaml.safe_load((REPO / ".github/workflows" / name).read_text())["jobs"][job]["steps"]
        runs = [s.get("run", "") for s in steps]
        install = next(i for i, run in enumerate(runs) if run.strip() == "make setup")
        assert install < next(i for i, run in enumerate(runs) if command in run), name
        assert not any("pip install" in run for run in runs), name
