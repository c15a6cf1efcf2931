"""A working folder for an installed auditbook: what ``auditbook init`` makes and ``auditbook lab`` opens.

```
DIR/params/example.yaml   every key documented: copy it, fill in the scope, point runs at it
DIR/notebooks/            the criterion notebooks, for an analyst's JupyterLab (runs use the package's own)
DIR/outputs/              packages: outputs/<period>/<run-id>/, an analyst's scratch runs in outputs/scratch/
```
"""

from __future__ import annotations

import shutil
from pathlib import Path

from auditbook import resources

NOT_NOTEBOOKS = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")


class WorkspaceError(ValueError):
    """The folder cannot be made or used: the message is one line naming it."""


def scaffold(root: Path) -> list[Path]:
    """Make the working folder; refuse to touch one that already holds auditbook files."""
    params, notebooks, outputs = root / "params", root / "notebooks", root / "outputs"
    clashes = [p for p in (params / "example.yaml", notebooks, outputs) if p.exists()]
    if clashes:
        raise WorkspaceError(f"{clashes[0]} already exists: init makes a new working folder, it never overwrites")
    try:
        params.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resources.example_params(), params / "example.yaml")
        shutil.copytree(resources.notebook_dir(), notebooks, ignore=NOT_NOTEBOOKS)
        outputs.mkdir()
    except OSError as exc:
        raise WorkspaceError(f"{root}: {exc.strerror or exc}") from None
    return [params / "example.yaml", notebooks, outputs]


def lab_environment(root: Path, params: str | None, demo: bool) -> dict[str, str]:
    """What JupyterLab's kernels read: the params file, the outputs folder; and the notebooks folder to open
    (copied from the package when this folder has none)."""
    notebooks = root / "notebooks"
    if not notebooks.exists():
        shutil.copytree(resources.notebook_dir(), notebooks, ignore=NOT_NOTEBOOKS)
    if demo:
        chosen = resources.demo_params()
    else:
        chosen = Path(params) if params else root / "params" / "example.yaml"
        if not chosen.is_file():
            raise WorkspaceError(f"{chosen}: no such params file (auditbook init makes one; or pass --params, "
                                 "or --demo)")
    return {"AUDITBOOK_PARAMS": str(chosen.resolve()), "AUDITBOOK_OUT": str((root / "outputs").resolve()),
            "notebook_dir": str(root)}  # params/, notebooks/ and outputs/ all in the file browser
