"""What a criterion notebook calls: ``run = start(...)``, then ``run.evidence(name)`` for each population
of the evidence catalog it shows, ``run.test(TEST)`` for each control test, and ``run.finish()``.

``start`` picks the run object for the notebook's mode:

- :class:`TestingRun`: collects (once per run, shared by the notebooks), tests, shows and records;
- :class:`OutOfScopeRun`: the criterion is declared not applicable in params: every test says so, nothing
  is collected;
- :class:`CollectOnlyRun`: a scheduler's fan-out collects one AWS account's evidence into the run's cache;
  nothing is tested or recorded (the criterion's own run does that).

Collection failures never stop the notebook: they make the tests that need the evidence ERROR. The
record of the criterion is ``results/<criterion>.json`` in the run folder, read by the runner.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from auditbook import catalog, cells, layout, over_snapshots, runinfo
from auditbook import params as params_mod
from auditbook import snapshots as snapshots_mod
from auditbook.basis import Basis, Leaf, basis_of
from auditbook.context import Context
from auditbook.criteria import CRITERIA
from auditbook.evidence import Collector, Connections, EvidenceCache
from auditbook.period import Period, parse_period
from auditbook.provenance import CollectionError, Population, RawStore, iso, utc_now
from auditbook.report import display, wording
from auditbook.results import (
    RESULTS_SCHEMA_VERSION,
    ControlTest,
    Status,
    TestResult,
    errored,
    not_applicable,
    with_basis,
    worst,
)
from auditbook.runinfo import RunFacts
from auditbook.sampling import Sample, draw, in_order, sample_size
from auditbook.trends import RUN_ID

CSV_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# An analyst's kernel keeps no log (a run's appends to its run.log, auditbook.logs.kernel_log): without a handler,
# Python would print the collectors' warnings into the notebook's cells, beside what the notebook shows of them.
logging.getLogger("auditbook").addHandler(logging.NullHandler())
SCRATCH = "scratch"  # an analyst's runs (no run folder) go to <outputs>/scratch/<criterion>-<run-id>/
SESSION_RUNS: list[Path] = []  # this kernel's analyst runs, oldest first: what explore.open_package() opens


class Refused(ValueError):
    """A lab run refused as the CLI refuses it. In a notebook it shows as the CLI's one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of the traceback
        return [f"auditbook: {self}"]


class CriterionRun:
    """One criterion in one run: its evidence, its tests, its record. What every mode shares."""

    def __init__(self, criterion: str, ctx: Context, run_dir: Path, facts: RunFacts) -> None:
        self.criterion, self.ctx, self.run_dir, self.facts = criterion, ctx, Path(run_dir), facts
        self.populations: dict[str, Population] = {}
        self.collection_errors: dict[str, str] = {}
        self.results: list[TestResult] = []
        self.analyst = False  # started by an analyst (a scratch folder), not by a run
        self.overrides: dict[str, dict[str, tuple[Any, Any]]] = {}  # test id → option → (used, params' value)
        self._header: Any = None  # the header's display handle: updated when a cell overrides a threshold
        self.connections = Connections(ctx)
        self.collector = Collector(ctx, self.connections, EvidenceCache(self.run_dir),
                                   RawStore(self.run_dir / layout.RAW))

    @property
    def params(self) -> dict[str, Any]:
        return self.ctx.params

    @property
    def period(self) -> Any:
        return self.ctx.period

    @property
    def settings(self) -> dict[str, Any]:
        """This criterion's params (thresholds), defaults filled."""
        return self.ctx.settings(self.criterion)

    def header(self) -> None:
        """The run's facts; shown again in place (the same output) when a cell overrides a threshold."""
        facts = {
            "Organization": self.params["organization"],
            "Period": self.period.describe(),
            "Run id": self.facts.run_id,
            "Environment": self.params.get("environment", ""),
            "Generated at": wording.text(self.facts.generated_at),
            "auditbook version": self.facts.versions.get("auditbook"),
            "Notebook commit": self.facts.git_commit,
            "Params digest (sha256)": self.facts.params_digest,
            "Parameters": json.dumps({"criterion": self.criterion, "period": self.period.label,
                                      "params_file": self.facts.params_file}),
        }
        if self.overrides:
            facts["Overridden in this notebook (not the params file)"] = "; ".join(
                f"{test_id}: {option} = {wording.text(used)} (params: {wording.text(given)})"
                for test_id, options in self.overrides.items() for option, (used, given) in options.items())
        self._header = display.header(f"{self.criterion} {CRITERIA[self.criterion].title}", facts, self._header)

    def record_overrides(self, test: ControlTest, given: dict[str, Any], options: dict[str, Any]) -> None:
        """Options a cell passed that differ from params: kept, and the header shown again with them."""
        changed = {k: (v, given.get(k)) for k, v in options.items() if k not in given or given[k] != v}
        if changed:
            self.overrides.setdefault(test.test_id, {}).update(changed)
            if self._header is not None:
                self.header()

    def applies(self, name: str) -> bool:
        """Whether params ask for this population at all (an optional file, a second incident source)."""
        entry = catalog.entry(name)
        return entry.applies is None or entry.applies(self.ctx)

    def evidence(self, name: str) -> Population | None:
        raise NotImplementedError

    def test(self, test: ControlTest, *, sample_columns: list[str] | None = None, **options: Any) -> TestResult:
        raise NotImplementedError

    def export_xlsx(self, pop: Population | None) -> None:
        """A workbook a reviewer fills in (only where a population is kept)."""

    def finish(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def status(self) -> Status:
        return worst(r.status for r in self.results)

    def where_written(self) -> None:
        """An analyst's run: where its files are, and how to open them."""
        if self.analyst:
            display.show(f"<p class='ab-note'><b>This run's files:</b> <code>{display.escape(self.run_dir)}</code> "
                         "(a lab run, not a sealed package); <code>explore.open_package()</code> opens it.</p>")


class TestingRun(CriterionRun):
    """Collects, tests, shows and records: the normal run of a criterion."""

    __test__ = False  # not a pytest test class

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.samples: dict[str, dict[str, Any]] = {}
        self.tested_files: dict[str, dict[str, Any]] = {}
        self._snapshots: list[snapshots_mod.Snapshot] | None = None
        self.retained_windows: dict[str, tuple[Any, ...]] = {}  # population → what snapshots read of it
        if not self.ctx.snapshot_folders:  # the timelines replay change events from the snapshots' readings
            self.ctx = dataclasses.replace(self.ctx, snapshot_folders=tuple(
                str(s.root) for s in self.snapshots(after_the_end=True)))
            self.collector.ctx = self.ctx

    def evidence(self, name: str) -> Population | None:
        """A population of the catalog (collected or derived once per run); None when it could not be had."""
        if name in self.populations:
            return self.populations[name]
        if name in self.collection_errors:
            return None
        entry = catalog.entry(name)
        if entry.part_of:
            self.evidence(entry.part_of)
            return self.populations.get(name)
        if not self.applies(name):
            return None
        inputs = {}
        for param, source in entry.input_names(self.ctx).items():
            pop = self.evidence(source)
            if pop is None and param in entry.optional:
                continue
            if pop is None:
                why = self.collection_errors.get(source, "not collected")
                return self._failed(name, f"built from {source}, which could not be collected ({why})")
            inputs[param] = pop
        try:
            pops, collected_here = self.collector.collect(entry, inputs)
        except CollectionError as exc:  # the cache turns any failure into one: never a pass
            for other in entry.collected_with():
                self._failed(other, str(exc))
            return None
        for pop in pops:
            self._keep(self._with_retained(pop), write_csv=collected_here)
        return self.populations[name]

    def _with_retained(self, pop: Population) -> Population:
        """A source that forgets, with the rows of the period that snapshots read while it still held them."""
        retention = catalog.entry(pop.name).retention
        if retention is None or not pop.provenance.collected_at:
            return pop
        pop, windows = snapshots_mod.with_retained(pop, retention, self.snapshots(after_the_end=True),
                                                   self.period.start, self.period.end, self.run_dir)
        self.retained_windows[pop.name] = windows
        return pop

    def _failed(self, name: str, cause: str) -> None:
        self.collection_errors[name] = cause
        display.collection_error(name, cause)
        return None

    def _keep(self, pop: Population, write_csv: bool) -> None:
        self.populations[pop.name] = pop
        rel = layout.population_file(pop.name, len(pop.frame))
        if write_csv:  # a population another notebook of this run collected is already written
            (_write_parquet if rel.endswith(".parquet") else _write_csv)(pop.frame, self.run_dir / rel)
        display.provenance(pop, rel)

    def export_xlsx(self, pop: Population | None) -> None:
        """The same table as the population CSV, as a workbook a reviewer fills in.

        Text is neutralised as in the CSV (auditbook.cells): openpyxl stores a string that starts with ``=``
        as a formula, so without it a collected value would be a live formula in the reviewer's Excel.
        """
        if pop is None:
            return
        frame = cells.neutralise_frame(pop.frame, cells.workbook_text)
        if frame is pop.frame:
            frame = frame.copy()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                frame[col] = frame[col].dt.tz_convert(None)  # Excel has no time zones: values are UTC
        frame.to_excel(self.run_dir / layout.population_xlsx(pop.name), index=False, sheet_name=pop.name[:31])
        xlsx, csv = display.escape(layout.population_xlsx(pop.name)), display.escape(layout.population_csv(pop.name))
        display.show(f"<p class='ab-note'>Worksheet for reviewers: <code>{xlsx}</code> (times in UTC) and "
                     f"<code>{csv}</code>.</p>")

    def test(self, test: ControlTest, *, sample_columns: list[str] | None = None, **options: Any) -> TestResult:
        """Run one control test over the catalog populations it reads, fail closed, show and record it.

        ``options`` override the test's options from params (an analyst trying another threshold);
        ``sample_columns`` are the columns the report shows of the sample (its CSV has them all).
        """
        inputs = [self.evidence(name) for name in test.reads]
        over = None
        if any(pop is None for pop in inputs):
            result = errored(test, self._missing_cause(test))
        elif doubt := self._doubt(test):
            result = errored(test, doubt)
        else:
            try:
                given = test.options(self.settings, self.ctx)
                self.record_overrides(test, given, options)
                chosen = {**given, **options}
                result = test.evaluate(*[pop.frame for pop in inputs], **chosen)
                over = over_snapshots.evaluate(test, self.ctx, self.snapshots(), chosen, self._frame, result)
            except Exception as exc:
                result = errored(test, f"the test could not be evaluated: {type(exc).__name__}: {exc}")
        result = self._cite_log_files(result)
        if result.status in (Status.PASS, Status.FAIL):
            basis = self.basis(test)
            if over is not None:
                result = over_snapshots.merge(result, over)
                basis.with_snapshots(over.part, over.gaps)
            result = with_basis(result, basis)
        sample = self._save_tested(result)
        self.results.append(result)
        shown = list(dict.fromkeys(["population_row", *test.sample_keys, *(sample_columns or [])]))
        display.test_result(result, sample, self.samples.get(test.test_id, {}).get("file"), shown,
                            accepted=self._accepted(result), tested_file=self.tested_files.get(test.test_id))
        return result

    def snapshots(self, after_the_end: bool = False) -> list[snapshots_mod.Snapshot]:
        """The usable snapshots of this organization taken during the period (``<out>/snapshots/``), found once;
        a snapshot that does not verify is left out with a line saying why. ``after_the_end``: also those taken up
        to ``snapshots.WINDOW`` after it, which still read a short-retention source's last days of the period."""
        if self._snapshots is None:
            found, problems = snapshots_mod.find(self.run_dir.parent.parent, self.params["organization"],
                                                 self.period.start, self.period.end + snapshots_mod.WINDOW)
            self._snapshots = found
            for problem in problems:
                display.show(f"<p class='ab-note'>Snapshot not used: {display.escape(problem)}</p>")
        return self._snapshots if after_the_end else [s for s in self._snapshots if s.taken_at < self.period.end]

    def _frame(self, name: str) -> pd.DataFrame | None:
        pop = self.evidence(name)
        return None if pop is None else pop.frame

    def basis(self, test: ControlTest) -> Basis:
        """What the test's conclusion stands on in this run (auditbook.basis), with params' acceptance."""
        leaves = []
        read = catalog.evidence_leaves([r for r in test.reads if r not in test.reference], self.ctx)
        timelined = catalog.followed(read)
        for name in [n for n in read if n not in timelined]:
            e, pop = catalog.entry(name), self.populations.get(name)
            read_at = _utc(pop.provenance.collected_at) if pop is not None and pop.provenance.collected_at else None
            leaves.append(Leaf(name, e.basis, read_at, e.retention, snapshots=self.retained_windows.get(name, ())))
        accepted = (self.params.get("coverage") or {}).get("accept", {}).get(test.test_id, "")
        return basis_of(leaves, self.period.start, self.period.end, accepted)

    def _doubt(self, test: ControlTest) -> str:
        """Why the evidence this test reads cannot be relied on (catalog.VOUCHED_BY), '' when nothing says so."""
        for voucher, doubt in catalog.vouchers(test.reads, self.ctx):
            if not self.applies(voucher):
                continue
            found = self.evidence(voucher)
            if found is None:
                return (f"evidence for {voucher} could not be collected "
                        f"({self.collection_errors.get(voucher, 'not collected')}): what {test.test_id} reads "
                        "cannot be shown to be as its source wrote it")
            if why := doubt(found.frame):
                return why
        return ""

    def _cite_log_files(self, result: TestResult) -> TestResult:
        """A tested event's log file goes into the package with it; if it cannot be had as read, ERROR."""
        tested = result.tested
        if result.status not in (Status.PASS, Status.FAIL) or tested is None or "log_file" not in tested.columns \
                or tested.empty:
            return result
        log_files = self.evidence("cloudtrail-log-files")
        if log_files is None:
            return errored(result.test, "the trail's log files the tested events cite could not be listed")
        try:
            self.collector.copy_cited_log_files(tested, log_files.frame)
        except CollectionError as exc:
            return errored(result.test, f"a log file a tested event cites could not be copied: {exc}")
        return result

    def _missing_cause(self, test: ControlTest) -> str:
        missing = [n for n in test.reads if n not in self.populations]
        causes = "; ".join(f"{n}: {self.collection_errors.get(n, 'not collected')}" for n in missing)
        return f"evidence for {', '.join(missing)} could not be collected ({causes})"

    def _save_tested(self, result: TestResult) -> Sample | None:
        """The tested population in its sample order (``populations/tested``), and the sample drawn from it."""
        if result.status not in (Status.PASS, Status.FAIL):
            return None
        test = result.test
        ordered = in_order(result.tested, test.sample_keys)
        result.tested = ordered
        rel = layout.tested_csv(test.test_id)
        _write_csv(ordered, self.run_dir / rel)
        self.tested_files[test.test_id] = {"csv": rel, "rows": len(ordered)}
        if ordered.empty:
            return None
        sampling = self.params["sampling"]
        size = sample_size(sampling["sizes"], test.frequency, len(ordered))
        sample = draw(ordered, test.sample_keys, size, sampling["seed"], test.test_id, rel)
        sample_rel = layout.sample_csv(test.test_id)
        _write_csv(sample.frame, self.run_dir / sample_rel)
        self.samples[test.test_id] = {"file": sample_rel, "size": sample.size, "seed": sample.seed,
                                      "method": sample.method, "population_size": sample.population_size}
        return sample

    def _accepted(self, result: TestResult) -> dict[str, str]:
        """Resource id → "accepted until ..." for this test's deviations in the register (shown, still counted)."""
        from auditbook import register as register_mod

        if not result.deviation_count:
            return {}
        register = register_mod.for_run(self.run_dir, self.params, self.facts.params_file)
        if register is None:
            return {}
        rows = register_mod.annotate([dict(test_id=result.test.test_id, resource_id=r)
                                      for r in result.deviations["resource_id"]], register, self.period)
        return {r["resource_id"]: register_mod.acceptance_text(r) for r in rows if r["status"] == "accepted"}

    def finish(self) -> dict[str, Any]:
        """Write ``results/<criterion>.json``: every test, its tested population and sample, every deviation."""
        record = {
            "schema_version": RESULTS_SCHEMA_VERSION,
            "criterion": self.criterion,
            "title": CRITERIA[self.criterion].title,
            "status": str(self.status),
            "period": self.period.to_dict(),
            "run_id": self.facts.run_id,
            "tests": [dict(r.to_dict(), sample=self.samples.get(r.test.test_id),
                           tested_population=self.tested_files.get(r.test.test_id)) for r in self.results],
            "deviations": [
                dict(criterion=self.criterion, test_id=r.test.test_id, **_plain(row))
                for r in self.results for row in r.deviations.to_dict("records")
            ],
            "populations": {n: _population_record(n, p) for n, p in self.populations.items()},
            "collection_errors": self.collection_errors,
        }
        if self.overrides:  # an analyst's cell changed a threshold: the record says so, beside the results it made
            record["overrides"] = {test_id: {option: {"used": used, "params": given}
                                             for option, (used, given) in options.items()}
                                   for test_id, options in self.overrides.items()}
        _write_record(self.run_dir, self.criterion, record)
        display.summary(self.criterion, self.status, self.results)
        self.where_written()
        display.query_appendix()
        return record


class OutOfScopeRun(CriterionRun):
    """Declared not applicable in params: nothing is collected; every test is NOT_APPLICABLE with the reason."""

    @property
    def reason(self) -> str:
        return self.settings["not_applicable"]

    def header(self) -> None:
        super().header()
        display.show(f"<p class='ab-cause'><b>Not applicable:</b> {display.escape(self.reason)}</p>")

    def evidence(self, name: str) -> Population | None:
        return None

    def test(self, test: ControlTest, *, sample_columns: list[str] | None = None, **options: Any) -> TestResult:
        result = not_applicable(test, self.reason)
        self.results.append(result)
        display.test_result(result)
        return result

    def finish(self) -> dict[str, Any]:
        record = {
            "schema_version": RESULTS_SCHEMA_VERSION, "criterion": self.criterion,
            "title": CRITERIA[self.criterion].title, "status": str(self.status), "period": self.period.to_dict(),
            "run_id": self.facts.run_id, "tests": [dict(r.to_dict(), sample=None, tested_population=None)
                                                   for r in self.results],
            "deviations": [], "populations": {}, "collection_errors": {},
        }
        _write_record(self.run_dir, self.criterion, record)
        display.summary(self.criterion, self.status, self.results)
        self.where_written()
        display.query_appendix()
        return record


class CollectOnlyRun(CriterionRun):
    """A scheduler's fan-out: only one AWS account's part of the evidence that fans out per account, into the
    run's cache. Nothing is kept in the package, tested or recorded here."""

    def __init__(self, *args: Any, account_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_id = account_id
        self.parts: dict[str, Population | None] = {}

    def evidence(self, name: str) -> Population | None:
        if name in self.parts:
            return self.parts[name]
        entry = catalog.entry(name)
        part = None
        if entry.part_of:
            self.evidence(entry.part_of)
            return self.parts.get(name)
        if entry.fanout == "account" and self.applies(name):
            inputs = {param: self.evidence(source) for param, source in entry.input_names(self.ctx).items()}
            if all(pop is not None for pop in inputs.values()):
                try:
                    collected = self.collector.account_part(entry, self.account_id, inputs)
                except CollectionError:  # cached as failed: the criterion run reports it (ERROR)
                    collected = ()
                for pop in collected:
                    self.parts[pop.name] = pop
                part = self.parts.get(name)
        elif entry.derive is not None:  # derived by the criterion run: what it is built from is collected here
            for source in entry.input_names(self.ctx).values():
                self.evidence(source)
        self.parts[name] = part
        return part

    def test(self, test: ControlTest, *, sample_columns: list[str] | None = None, **options: Any) -> TestResult:
        for name in test.reads:
            self.evidence(name)
        display.show(f"<p class='ab-note'>{test.test_id}: tested by the criterion run, not this collect-only "
                     "run.</p>")
        return errored(test, "collect-only run: nothing is tested")

    def finish(self) -> dict[str, Any]:
        display.show(f"<p class='ab-note'>Collected the AWS evidence of account {self.account_id} for this run; "
                     "the criterion run tests it.</p>")
        return {}


def _population_record(name: str, pop: Population) -> dict[str, Any]:
    """Provenance and where the complete table is: ``file`` (CSV, or Parquet when large); ``csv`` as well when it
    is a CSV (what results schema 1.1 readers look for)."""
    rel = layout.population_file(name, len(pop.frame))
    record = dict(pop.provenance.to_dict(), file=rel, format="parquet" if rel.endswith(".parquet") else "csv")
    if record["format"] == "csv":
        record["csv"] = rel
    return record


def _utc(text: str) -> datetime:
    stamp = pd.Timestamp(text)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """A large population as Parquet (zstd), written by DuckDB: columnar, typed, a tenth of the CSV's size.
    No spreadsheet opens it, so its text is written as collected (no formula neutralising)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.register("population", frame)
        con.execute(f"COPY (SELECT * FROM population) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A package CSV: text that a spreadsheet would take for a formula is written inert (auditbook.cells).

    Lines end in CRLF (RFC 4180, as exceptions.csv): Python's csv writer quotes a field holding a carriage
    return only when the line terminator has one, and an unquoted one splits the row when it is read back.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    cells.neutralise_frame(frame).to_csv(path, index=False, date_format=CSV_DATE_FORMAT, lineterminator="\r\n")


def _write_record(run_dir: Path, criterion: str, record: dict[str, Any]) -> None:
    path = run_dir / layout.criterion_results(criterion)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str))


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (iso(v.to_pydatetime()) if isinstance(v, pd.Timestamp) else (None if _isna(v) else v))
            for k, v in row.items()}


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def outputs_root() -> Path:
    """Where packages (and an analyst's scratch runs) go: ``AUDITBOOK_OUT``, else ``./outputs``."""
    return Path(os.environ.get("AUDITBOOK_OUT") or "outputs")


def default_params() -> str:
    """An analyst's notebook without a params file reads ``AUDITBOOK_PARAMS``, else the demo company's."""
    if os.environ.get("AUDITBOOK_PARAMS"):
        return os.environ["AUDITBOOK_PARAMS"]
    from auditbook.resources import demo_params

    return str(demo_params())


def earlier_population(run_dir: Path, organization: str, period: Period, run_id: str) -> Callable[[str], Path | None]:
    """The same population in the previous review's package: the newest earlier package of this organization.

    ``run_dir`` is absolute: ``<out>/<period>/.staging-<run-id>`` in a run, ``<out>/scratch/<criterion>-<run-id>``
    for an analyst; the packages searched are ``<out>/<period>/<run-id>/`` with a manifest.json. Earlier means a
    period that starts and ends before this one (not a re-run of the same period, not an enclosing year); the
    newest is the latest period end, then the latest run id. This run is never its own previous review.
    """
    root = Path(run_dir).resolve().parent.parent

    def find(name: str) -> Path | None:
        candidates = []
        for manifest in root.glob(f"*/*/{layout.MANIFEST}"):
            package = manifest.parent
            csv = package / layout.population_csv(name)
            if (not RUN_ID.match(package.name) or package.parent.name == SCRATCH or package.name == run_id
                    or package.resolve() == Path(run_dir).resolve() or not csv.is_file()):
                continue
            try:
                facts = json.loads(manifest.read_text())
                start, end = (datetime.fromisoformat(facts["period"][k]) for k in ("start", "end"))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if facts.get("organization") == organization and start < period.start and end < period.end:
                candidates.append((end, str(facts.get("run_id", package.name)), csv))
        return max(candidates)[2] if candidates else None
    return find


def start(criterion: str, period: str, params_file: str = "", run_dir: str = "", run_id: str = "",
          collect_account: str = "") -> CriterionRun:
    """Open a criterion run in the mode its parameters ask for.

    Without ``run_dir`` (an analyst in JupyterLab) a scratch folder under the outputs root is used.
    ``collect_account`` (a scheduler's fan-out) only collects that AWS account's evidence into the run's
    cache: nothing is tested or recorded, the criterion run that follows does that.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}")
    params_file = params_file or default_params()
    if run_dir:  # the runner checked params and period before it started the run
        resolved, parsed = params_mod.load(params_file), parse_period(period)
    else:  # an analyst: the same checks, and the same one-line refusal, as the command line
        from auditbook.runner import RunError, check_inputs

        try:
            resolved, parsed = check_inputs(params_file, period, utc_now())
        except RunError as exc:
            raise Refused(str(exc)) from None
    if collect_account and collect_account not in [a["id"] for a in (resolved["scope"].get("aws") or {})
                                                   .get("accounts", [])]:
        raise ValueError(f"collect_account {collect_account} is not in scope.aws.accounts of {params_file}")
    if collect_account and not run_dir:
        raise ValueError("collect_account needs run_dir: the evidence is collected for a run")
    if run_dir:  # papermill passes "." (its cwd is the staging folder): absolute, so <out> is found from it
        folder = Path(run_dir).resolve()
        from auditbook.logs import kernel_log

        kernel_log(folder, criterion if not collect_account else f"{criterion}@{collect_account}")
        facts = RunFacts.read(folder / layout.RUN_JSON)
    else:
        now = utc_now()
        run_id = run_id or runinfo.new_run_id(now)
        folder = outputs_root() / SCRATCH / f"{criterion}-{run_id}"
        folder.mkdir(parents=True, exist_ok=True)
        folder = folder.resolve()
        facts = RunFacts.describe(run_id, now, parsed, resolved, params_file)
    ctx = Context(resolved, parsed, earlier_population(folder, resolved["organization"], parsed, facts.run_id),
                  run_at=runinfo.generated_at(facts))
    if collect_account:
        return CollectOnlyRun(criterion, ctx, folder, facts, account_id=collect_account)
    run = (OutOfScopeRun if ctx.settings(criterion).get("not_applicable") else TestingRun)(criterion, ctx, folder,
                                                                                            facts)
    if not run_dir:
        run.analyst = True
        SESSION_RUNS.append(folder)
    return run
