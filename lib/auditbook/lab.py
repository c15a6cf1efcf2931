"""The analyst's JupyterLab (``make lab``): rooted where params, notebooks and outputs all are, working on copies.

``python -m auditbook.lab [jupyter lab options]`` (the kernels read ``AUDITBOOK_OUT``/``AUDITBOOK_PARAMS``):

- the lab's root is the current folder (the repository: ``lib/auditbook/params/``, the notebooks, ``outputs/``);
- the criterion notebooks are copied to ``<outputs>/notebooks/`` (git-ignored; a copy an analyst changed is kept)
  and the lab opens there, so running and autosaving never touch the tracked notebooks;
- a tracked notebook opened anyway is saved as shipped: no outputs, no execution counts, its own kernelspec
  (:func:`pre_save`), so no run's header shows the commit as "+dirty" after a lab session.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from auditbook import resources

CONFIG = Path(__file__).with_name("jupyter_lab_config.py")  # sets pre_save (a string for it is not imported)


def as_this_kernel_says(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook's kernelspec and language info as this environment's kernel reports them: JupyterLab writes
    them into a notebook it opens, which marked the tab unsaved at once ("Python 3 (auditbook)" became
    "Python 3 (ipykernel)", the language info gained the Python version)."""
    try:
        from ipykernel.ipkernel import IPythonKernel
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:  # not the lab's environment: the copy stays as shipped
        return notebook
    metadata = notebook.setdefault("metadata", {})
    name = metadata.get("kernelspec", {}).get("name", "python3")
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return notebook
    metadata["kernelspec"] = {"display_name": spec.display_name, "language": spec.language, "name": name}
    metadata["language_info"] = dict(IPythonKernel.language_info)
    return notebook


def working_copies(outputs: Path) -> Path:
    """The notebooks an analyst runs: ``<outputs>/notebooks/``, each copied when missing."""
    folder = outputs / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(resources.notebook_dir().glob("*.ipynb")):
        if not (folder / notebook.name).exists():
            content = as_this_kernel_says(json.loads(notebook.read_text()))
            (folder / notebook.name).write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    return folder


def _tracked(path: Path) -> bool:
    try:
        return path.resolve().parent == resources.notebook_dir().resolve()
    except OSError:
        return False


def pre_save(model: dict[str, Any], path: str, contents_manager: Any = None, **_: Any) -> None:
    """jupyter_server's pre-save hook: a tracked notebook is written without outputs and with its kernelspec and
    language info as on disk (JupyterLab replaces them with the running kernel's); other files as they are."""
    if model.get("type") != "notebook" or contents_manager is None:
        return
    on_disk = Path(contents_manager.root_dir) / path
    if not _tracked(on_disk):
        return
    notebook = model["content"]
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell.get("metadata", {}).pop("execution", None)
    if on_disk.is_file():
        shipped = json.loads(on_disk.read_text()).get("metadata", {})
        for key in ("kernelspec", "language_info"):
            if key in shipped:
                notebook.setdefault("metadata", {})[key] = shipped[key]


def command(root: Path, outputs: Path, extra: list[str]) -> list[str]:
    """The ``jupyter lab`` command line: rooted at ``root``, opening the working copies."""
    copies = working_copies(outputs)
    try:
        start = copies.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:  # outputs outside the root: the file browser starts at the root
        start = ""
    return [sys.executable, "-m", "jupyterlab", f"--config={CONFIG}", f"--ServerApp.root_dir={root.resolve()}",
            f"--ServerApp.default_url=/lab/tree/{start}", *extra]


def main(argv: list[str] | None = None) -> None:
    from auditbook.notebook import outputs_root

    args = list(sys.argv[1:] if argv is None else argv)
    if os.geteuid() == 0 and "--allow-root" not in args:
        args.append("--allow-root")
    cmd = command(Path.cwd(), outputs_root().resolve(), args)
    os.execv(cmd[0], cmd)  # this process becomes JupyterLab: Ctrl-C and exit status are its own


if __name__ == "__main__":
    main()
