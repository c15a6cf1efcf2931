"""``make bench``: the demo against its own floor, then how auditbook scales on the demo company grown by
``AUDITBOOK_BENCH_SCALE``.

First ``auditbook demo`` as a user runs it (one process, timed from outside), against a composite floor measured
in the same bench run from the pieces no run can do without: the emulators' seeding alone, the criterion
notebooks executed with only their imports (same kernel manager, same workers), and the PDF export alone of the
reports the demo just wrote (same number of processes). The ratio is printed, never asserted.

Then scale N adds, through the real APIs, 100·N IAM console users and 50·N Secrets Manager secrets to the demo
account, and measures GitHub PR collection on a synthetic repository of 1,000·N merged PRs. Then one full
run of every criterion, the same run's floor (as many notebooks doing only their imports, run the same way),
import time per kernel, peak memory and package / PDF sizes. Prints the figures; records nothing.
"""

from __future__ import annotations

import ast
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCALE = float(os.environ.get("AUDITBOOK_BENCH_SCALE", "1"))
KERNEL_IMPORTS = ("import pandas, matplotlib.pyplot; import auditbook.notebook, auditbook.report.charts, "
                  "auditbook.controls.cc61, auditbook.sources.aws.iam, auditbook.sources.github")


def line(label: str, value: str) -> None:
    print(f"  {label:<44} {value}", flush=True)


def grow_aws(endpoint: str, users: int, secrets: int) -> None:
    import boto3

    kw = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "demo",
          "aws_secret_access_key": "demo"}
    iam, sm = boto3.client("iam", **kw), boto3.client("secretsmanager", **kw)
    for i in range(users):
        name = f"bench-user-{i:05d}"
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName="Engineers", UserName=name)
        iam.create_login_profile(UserName=name, Password="Bench-Password-Not-A-Secret-1!")
    for i in range(secrets):
        sm.create_secret(Name=f"bench/app-{i:05d}/db", SecretString="bench-placeholder-not-a-secret")


def github_requests_per_thousand(prs: int) -> tuple[int, float, int]:
    from auditbook.demo.github.server import GitHubEmulator
    from auditbook.demo.github.synthetic import ORG, REPO, build_synthetic_github
    from auditbook.period import parse_period
    from auditbook.provenance import RawStore
    from auditbook.sources.github import collect_merged_pulls, connect

    period = parse_period("2026-Q3")
    with GitHubEmulator(build_synthetic_github(prs)) as emulator:
        gh = connect("demo-token", emulator.url)
        started = time.monotonic()
        raw = RawStore(tempfile.mkdtemp() + "/raw")
        pulls, _ = collect_merged_pulls(gh, ORG, {REPO: "main"}, raw, period.start, period.end)
        seconds = time.monotonic() - started
        return len(emulator.requests), seconds, len(pulls.frame)


def import_seconds() -> tuple[float, list[tuple[float, str]]]:
    """One kernel's imports, as ``python -X importtime`` reports them: total and the five costliest."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", KERNEL_IMPORTS], capture_output=True, text=True,
                         check=True).stderr
    rows = []
    for row in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", row)
        if m:
            rows.append((int(m.group(2)) / 1e6, len(m.group(3)), m.group(4)))
    total = sum(s for s, depth, _ in rows if depth == 1)
    top = sorted(((s, name) for s, depth, name in rows if depth <= 3), reverse=True)[:5]
    return total, top


def imports_only(source: Path, target: Path) -> None:
    """``source`` with only its parameters cell and its top-level import statements (all in one cell)."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    imports = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell in cells:
            continue
        tree = ast.parse(cell.source)
        imports += [ast.get_source_segment(cell.source, node) or "" for node in tree.body
                    if isinstance(node, ast.Import | ast.ImportFrom)]
    nb.cells = [*cells, nbformat.v4.new_code_cell("\n".join(imports))]
    nbformat.write(nb, target)


def _execute(path: str) -> float:
    import papermill

    started = time.monotonic()
    from auditbook.kernels import KERNEL_MANAGER, SHUTDOWN

    papermill.execute_notebook(path, path + ".out.ipynb", kernel_name="python3", progress_bar=False,
                               kernel_manager_class=KERNEL_MANAGER, shutdown_kernel=SHUTDOWN)  # as the runner
    return time.monotonic() - started


def import_floor(notebooks: list[Path], workers: int) -> float:
    """Wall time of ``notebooks`` cut to their imports (:func:`imports_only`), run as the runner runs criteria:
    a spawned pool of ``workers`` processes, a kernel each through the runner's kernel manager."""
    folder = Path(tempfile.mkdtemp())
    paths = []
    for source in notebooks:
        target = folder / source.name
        imports_only(source, target)
        paths.append(str(target))
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in as_completed([pool.submit(_execute, p) for p in paths]):
            future.result()
    return time.monotonic() - started


def _export_ready(barrier: Any) -> None:  # noqa: ANN401 - a multiprocessing Barrier
    """Pool initializer: the export stack imported and every worker started before the clock starts."""
    import auditbook.report.export  # noqa: F401
    import weasyprint  # noqa: F401

    barrier.wait()


def _export(notebook: str, cover: dict[str, Any]) -> None:
    from auditbook.report.export import export_notebook

    export_notebook(Path(notebook), cover)


def pdf_floor(run_dir: Path, workers: int) -> tuple[float, int]:
    """Wall time of exporting (HTML and PDF, as the run does) the reports of the package ``run_dir`` again, in
    a copy, on ``workers`` processes whose imports are done; and the number of reports."""
    from auditbook import layout
    from auditbook.package import report_cover
    from auditbook.runinfo import RunFacts

    facts = RunFacts.read(run_dir / layout.RUN_JSON)
    folder = Path(tempfile.mkdtemp())
    jobs = []
    for criterion in facts.criteria:
        source, record = run_dir / layout.report(criterion, "ipynb"), run_dir / layout.criterion_results(criterion)
        if source.exists() and record.exists():
            shutil.copyfile(source, folder / source.name)
            jobs.append((str(folder / source.name), report_cover(criterion, facts, json.loads(record.read_text()),
                                                                 None)))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers, timeout=300)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_export_ready,
                             initargs=(barrier,)) as pool:
        for future in [pool.submit(int) for _ in range(workers)]:  # one per worker: each waits for all to start
            future.result()
        started = time.monotonic()
        for future in as_completed([pool.submit(_export, *job) for job in jobs]):
            future.result()
        return time.monotonic() - started, len(jobs)


def seeding_floor() -> float:
    """Wall time of starting the demo's emulators with their data, in this process, imports included."""
    started = time.monotonic()
    from auditbook.demo.environment import DemoEnvironment

    environment = DemoEnvironment()
    environment.__enter__()
    seconds = time.monotonic() - started
    environment.__exit__(None, None, None)
    return seconds


def demo_against_floor(workers: int) -> None:
    """``auditbook demo`` timed from outside against its composite floor, each part measured here and now."""
    from auditbook.criteria import CRITERIA, NOTEBOOK_DIR, implemented

    out = Path(tempfile.mkdtemp())
    started = time.monotonic()
    demo = subprocess.run([sys.executable, "-m", "auditbook.cli", "demo", "--out", str(out),
                           "--workers", str(workers)], capture_output=True, text=True)
    demo_seconds = time.monotonic() - started
    if demo.returncode != 0:
        raise SystemExit(f"auditbook demo failed ({demo.returncode}): {demo.stderr[-2000:]}")
    run_dir = next(path.parent for path in out.glob("*/*/manifest.json"))
    criteria = implemented()
    seeding = seeding_floor()
    imports = import_floor([NOTEBOOK_DIR / CRITERIA[c].notebook_name for c in criteria], workers)
    pdf, reports = pdf_floor(run_dir, workers)
    floor_seconds = seeding + imports + pdf
    line("auditbook demo (one process, from outside)", f"{demo_seconds:.1f} s for {len(criteria)} criteria on "
                                                       f"{workers} workers")
    line("floor: seeding the emulators alone", f"{seeding:.1f} s")
    line("floor: the notebooks' imports only", f"{imports:.1f} s ({len(criteria)} notebooks, {workers} workers)")
    line("floor: PDF export alone", f"{pdf:.1f} s ({reports} reports, {workers} processes)")
    line("composite floor", f"{floor_seconds:.1f} s; the demo takes {demo_seconds / floor_seconds:.2f}x its floor")


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    from auditbook.criteria import implemented

    users, secrets, prs = int(100 * SCALE), int(50 * SCALE), int(1000 * SCALE)
    print(f"auditbook bench: scale {SCALE:g} ({users} extra IAM users, {secrets} extra secrets, {prs} merged PRs) "
          f"on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}", flush=True)

    criteria = implemented()
    workers = min(len(criteria), os.cpu_count() or 1, 4)
    demo_against_floor(workers)  # first: its seeding floor counts the emulators' imports as the demo does

    from auditbook.demo.environment import DEMO_PARAMS, DEMO_PERIOD, DemoEnvironment
    from auditbook.runner import run

    requests_count, gh_seconds, pulls = github_requests_per_thousand(prs)
    line("GitHub PR history", f"{pulls} PRs: {requests_count} requests ({requests_count / max(pulls, 1) * 1000:.1f} "
                              f"per 1,000 PRs; GraphQL floor 10), {gh_seconds:.1f} s")

    total, top = import_seconds()
    line("imports per kernel (python -X importtime)", f"{total:.2f} s; costliest: " +
         ", ".join(f"{name} {s:.2f} s" for s, name in top))

    started = time.monotonic()
    with DemoEnvironment() as env:
        line("demo environment start (seeding)", f"{time.monotonic() - started:.1f} s")
        grown = time.monotonic()
        grow_aws(env.aws.endpoint, users, secrets)
        line("growing the AWS account", f"{time.monotonic() - grown:.1f} s")
        env.faults.clear()
        out = Path(tempfile.mkdtemp())
        outcome = run(DEMO_PARAMS, DEMO_PERIOD, out_dir=out)
        calls = list(env.faults.aws.calls)
        gh_calls = list(env.faults.github.calls)
    notebook_seconds = sum(o.seconds for o in outcome.outcomes)
    line("full run wall time", f"{outcome.seconds:.1f} s for {len(criteria)} criteria on {workers} workers")
    line("sum of notebook times", f"{notebook_seconds:.1f} s (parallel efficiency "
                                  f"{notebook_seconds / (outcome.seconds * workers):.0%})")
    results = json.loads((outcome.run_dir / "results.json").read_text())
    populations = {n: p["record_count"] for c in results["criteria"] for n, p in c["populations"].items()}
    resources = sum(populations.values())
    by_service: dict[str, int] = {}
    for c in calls:
        by_service[c.service] = by_service.get(c.service, 0) + 1
    line("AWS calls", f"{len(calls)} for {resources} population rows ({len(calls) / max(resources, 1):.2f} per "
                      f"row); by service: " + ", ".join(f"{k} {v}" for k, v in sorted(by_service.items(),
                                                                                     key=lambda kv: -kv[1])[:6]))
    line("GitHub requests in the run", str(len(gh_calls)))
    largest = sorted(populations.items(), key=lambda kv: -kv[1])[:4]
    line("largest populations", ", ".join(f"{n} {r}" for n, r in largest))
    pdfs = sorted((outcome.run_dir / "reports").glob("*.pdf"), key=lambda p: -p.stat().st_size)
    line("package size", f"{size(outcome.run_dir) / 1e6:.1f} MB (raw {size(outcome.run_dir / 'raw') / 1e6:.1f} MB, "
                         f"populations {size(outcome.run_dir / 'populations') / 1e6:.1f} MB)")
    line("PDF sizes", f"{sum(p.stat().st_size for p in pdfs) / 1e6:.1f} MB in {len(pdfs)}; largest "
                      f"{pdfs[0].name} {pdfs[0].stat().st_size / 1e6:.2f} MB")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line("peak memory (max RSS)", f"runner process with both emulators {own:.0f} MB")
    line("bench wall time", f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
