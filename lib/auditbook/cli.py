"""``auditbook init | run | snapshot | check | verify | sample | lab | demo | demo-env``.

Exit codes, environment variables and the scheduler lines are in :data:`EPILOG`, which ``auditbook --help``
and ``auditbook run --help`` print.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from auditbook import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_REFUSED = 0, 1, 2
PARAMS_ENV, OUT_ENV = "AUDITBOOK_PARAMS", "AUDITBOOK_OUT"

EPILOG = """\
exit status:
  0    every criterion PASS, FAIL or NOT_APPLICABLE (with --fail-on-deviation: no FAIL); verify: no difference
  1    a test is ERROR (or FAIL with --fail-on-deviation); verify: a difference; snapshot: a population was not read
  2    refused, nothing written: bad params (or a key written twice), exception register, period, criteria,
       workers, operator, credentials or output folder; a one-line message names the problem
  130  stopped by Ctrl-C: workers and kernels stopped, staging folder removed, nothing published
  143  stopped by SIGTERM (the same)

environment:
  AUDITBOOK_PARAMS       the params file when --params is not given (run, snapshot, check, lab)
  AUDITBOOK_OUT          the output folder when --out is not given (run, demo, snapshot)
  GITHUB_TOKEN           the GitHub token the collectors read with (never printed)
  GH_TOKEN               the GitHub CLI's variable, used when GITHUB_TOKEN is unset or empty
  GITHUB_API_URL         GitHub's API (Enterprise Server); default https://api.github.com
  AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID, ...
                         the boto3 credential chain (profile, SSO, instance role); AWS_ENDPOINT_URL too
  AUDITBOOK_WEBHOOK_URL  a Slack-compatible webhook the run's summary lines are posted to (a secret)
  AUDITBOOK_RUN_BY       who is answerable for the run when --operator is not given
  AUDITBOOK_LOG_LEVEL    set by a run for its notebooks' kernels: what they log into run.log (DEBUG with -v)

output (run, demo): one line per criterion and a last status line, for schedulers:
  CC6.1 FAIL tests=5 pass=3 fail=2 error=0 not_applicable=0 deviations=8 accepted=0 (6.2 s)
  status: FAIL exit=0 criteria=3 package=outputs/2026-Q3/20261003T061500Z (24.0 s)
with --json the same as JSON Lines on stdout (numbers as numbers; "seconds" for the time; "cause" when a
criterion is ERROR); a refusal or a stop is one line too, {"status": "REFUSED", "exit": 2, "error": "..."}
or {"status": "STOPPED", "exit": 130, "error": "..."}, and the message stays on stderr as well.
"""


def default_params() -> str | None:
    """``--params`` when it is not given: ``AUDITBOOK_PARAMS`` (how cron, CI and the Airflow DAGs configure a run)."""
    return os.environ.get(PARAMS_ENV) or None


def default_out() -> str:
    """``--out`` when it is not given: ``AUDITBOOK_OUT``, else ``outputs``."""
    return os.environ.get(OUT_ENV) or "outputs"


def refuse(args: argparse.Namespace, message: str, code: int = EXIT_REFUSED, status: str = "REFUSED") -> int:
    """One line on stderr; with ``--json`` also one JSON line on stdout, so a scheduler reading stdout sees why."""
    print(f"auditbook: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"status": status, "exit": code, "error": message}), flush=True)
    return code


def _params_file(args: argparse.Namespace) -> str:
    """The params file: ``--params``, else ``AUDITBOOK_PARAMS``; neither is a refusal (RunError, one line)."""
    from auditbook.runner import RunError

    if not args.params:
        raise RunError(f"no params file: give --params FILE or set {PARAMS_ENV}")
    return args.params


log = logging.getLogger("auditbook.cli")


def _criteria(text: str | None) -> list[str] | None:
    """``None`` when ``--criteria`` was not given (all); else every comma-separated name, blanks included, so
    that ``--criteria ,,`` is refused as naming none rather than read as "all"."""
    return None if text is None else text.split(",")


def _workers(text: str | None) -> int | None:
    """``--workers``: checked here rather than by argparse so a bad value is one line, like every refusal."""
    from auditbook.runner import RunError, check_workers

    if text is None:
        return None
    try:
        workers = int(text)
    except ValueError:
        raise RunError(f"--workers {text!r}: give a whole number of notebooks to run at once, at least 1") from None
    check_workers(workers)
    return workers


def summary_lines(outcome, code: int) -> list[str]:  # noqa: ANN001 - RunOutcome, imported lazily
    """One line per criterion and a status line: stable ``key=value`` words for schedulers."""
    lines = []
    for o in outcome.outcomes:
        counts = " ".join(f"{s.lower()}={o.statuses.get(s, 0)}" for s in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE"))
        line = f"{o.criterion} {o.status} tests={o.tests} {counts} deviations={o.deviations} accepted={o.accepted}"
        if o.error:
            line += f" cause={' '.join(o.error.split())[:200]!r}"
        lines.append(f"{line} ({o.seconds:.1f} s)")
    lines.append(f"status: {outcome.status} exit={code} criteria={len(outcome.outcomes)} package={outcome.run_dir} "
                 f"({outcome.seconds:.1f} s)")
    return lines


def summary_records(outcome, code: int) -> list[dict[str, Any]]:  # noqa: ANN001 - RunOutcome
    """:func:`summary_lines` as objects (``--json``): the same keys, numbers as numbers, ``seconds`` for the time."""
    records: list[dict[str, Any]] = []
    for o in outcome.outcomes:
        record: dict[str, Any] = {"criterion": o.criterion, "status": str(o.status), "tests": o.tests}
        record.update({s.lower(): o.statuses.get(s, 0) for s in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE")})
        record.update(deviations=o.deviations, accepted=o.accepted)
        if o.error:
            record["cause"] = " ".join(o.error.split())[:200]
        records.append({**record, "seconds": round(o.seconds, 1)})
    records.append({"status": str(outcome.status), "exit": code, "criteria": len(outcome.outcomes),
                    "package": str(outcome.run_dir), "seconds": round(outcome.seconds, 1)})
    return records


def _report(outcome, fail_on_deviation: bool, as_json: bool = False) -> int:  # noqa: ANN001 - RunOutcome, imported lazily
    from auditbook import notify
    from auditbook.results import Status

    code = EXIT_OK
    if outcome.status is Status.ERROR or (fail_on_deviation and outcome.status is Status.FAIL):
        code = EXIT_FINDINGS
    lines = summary_lines(outcome, code)
    for line in [json.dumps(r) for r in summary_records(outcome, code)] if as_json else lines:
        print(line)
    url = notify.webhook_url()
    if url:
        problem = notify.send("auditbook run\n" + "\n".join(lines), url)
        if problem:
            print(f"auditbook: notification not sent: {problem}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace, params_file: str | Path, signer: object = None) -> int:
    from auditbook.runner import RunError, run
    from auditbook.signing import Signer

    try:
        if signer is None and getattr(args, "sign_with", None):
            signer = Signer.parse(args.sign_with)
    except ValueError as exc:
        return refuse(args, str(exc))
    try:
        outcome = run(params_file, args.period, _criteria(args.criteria), args.out, workers=_workers(args.workers),
                      signer=signer, allow_long_period=args.allow_long_period, operator=args.operator,
                      verbose=args.verbose, console_level=_console_level(args), live=_live(args))
    except RunError as exc:
        return refuse(args, str(exc))
    return _report(outcome, args.fail_on_deviation, args.json)


def _stopped(exc: BaseException, args: argparse.Namespace | None = None) -> int:
    """Ctrl-C or SIGTERM: one line (what was stopped and removed), the signal's exit status."""
    from auditbook.runner import RunInterrupted

    if not isinstance(exc, RunInterrupted):  # a KeyboardInterrupt raised before the handlers were in place
        exc = RunInterrupted(2)
    return refuse(args or argparse.Namespace(), str(exc), exc.exit_status, "STOPPED")


def cmd_run(args: argparse.Namespace) -> int:
    from auditbook.runner import RunError, RunInterrupted, interruptible

    try:
        with interruptible():
            try:
                params_file = _params_file(args)
            except RunError as exc:
                return refuse(args, str(exc))
            return _run(args, params_file)
    except (RunInterrupted, KeyboardInterrupt) as exc:
        return _stopped(exc, args)


def cmd_snapshot(args: argparse.Namespace) -> int:
    """One snapshot of the configuration now: exit 0 all collected, 1 some population could not be (the rest is
    still written and sealed: evidence of the rest), 2 refused (nothing written)."""
    from auditbook.params import ParamsError
    from auditbook.runner import RunError
    from auditbook.signing import Signer
    from auditbook.snapshots import SnapshotError, take

    try:
        signer = Signer.parse(args.sign_with) if args.sign_with else None
        folder, errors = take(_params_file(args), Path(args.out), signer)
    except (ParamsError, SnapshotError, RunError, ValueError, OSError) as exc:
        print(f"auditbook: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_REFUSED
    code = EXIT_FINDINGS if errors else EXIT_OK
    print(f"snapshot: {folder} errors={len(errors)} exit={code}"
          + "".join(f"\n  {name}: {' '.join(why.split())[:200]}" for name, why in sorted(errors.items())))
    return code


DEMO_EXTRA = "the demo needs auditbook's demo extra (its emulators): pip install 'auditbook[demo]'"


def _demo_environment(args: argparse.Namespace | None = None) -> type | None:
    """The emulators' class, or None (with the one line that says how to get them) when the extra is missing."""
    try:
        from auditbook.demo.environment import DemoEnvironment
    except ImportError:
        refuse(args or argparse.Namespace(), DEMO_EXTRA)
        return None
    return DemoEnvironment


def cmd_demo(args: argparse.Namespace) -> int:
    from auditbook.runner import RunInterrupted, interruptible

    try:
        with interruptible():
            environment = _demo_environment(args)
            if environment is None:
                return EXIT_REFUSED
            from auditbook.demo.signing_key import demo_signer
            from auditbook.resources import demo_params

            signer, allowed = demo_signer(Path(args.out))
            log.info("starting the embedded demo environment (AWS and GitHub emulators)")
            with environment() as env:
                from auditbook.demo.snapshots import take_all

                made = take_all(env, str(demo_params()), Path(args.out))
                log.info("the demo company's daily snapshots: %d taken into %s", len(made),
                         Path(args.out) / "snapshots")
                code = _run(args, demo_params(), signer)
    except (RunInterrupted, KeyboardInterrupt) as exc:
        return _stopped(exc, args)
    log.info("the demo signs with its own SSH key; verify with: auditbook verify <package> --expect-signer %s",
             allowed)
    return code


def run_child(command: list[str], env: dict[str, str] | None = None) -> int:
    """Run a command in the foreground and wait for it, leaving Ctrl-C to it.

    Ctrl-C reaches the terminal's whole process group: JupyterLab asks "Shutdown this Jupyter server?" on the
    first one and stops on the second, while this process (demo-env, lab) used to die of the first with a
    traceback, taking the emulators with it. Here SIGINT does nothing but let the child decide; the child starts
    with the default disposition (a handler, unlike SIG_IGN, is reset by exec), and this process ends after it
    with its exit status (128 + signal when a signal ended it). SIGTERM is passed on to the child.
    """
    import signal

    started: list[subprocess.Popen[bytes]] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, lambda signum, frame: None)  # before the child starts: no window for a traceback
    signal.signal(signal.SIGTERM, lambda signum, frame: [child.send_signal(signum) for child in started])
    try:
        started.append(subprocess.Popen(command, env=env))
        code = started[0].wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def cmd_demo_env(args: argparse.Namespace) -> int:
    """Run a command (JupyterLab, pytest --nbval) with the demo emulators up and the variables set."""
    command = [c for c in args.command if c != "--"]
    if not command:
        print("auditbook: demo-env needs a command after --", file=sys.stderr)
        return EXIT_REFUSED
    environment = _demo_environment()
    if environment is None:
        return EXIT_REFUSED
    with environment() as demo:
        for key, value in demo.env.items():
            if key.endswith("_URL"):
                print(f"auditbook: {key}={value}", file=sys.stderr)
        return run_child(command)


def cmd_check(args: argparse.Namespace) -> int:
    """The preflight table: exit 0 everything reads, 1 a credential or permission is missing, 2 refused."""
    from auditbook.check import check, table
    from auditbook.runner import RunError

    try:
        if args.demo:
            environment = _demo_environment(args)
            if environment is None:
                return EXIT_REFUSED
            from auditbook.resources import demo_params

            with environment():
                rows = check(demo_params(), _criteria(args.criteria))
        else:
            rows = check(_params_file(args), _criteria(args.criteria))
    except RunError as exc:
        return refuse(args, str(exc))
    print(table(rows))
    missing = [r for r in rows if not r.ok]
    print(f"check: {len(rows) - len(missing)} of {len(rows)} ok" + (f", {len(missing)} missing" if missing else ""))
    return EXIT_FINDINGS if missing else EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """A working folder: params/example.yaml (every key documented), notebooks/ for JupyterLab, outputs/."""
    from auditbook.workspace import WorkspaceError, scaffold

    try:
        made = scaffold(Path(args.dir))
    except WorkspaceError as exc:
        print(f"auditbook: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for path in made:
        print(path)
    print(f"auditbook: edit {Path(args.dir) / 'params' / 'example.yaml'}, then: auditbook run --params "
          f"{Path(args.dir) / 'params' / 'example.yaml'} --period 2026-Q3 --out {Path(args.dir) / 'outputs'}",
          file=sys.stderr)
    return EXIT_OK


def cmd_lab(args: argparse.Namespace) -> int:
    """JupyterLab on this folder's notebooks (copied from the package when missing), reading --params."""
    import os
    import shutil

    from auditbook.workspace import WorkspaceError, lab_environment

    jupyter = shutil.which("jupyter")
    if jupyter is None or subprocess.call([jupyter, "lab", "--version"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL) != 0:
        print("auditbook: JupyterLab is not installed: pip install 'auditbook[lab]'", file=sys.stderr)
        return EXIT_REFUSED
    try:
        env = lab_environment(Path.cwd(), args.params, demo=args.demo)
    except WorkspaceError as exc:
        print(f"auditbook: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    command = [jupyter, "lab", f"--notebook-dir={env.pop('notebook_dir')}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    if not args.demo:
        return run_child(command, env={**os.environ, **env})
    environment = _demo_environment()
    if environment is None:
        return EXIT_REFUSED
    with environment():
        return run_child(command, env={**os.environ, **env})


def cmd_verify(args: argparse.Namespace) -> int:
    from auditbook.locker import verify

    root = Path(args.run_dir)
    if not root.is_dir():
        print(f"auditbook: {root} is not a package folder", file=sys.stderr)
        return EXIT_REFUSED
    from auditbook.provenance import iso, utc_now

    result = verify(root, args.expect_signer, args.require_signature)
    for line in result.lines():
        print(line)
    print(result.verdict(iso(utc_now().replace(microsecond=0)), __version__))
    ok = result.ok
    if args.addendum:
        from auditbook.addendum import check_addendum

        addendum = check_addendum(root, Path(args.addendum), result.digest, args.expect_signer)
        for line in addendum.problems + [f"addendum signature: {p}" for p in addendum.signature.problems]:
            print(f"addendum: {line}")
        print(f"{'verified' if addendum.ok else 'NOT verified'}: sample addendum {args.addendum}: "
              f"{addendum.samples} samples drawn again from the sealed tested populations "
              f"{'match' if addendum.ok else 'do not all match'}; {addendum.signature.sentence()}.")
        ok = ok and addendum.ok
    return EXIT_OK if ok else EXIT_FINDINGS


def cmd_sample(args: argparse.Namespace) -> int:
    """Auditor-chosen samples from a sealed package, into an addendum beside it (the package is not changed)."""
    from auditbook.addendum import AddendumError, draw_addendum
    from auditbook.signing import Signer, SigningError

    try:
        sizes = dict(_size(text) for text in args.size or [])
        signer = Signer.parse(args.sign_with) if args.sign_with else None
        out = Path(args.out) if args.out else Path(f"{Path(args.package).resolve()}.samples-{args.seed}")
        made = draw_addendum(Path(args.package), args.seed, out, sizes, signer, args.expect_signer)
    except (ValueError, AddendumError, SigningError, OSError) as exc:
        print(f"auditbook: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(made)
    return EXIT_OK


def _size(text: str) -> tuple[str, int]:
    frequency, _, number = text.partition("=")
    if not frequency or not number.isdigit() or int(number) < 1:
        raise ValueError(f"--size {text!r}: expected FREQUENCY=N, e.g. per_event=40")
    return frequency, int(number)


def parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="auditbook", description="SOC 2 Type II evidence produced by code.",
                                epilog=EPILOG, formatter_class=raw)
    p.add_argument("--version", action="version", version=f"auditbook {__version__}",
                   help="print auditbook's version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", help="one of:")

    def run_options(sp: argparse.ArgumentParser, period_default: str | None) -> None:
        sp.add_argument("--period", required=period_default is None, default=period_default,
                        help="2026-Q3, 2026-07, 2026 or 2026-07-01..2026-09-30")
        sp.add_argument("--criteria", help="comma-separated, e.g. CC6.1,CC8.1 (default: all with a notebook)")
        sp.add_argument("--out", default=default_out(),
                        help=f"packages go to OUT/<period>/<run-id>/ (default: ${OUT_ENV}, else outputs)")
        sp.add_argument("--workers", metavar="N", default=None, help="notebooks run at once (default: cores)")
        sp.add_argument("--fail-on-deviation", action="store_true", help="exit 1 when any test is FAIL")
        sp.add_argument("--allow-long-period", action="store_true",
                        help="run a period longer than 13 months (refused by default: usually a typo)")
        sp.add_argument("--operator", metavar="NAME",
                        help="who is answerable for this run, recorded as 'run by' (default: the CI job's actor "
                             "and run URL, else user@host)")
        sp.add_argument("--json", action="store_true",
                        help="print the per-criterion and status lines (and a refusal) as JSON Lines on stdout")

    def log_options(sp: argparse.ArgumentParser) -> None:
        loudness = sp.add_mutually_exclusive_group()
        loudness.add_argument("--verbose", "-v", action="store_true",
                              help="debug lines on stderr, and in the package's run.log (INFO otherwise)")
        loudness.add_argument("--quiet", "-q", action="store_true",
                              help="stderr: warnings and errors only (stdout keeps its status lines)")

    sp = sub.add_parser("init", help="make a working folder: params/example.yaml, notebooks/, outputs/",
                        description="Make a working folder for your organization: params/example.yaml (every key "
                                    "documented), notebooks/ for JupyterLab and outputs/.")
    sp.add_argument("dir", help="the folder to make (must not hold auditbook files already)")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("run", help="run the criteria for a period", epilog=EPILOG, formatter_class=raw,
                        description="Collect the evidence of a period, test every criterion and write one sealed\n"
                                    "package to OUT/<period>/<run-id>/.")
    sp.add_argument("--params", default=default_params(),
                    help=f"params YAML (see params/example.yaml; default: ${PARAMS_ENV})")
    sp.add_argument("--sign-with", help="sign the package: ssh:<private key file> or kms:<key id or ARN> "
                                        "(default: params signing)")
    run_options(sp, None)
    log_options(sp)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("snapshot", help="read the configuration now into a sealed snapshot (schedule it daily "
                                         "while the period runs)",
                        description="Read the configuration as it is now into a sealed snapshot; a quarterly run "
                                    "tests configuration on each day its snapshots cover. Exit 1 when a population "
                                    "could not be read (the rest is still sealed).")
    sp.add_argument("--params", default=default_params(),
                    help=f"params YAML (see params/example.yaml; default: ${PARAMS_ENV})")
    sp.add_argument("--out", default=default_out(),
                    help=f"snapshots go to OUT/snapshots/<taken-at>/ (default: ${OUT_ENV}, else outputs)")
    sp.add_argument("--sign-with", help="sign the snapshot: ssh:<private key file> or kms:<key id or ARN>")
    log_options(sp)
    sp.set_defaults(func=cmd_snapshot)

    sp = sub.add_parser("demo", help="run the demo company's quarter against the embedded emulators",
                        epilog=EPILOG, formatter_class=raw,
                        description="Run the demo company's quarter against the embedded AWS and GitHub emulators\n"
                                    "(needs the demo extra): daily snapshots, then a signed package as 'run' "
                                    "writes it.")
    run_options(sp, "2026-Q3")
    log_options(sp)
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("demo-env", help="run a command with the demo emulators up: demo-env -- CMD ...",
                        description="Start the demo's AWS and GitHub emulators, run COMMAND with AWS_ENDPOINT_URL, "
                                    "GITHUB_API_URL and GITHUB_TOKEN pointing at them, stop them; exit with "
                                    "COMMAND's status.")
    sp.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND",
                    help="the command and its arguments, after --, e.g. -- jupyter lab")
    sp.set_defaults(func=cmd_demo_env)

    sp = sub.add_parser("check", help="preflight: params, credentials and every permission a run needs, no package",
                        description="Check the params as run does, then each AWS account's credentials and the "
                                    "permissions the collectors use (IAM's policy simulator for the caller, else "
                                    "one read per service) and the GitHub token's scopes and reads. Prints a "
                                    "table; writes nothing. Exit 0 all ok, 1 something missing (named), 2 refused.")
    sp.add_argument("--params", default=default_params(),
                    help=f"params YAML (default: ${PARAMS_ENV})")
    sp.add_argument("--criteria", help="comma-separated, e.g. CC6.1,CC8.1 (default: all with a notebook)")
    sp.add_argument("--demo", action="store_true",
                    help="check the demo company's params against the embedded emulators (needs the demo extra)")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("verify", help="recompute every hash of a package, check its counts, print a verdict",
                        description="Recompute every hash of a package, check its counts and signature, print a "
                                    "verdict an auditor can paste. Exit 1 when anything differs.")
    sp.add_argument("run_dir", metavar="RUN_DIR", help="a package folder, outputs/<period>/<run-id>")
    sp.add_argument("--expect-signer", help="the allowed-signers file (SSH) or the KMS key id/ARN that must have "
                                            "signed it")
    sp.add_argument("--require-signature", action="store_true", help="an unsigned package fails")
    sp.add_argument("--addendum", help="also check a sample addendum drawn from this package")
    sp.set_defaults(func=cmd_verify)

    sp = sub.add_parser("sample", help="auditor-chosen samples from a sealed package, into an addendum beside it",
                        description="Draw samples with the auditor's seed from a sealed package's tested "
                                    "populations into an addendum beside it (the package is not changed).")
    sp.add_argument("package", metavar="PACKAGE", help="a package folder, outputs/<period>/<run-id>")
    sp.add_argument("--seed", type=int, required=True, help="the auditor's seed (the entity does not know it)")
    sp.add_argument("--size", action="append", help="sample size by control frequency, e.g. per_event=40 "
                                                    "(default: the package's params)")
    sp.add_argument("--out", help="the addendum folder (default: <package>.samples-<seed>)")
    sp.add_argument("--sign-with", help="sign the addendum: ssh:<private key file> or kms:<key id or ARN>")
    sp.add_argument("--expect-signer", help="draw only from a package this signer signed")
    sp.set_defaults(func=cmd_sample)

    sp = sub.add_parser("lab", help="JupyterLab on this folder's notebooks (needs the lab extra)",
                        description="Start JupyterLab on this folder's notebooks (copied from the package when "
                                    "missing), their kernels reading --params.")
    sp.add_argument("--params", default=default_params(),
                    help=f"params YAML the notebooks read (default: ${PARAMS_ENV}, else params/example.yaml here)")
    sp.add_argument("--demo", action="store_true", help="with the demo emulators up and the demo company's params")
    sp.set_defaults(func=cmd_lab)
    return p


def _console_level(args: argparse.Namespace) -> int:
    return logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO


def _live(args: argparse.Namespace) -> bool:
    """A live progress line on a terminal; plain lines in a file, a pipe, with --verbose; none with --quiet."""
    from auditbook.logs import terminal

    return terminal() and not (args.quiet or args.verbose)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not hasattr(args, "verbose"):
        return args.func(args)
    from auditbook import logs

    handler = logs.console(args.verbose, args.quiet)  # run.log is the runner's (auditbook.logs.run_log)
    try:
        return args.func(args)
    finally:
        logs.detach(handler)


def console() -> None:
    """The ``auditbook`` command: :func:`main`, then exit without the interpreter's last garbage collections.

    A demo's process ends holding the emulators' state and every library a run loads (about 760,000 objects
    the collector tracks); the collections Python runs while it shuts down walked all of them again and took
    2 s after the package was published. ``gc.freeze`` leaves them out: the memory goes back to the system
    with the process, atexit handlers and finalizers registered with ``weakref.finalize`` still run, and
    everything the command wrote is closed by then (a package is sealed before it is published).
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()
