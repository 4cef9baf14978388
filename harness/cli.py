"""The ``harness`` command: one thin function per verb.

Exit codes: 0 every selected MUST requirement Implemented (or declared N/A) / the verb succeeded;
1 a requirement failed (or validate/diff/doctor found a problem); 2 usage or input error (one line
on stderr); 3 the harness itself could not finish (partial results kept).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from harness import __version__, catalog

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3
DEFAULT_INVENTORY = "inventories/local-sim"


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit 2), not usage + message."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def _ids(values: list[str] | None) -> list[str]:
    """``--only a,b --only c`` → [a, b, c]."""
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


def _project_root() -> Path:
    from harness.runner import PROJECT_ROOT

    return PROJECT_ROOT


def _load_lab(path: str) -> Any:
    from harness.lab import InventoryError, load_inventory

    p = Path(path)
    if not p.exists() and not p.is_absolute() and (_project_root() / p).exists():
        p = _project_root() / p  # the default works from any directory
    try:
        return load_inventory(p)
    except InventoryError as e:
        raise UsageError(str(e)) from None


def _runs_dir(args: argparse.Namespace) -> Path:
    return Path(args.run_dir) if args.run_dir else Path("runs")


def _mode(args: argparse.Namespace) -> str:
    return "json" if getattr(args, "json", False) else "quiet" if getattr(args, "quiet", False) else "live"


class _Cancel:
    """First Ctrl-C (or SIGTERM) asks the run to stop cleanly; a second one aborts at once."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        self.requested = False
        self.announce = announce
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Cancel:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.announce("cancelling: stopping the run, then cleaning up (Ctrl-C again to abort now)")

    def __call__(self) -> bool:
        return self.requested


# --- verbs ---------------------------------------------------------------------------------------


def cmd_requirements(args: argparse.Namespace) -> int:
    from harness.verify import SelectionError, select_checklists

    try:
        versions = select_checklists(args.checklist or [])
    except SelectionError as e:
        raise UsageError(str(e)) from None
    rows = [(v, r) for v in versions for r in catalog.load(v).requirements]
    if args.json:
        print(json.dumps([{"checklist": v, "id": r.id, "level": r.level, "category": r.category} for v, r in rows]))
        return EXIT_OK
    for v in versions:
        if len(versions) > 1:
            print(f"# {v}")
        for r in catalog.load(v).requirements:
            print(f"{r.id:<30} {r.level:<7} {r.category}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    return _verify(args)[0]


def _verify(args: argparse.Namespace) -> tuple[int, Any]:
    """``harness verify``; also hands back the VerifyResult (``harness run`` diffs and reports it)."""
    from harness.progress import Progress
    from harness.verify import SelectionError, select_checklists, select_requirements, verify

    lab = _load_lab(args.inventory)
    only, skip = _ids(args.only), _ids(args.skip)
    role_vars = _extra_vars(args.extra_vars or [])
    try:
        checklists = select_checklists(args.checklist or [])
        selected = select_requirements(checklists, only, skip)
    except SelectionError as e:
        raise UsageError(str(e)) from None
    roles_path = [Path(p) for p in args.roles_path or []]
    for p in roles_path:
        if not p.is_dir():
            raise UsageError(f"--roles-path '{p}' is not a directory")
    from harness.verify import lab_kubeconfig

    kubeconfig = lab_kubeconfig(lab)
    if kubeconfig is None or not kubeconfig.is_file():
        hint = "bring the lab up with `harness up`" if lab.kind == "local-sim" else "set harness_kubeconfig"
        _note(f"warning: no kubeconfig at {kubeconfig or '(none)'} ({hint}); checks that need the cluster will error")
    mode = _mode(args)
    title = f"harness verify: {lab.name} ({'simulated GPUs' if lab.simulated else lab.kind}), " \
            f"checklist {', '.join(checklists)}, {len(selected)} requirements"  # fmt: skip
    with Progress(mode, total=len(selected), title=title) as progress, _Cancel(_note) as cancel:
        result = verify(
            lab, checklists, selected,
            runs_dir=_runs_dir(args),
            selection={"only": only, "skip": skip},
            timeout=args.timeout,
            requirement_timeout=args.requirement_timeout, cluster_wait=args.cluster_wait,
            on_event=progress, cancel=cancel,
            roles_path=roles_path, project_roles=not args.no_project_roles, verbosity=args.verbose,
            write_reports=not args.no_report,
            role_vars=role_vars, parallel=not args.serial,
        )  # fmt: skip
    run = result.run
    code = result.exit_code
    if mode == "json":
        progress.json({
            "type": "summary", "run_id": run.run_id, "run_dir": str(result.run_dir), "state": run.state,
            "interruption": run.interruption, "exit_code": code,
            "requirements": {k: {"status": str(v.status), "outcome": str(v.outcome)}
                             for k, v in run.requirements.items()},
            "reports": [str(p) for p in result.reports], "report_error": result.report_error,
            "sweep": _cleanup_summary(result.sweep, result.swept_runs),
            "cleanup": _cleanup_summary(result.cleanup, [run.run_id]),
        })  # fmt: skip
    elif mode == "live":
        _print_summary(result)
    if result.outcome.withheld_env and args.verbose:
        _note(f"withheld from ansible (secret-looking names): {', '.join(result.outcome.withheld_env)}")
    if result.report_error:
        _note(result.report_error)
    if result.sweep is not None and mode != "json":
        from harness.leftovers import swept

        got = swept(result.sweep.artifact_data)
        _note(f"removed what earlier runs left ({', '.join(result.swept_runs)}): {', '.join(got.deleted) or 'nothing'}"
              + (f"; still there: {', '.join(got.left)}" if got.left else "")
              + ("" if got.reached else "; the cluster did not answer, the next run tries again"))  # fmt: skip
    if mode == "quiet":
        print(f"{run.run_id} {run.state} exit={code} {result.run_dir}")
    _append_history(args, result, code)
    return code, result


def _cleanup_summary(outcome: Any, run_ids: list[str]) -> dict[str, Any] | None:
    """What a cleanup.yml run (after a broken run, or the sweep before a run) reached and removed."""
    if outcome is None:
        return None
    from harness.leftovers import swept

    got = swept(outcome.artifact_data)
    return {"runs": run_ids, "status": outcome.status, "reached": got.reached, "clean": got.clean,
            "deleted": got.deleted, "left": got.left, "duration_s": outcome.duration_s}  # fmt: skip


def _history_path(args: argparse.Namespace) -> Path:
    from harness.history import default_path

    return Path(args.history) if args.history else default_path(_runs_dir(args))


def _append_history(args: argparse.Namespace, result: Any, code: int) -> None:
    from harness import history

    path = _history_path(args)
    try:
        history.append(path, history.entry_for(result.run, result.run_dir, code))
    except OSError as e:  # the run itself is saved; a missing history line must not change its verdict
        _note(f"could not append to the history {path}: {e}")


def _extra_vars(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"-e '{item}' is not KEY=VALUE with KEY a variable name")
        if key.startswith("harness_"):
            raise UsageError(f"-e {key}: harness_* variables are set by the harness itself")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _print_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    run = result.run
    levels = {r.id: r.level for v in run.checklists for r in catalog.load(v).requirements}
    table = Table(title=f"run {run.run_id}" + (" (SIMULATED GPUs)" if run.lab.simulated else ""))
    for col in ("requirement", "level", "status", "outcome", "checks"):
        table.add_column(col)
    colors = {"Implemented": "green", "Not Implemented": "red", "N/A": "blue", "Partially Implemented": "yellow"}
    for rid, r in run.requirements.items():
        counts: dict[str, int] = {}
        for c in r.checks:
            counts[str(c.status)] = counts.get(str(c.status), 0) + 1
        table.add_row(
            rid, levels.get(rid, ""), f"[{colors.get(str(r.status), '')}]{r.status}[/]", str(r.outcome),
            " ".join(f"{v} {k}" for k, v in counts.items()),
        )  # fmt: skip
    console = Console()
    console.print(table)
    if run.state != "complete" and run.interruption:
        console.print(f"[bold red]partial run[/]: {run.interruption.get('message', '')}")
    console.print(f"run directory: {result.run_dir}")
    for p in result.reports:
        if p.name == "PRODUCT.md":
            console.print(f"report: {p}")


def _playbook_verb(args: argparse.Namespace, playbook: str, what: str) -> int:
    from harness.progress import Progress
    from harness.runner import make_run_dir, new_run_id, run_playbook

    lab = _load_lab(args.inventory)
    run_id = new_run_id()
    run_dir = make_run_dir(_runs_dir(args), f"{run_id}-{what}").resolve()
    mode = _mode(args)
    with Progress(mode, title=f"harness {what}: {lab.name}", task_lines=True) as progress, _Cancel(_note) as cancel:
        outcome = run_playbook(
            playbook, lab.path, run_dir, {"harness_run_id": run_id, "harness_run_dir": str(run_dir)},
            timeout=args.timeout, on_event=progress, cancel=cancel, ident=what, verbosity=args.verbose,
        )  # fmt: skip
    if mode == "json":
        progress.json({"type": "summary", "status": outcome.status, "rc": outcome.rc,
                       "log": str(outcome.log), "failed_tasks": outcome.events.failed_tasks})  # fmt: skip
    if outcome.ok:
        if mode != "json":
            print(f"{what}: done in {outcome.duration_s:.1f}s (log: {outcome.log})")
        return EXIT_OK
    _note(f"{what} did not finish ({outcome.status}, rc={outcome.rc}); log: {outcome.log}")
    for line in outcome.events.failed_tasks[-3:]:
        _note(f"  failed: {line}")
    if outcome.message:
        _note(f"  {outcome.message}")
    return EXIT_HARNESS


def cmd_up(args: argparse.Namespace) -> int:
    return _playbook_verb(args, "up.yml", "up")


def cmd_down(args: argparse.Namespace) -> int:
    return _playbook_verb(args, "down.yml", "down")


def cmd_report(args: argparse.Namespace) -> int:
    if args.verify_bundle:
        from harness.report.bundle import BundleError, verify_bundle

        d = Path(args.verify_bundle)
        if not d.is_dir():
            raise UsageError(f"'{d}' is not a directory")
        try:
            problems = verify_bundle(d)
        except BundleError as e:
            raise UsageError(str(e)) from None
        for p in problems:
            print(p)
        if not problems and not args.quiet:
            print(f"{d}: bundle intact")
        return EXIT_FAILED if problems else EXIT_OK
    if not args.source or not args.out:
        raise UsageError("report needs --from RUN_DIR|PRODUCT.yaml and --out DIR (or --verify-bundle DIR)")
    src, out = Path(args.source), Path(args.out)
    if not src.exists():
        raise UsageError(f"'{src}' does not exist")
    if src.is_file() and src.suffix in (".yaml", ".yml"):
        from harness.report import render_any_product

        try:
            md = render_any_product(src, out)
        except (OSError, ValueError) as e:
            raise UsageError(f"{src}: {' '.join(str(e).split())}") from None
        if not args.quiet:
            print(md)
        return EXIT_OK
    from harness.run import RUN_FILE, RunFileError, load_checked
    from harness.verify import write_reports_for

    run_file = src / RUN_FILE if src.is_dir() else src
    if not run_file.is_file():
        raise UsageError(f"'{src}' holds no {RUN_FILE} (give a run directory or a PRODUCT.yaml)")
    try:
        run = load_checked(run_file)
    except RunFileError as e:
        raise UsageError(str(e)) from None
    written, err = write_reports_for(run, run_file.parent, out)
    if err:
        _note(err)
        return EXIT_HARNESS
    if not args.quiet:
        for f in written:
            print(f)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.validate import exit_code, iter_lines, validate_file

    p = Path(args.path)
    if not p.is_file():
        raise UsageError(f"'{p}' is not a file")
    findings = validate_file(p, online=args.online)
    if args.json:
        print(json.dumps([{"level": f.level, "subject": f.subject, "message": f.message} for f in findings]))
    else:
        for line in iter_lines(findings):
            print(line)
        if not findings and not args.quiet:
            print(f"{p}: valid")
    return exit_code(findings)


def cmd_diff(args: argparse.Namespace) -> int:
    from harness.diff import diff_runs, render_table, to_json
    from harness.run import RunFileError, load_checked

    runs = []
    for given in (args.run_a, args.run_b):
        p = Path(given)
        if not (p / "run.json").is_file() and not (p.is_file() and p.suffix == ".json"):
            raise UsageError(f"'{p}' is not a run directory (no run.json)")
        try:
            runs.append(load_checked(p))
        except RunFileError as e:
            raise UsageError(str(e)) from None
    d = diff_runs(runs[0], runs[1], time_regresses=args.time_regresses)
    if args.json:
        print(json.dumps(to_json(d), indent=2))
    else:
        print(render_table(d))
    return EXIT_FAILED if d.regressed else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """up, verify (which writes the reports), [report --out], [diff --baseline], down unless --keep.

    The exit code is the worst step's (0 < 1 < 2 < 3): a regression against the baseline makes a
    passing night 1; a lab that would not come up or go down makes it 3.
    """
    from harness.verify import SelectionError, select_checklists, select_requirements

    # Input errors first, before the lab is touched.
    lab = _load_lab(args.inventory)
    try:
        select_requirements(select_checklists(args.checklist or []), _ids(args.only), _ids(args.skip))
    except SelectionError as e:
        raise UsageError(str(e)) from None
    _extra_vars(args.extra_vars or [])
    baseline = _baseline(args, lab.name)
    steps: dict[str, int] = {}
    run_dir: Path | None = None
    if _step(steps, "up", lambda: cmd_up(args)) == EXIT_OK:
        holder: list[Any] = []
        _step(steps, "verify", lambda: _keep(holder, _verify(args)))
        run_dir = holder[0].run_dir if holder else None
        if run_dir is not None and args.out:
            ns = argparse.Namespace(source=str(run_dir), out=args.out, verify_bundle=None, quiet=True)
            if _step(steps, "report", lambda: cmd_report(ns)) == EXIT_OK and _mode(args) != "json":
                print(f"report: {args.out}")
        if run_dir is not None and baseline is not None:
            ns = argparse.Namespace(run_a=str(baseline), run_b=str(run_dir), json=False,
                                    time_regresses=args.time_regresses)  # fmt: skip
            # stdout stays JSON lines under --json: the diff table goes to stderr there
            with contextlib.redirect_stdout(sys.stderr if _mode(args) == "json" else sys.stdout):
                _step(steps, "diff", lambda: cmd_diff(ns))
    if not args.keep:
        _step(steps, "down", lambda: cmd_down(args))
    code = max(steps.values())
    if _mode(args) == "json":
        print(json.dumps({"type": "run", "steps": steps, "exit_code": code,
                          "run_dir": str(run_dir) if run_dir else None}))  # fmt: skip
    else:
        print("run: " + ", ".join(f"{k} {v}" for k, v in steps.items()) + f" -> exit {code}")
    return code


def _step(steps: dict[str, int], name: str, fn: Callable[[], int]) -> int:
    """Run one step of ``harness run``; an input error in it ends that step (2), not the run."""
    try:
        steps[name] = fn()
    except UsageError as e:
        _note(f"{name}: {' '.join(str(e).split())}")
        steps[name] = EXIT_USAGE
    return steps[name]


def _keep(holder: list[Any], code_and_result: tuple[int, Any]) -> int:
    holder.append(code_and_result[1])
    return code_and_result[0]


def _baseline(args: argparse.Namespace, lab_name: str) -> Path | None:
    """--baseline RUN_DIR, or ``last``: this lab's newest run in the history (none on a first night)."""
    if not args.baseline:
        return None
    if args.baseline != "last":
        p = Path(args.baseline)
        if not (p / "run.json").is_file():
            raise UsageError(f"--baseline '{p}' is not a run directory (no run.json)")
        return p
    from harness import history

    path = _history_path(args)
    entries = history.load(path)[0] if path.is_file() else []
    found = history.latest_run_dir(entries, lab_name)
    if found is None:
        _note(f"--baseline last: no earlier run of {lab_name} in {path}; nothing to compare with tonight")
    return found


def cmd_history(args: argparse.Namespace) -> int:
    from harness import history

    path = _history_path(args)
    if not path.is_file():
        raise UsageError(f"no history at '{path}' (every `harness verify` appends to it; --history FILE reads another)")
    entries, problems = history.load(path)
    for line in problems:
        _note(f"skipped {line}")
    last = args.last if args.last is not None else (60 if args.html else 14)
    nights = history.select(entries, lab=args.lab, last=last)
    if not nights:
        labs = sorted({e.lab for e in entries})
        raise UsageError(f"{path} holds no run" + (f" of lab '{args.lab}' (labs: {', '.join(labs)})" if labs else ""))
    if args.html:
        from harness.report.history_html import render_history_html

        out = Path(args.html)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_history_html(nights), "utf-8")
        if not args.quiet:
            print(out)
        return EXIT_OK
    if args.json:
        for n in nights:
            print(json.dumps(n.to_dict()))
        return EXIT_OK
    from rich.console import Console

    from harness.report.history_table import history_table

    console = Console()
    if not console.is_terminal:  # a log or a pipe: as wide as the table needs, never wrapped
        console = Console(width=max(80, 34 + 8 * len(nights) + 10))
    console.print(history_table(nights))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from harness.simlab import status as simstatus

    lab = _load_lab(args.inventory)
    if lab.kind != "local-sim":
        raise UsageError(f"status reports the simulated lab; inventory '{lab.path}' is a {lab.kind} lab")
    state = simstatus.lab_state_dir(lab.vars)
    rows = [c.to_dict() for c in simstatus.read_components(state)]
    if args.json:
        print(json.dumps({"state_dir": str(state), "components": rows}, indent=2, default=str))
        return EXIT_OK
    if not rows:
        print(f"no lab components recorded under {state} (bring the lab up with `harness up`)")
        return EXIT_FAILED
    cols = ["name", "state", "pid", "version", "endpoint"]
    width = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.upper().ljust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(width[c]) for c in cols))
    return EXIT_OK


def cmd_kubeconfig(args: argparse.Namespace) -> int:
    from harness.verify import lab_kubeconfig

    lab = _load_lab(args.inventory)
    path = lab_kubeconfig(lab)
    if path is None:
        _note("no kubeconfig: set harness_kubeconfig in the inventory or KUBECONFIG")
        return EXIT_FAILED
    print(path)
    if not path.is_file():
        _note(f"{path} does not exist yet (is the lab up? `harness up`)")
        return EXIT_FAILED
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from harness.doctor import diagnose

    lab = _load_lab(args.inventory)
    checks = diagnose(lab)
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        for c in checks:
            mark = "ok  " if c.ok else ("warn" if not c.required else "MISS")
            line = f"[{mark}] {c.name}: {c.detail}"
            if not c.ok and c.fix:
                line += f"\n       fix: {c.fix}"
            print(line)
    missing = [c for c in checks if not c.ok and c.required]
    if not args.json and not args.quiet:
        print(f"{len(missing)} missing" if missing else "everything a run needs is here")
    return EXIT_FAILED if missing else EXIT_OK


def _note(msg: str) -> None:
    sys.stderr.write(f"harness: {msg}\n")
    sys.stderr.flush()


# --- parser --------------------------------------------------------------------------------------

_EXAMPLES = {
    "up": "examples:\n  harness up\n  harness up -i inventories/local-sim --timeout 900",
    "verify": (
        "examples:\n  harness verify\n  harness verify --checklist v1.35 --only dra_support,gang_scheduling\n"
        "  harness verify --checklist v1.36 --checklist v1.37 --skip gpu_sharing --json > progress.jsonl\n\n"
        "exit: 0 every selected MUST requirement Implemented (or declared N/A), 1 one is not,\n"
        "      2 usage/input error, 3 the run could not finish (partial results kept in the run directory)"
    ),
    "report": (
        "examples:\n  harness report --from runs/20260101T120000Z-ab12cd --out out/\n"
        "  harness report --from vendor/PRODUCT.yaml --out out/     # writes out/PRODUCT.md\n"
        "  harness report --verify-bundle runs/20260101T120000Z-ab12cd/report/v1.37"
    ),
    "validate": "examples:\n  harness validate runs/<id>/report/v1.37/PRODUCT.yaml\n  harness validate PRODUCT.yaml --online",
    "diff": "examples:\n  harness diff runs/<nightly-1> runs/<nightly-2>\n  harness diff runs/A runs/B --json\n\n"
            "exit: 1 when something regressed (a status or check got worse, a new error, an unfinished run)",
    "down": "examples:\n  harness down",
    "doctor": "examples:\n  harness doctor\n  harness doctor -i inventories/my-cluster",
    "requirements": "examples:\n  harness requirements\n  harness requirements --checklist v1.35\n"
                    "  harness requirements --checklist v1.33 --checklist v1.37 --json",
    "status": "examples:\n  harness status\n  harness status --json",
    "kubeconfig": "examples:\n  KUBECONFIG=$(harness kubeconfig) kubectl get nodes",
    "run": (
        "examples:\n  harness run                                  # up, verify, down\n"
        "  harness run --baseline last --out out/       # nightly: diff against the previous night\n"
        "  harness run --keep --only gang_scheduling    # leave the lab up afterwards\n\n"
        "exit: the worst step's code: 0 every MUST requirement Implemented (or N/A) and no regression,\n"
        "      1 one is not, or a regression against --baseline, 2 usage/input error,\n"
        "      3 the lab did not come up or go down, or the run could not finish"
    ),
    "history": (
        "examples:\n  harness history                              # the last 14 nights in the terminal\n"
        "  harness history --html nightly.html          # status grid and duration charts, one file\n"
        "  harness history --history /srv/ci/history.jsonl --lab my-cluster --last 30"
    ),
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    out = _Parser(add_help=False)
    out.add_argument("-v", "--verbose", action="count", default=0, help="more detail (-vv, -vvv: ansible verbosity)")
    out.add_argument("--quiet", action="store_true", help="print only the outcome (for CI)")
    out.add_argument("--json", action="store_true", help="machine-readable output (JSON, or JSON lines while running)")
    lab = _Parser(add_help=False)
    lab.add_argument("-i", "--inventory", default=DEFAULT_INVENTORY, help=f"lab inventory (default {DEFAULT_INVENTORY})")
    lab.add_argument("--run-dir", help="directory that holds run directories (default ./runs)")
    lab.add_argument("--timeout", type=int, help="seconds the whole run may take (default: no limit)")
    sel = _Parser(add_help=False)
    sel.add_argument("--checklist", action="append", metavar="VERSION",
                     help=f"CNCF checklist version, repeatable ({', '.join(catalog.versions())}; default {catalog.latest()})")
    sel.add_argument("--only", action="append", metavar="IDS", help="only these requirement ids (comma-separated, repeatable)")
    sel.add_argument("--skip", action="append", metavar="IDS", help="skip these requirement ids (comma-separated, repeatable)")

    p = _Parser(prog="harness", description="Bring a GPU Kubernetes lab up and verify it against the CNCF "
                "Kubernetes AI Conformance checklist.", epilog="run `harness VERB --help` for each verb",
                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = p.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    sub.required = True

    def verb(name: str, fn: Callable[[argparse.Namespace], int], help_: str, parents: list[_Parser]) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_, epilog=_EXAMPLES[name], parents=parents,
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        sp.set_defaults(fn=fn)
        return sp

    verb("up", cmd_up, "Bring the lab up (playbooks/up.yml); running it twice changes nothing.", [out, lab])
    vopt = _Parser(add_help=False)  # verify's own options, shared with `run`
    vopt.add_argument("--requirement-timeout", type=int, default=600, metavar="SECONDS",
                      help="seconds any one task of a verify role may take (default 600)")
    vopt.add_argument("--cluster-wait", type=int, default=30, metavar="SECONDS",
                      help="after a role error, seconds a cluster that stopped answering gets to come back "
                           "before the run stops, partial (default 30)")
    vopt.add_argument("--roles-path", action="append", metavar="DIR",
                      help="extra directory searched first for verify_<id> roles (role development, tests)")
    vopt.add_argument("--no-project-roles", action="store_true",
                      help="search only --roles-path, not the project's roles/ (tests of the harness itself)")
    vopt.add_argument("--no-report", action="store_true", help="write run.json only, no reports")
    vopt.add_argument("--serial", action="store_true",
                      help="one requirement at a time, in report order (default: all at once, each role waiting "
                           "only for what it shares, as its meta/verify.yml declares; use --serial where other "
                           "workloads hold the lab's accelerators)")
    vopt.add_argument("-e", "--extra-vars", action="append", metavar="KEY=VALUE",
                      help="set a verify role variable, e.g. -e verify_ai_inference_requests=200 "
                           "(VALUE is parsed as JSON when it can be; repeatable)")
    vopt.add_argument("--history", metavar="FILE",
                      help="append the run's line to this history (default <run-dir>/history.jsonl)")
    verb("verify", cmd_verify, "Verify the lab against the checklist(s): run each requirement's verify role, "
         "write run.json and the reports into runs/<run-id>/.", [out, lab, sel, vopt])  # fmt: skip
    ru = verb("run", cmd_run, "The nightly run: up, verify, report and (unless --keep) down, with one exit code; "
              "with --baseline, also diff against an earlier run.", [out, lab, sel, vopt])  # fmt: skip
    ru.add_argument("--keep", action="store_true", help="leave the lab up afterwards (no down)")
    ru.add_argument("--out", metavar="DIR", help="also write the reports here (like `harness report --from RUN --out DIR`)")
    ru.add_argument("--baseline", metavar="RUN", help="an earlier run directory to diff against (exit 1 on a "
                    "regression), or 'last': this lab's newest run in the history")  # fmt: skip
    ru.add_argument("--time-regresses", action="store_true", help="count a much slower requirement as a regression")
    h = verb("history", cmd_history, "The history of runs (one line per verify): a status table in the terminal, "
             "or a self-contained HTML page with a status grid and duration charts.", [out])  # fmt: skip
    h.add_argument("--history", metavar="FILE", help="the history file (default <run-dir>/history.jsonl)")
    h.add_argument("--run-dir", help="directory that holds run directories (default ./runs)")
    h.add_argument("--lab", help="the lab (inventory name) to show (default: that of the newest run)")
    h.add_argument("--last", type=int, metavar="N", help="the last N nights (default 14; 60 with --html)")
    h.add_argument("--html", metavar="FILE", help="write the HTML page to FILE instead of printing the table")
    r = verb("report", cmd_report, "Rebuild a run's outputs offline from run.json, render any PRODUCT.yaml "
             "to PRODUCT.md, or check a bundle's SHA256SUMS.", [out])  # fmt: skip
    r.add_argument("--from", dest="source", metavar="PATH", help="a run directory (runs/<id>) or a PRODUCT.yaml")
    r.add_argument("--out", metavar="DIR", help="output directory")
    r.add_argument("--verify-bundle", metavar="DIR", help="recompute a report bundle's SHA256SUMS")
    va = verb("validate", cmd_validate, "Check a PRODUCT.yaml against the CNCF submission rules, offline.", [out])
    va.add_argument("path", help="PRODUCT.yaml to check")
    va.add_argument("--online", action="store_true",
                    help="also check that the URLs answer and that vendorName is a CNCF member")
    d = verb("diff", cmd_diff, "Compare two runs: changed statuses and checks, new errors, time changes.", [out])
    d.add_argument("run_a", metavar="RUN_A", help="the earlier run directory")
    d.add_argument("run_b", metavar="RUN_B", help="the later run directory")
    d.add_argument("--time-regresses", action="store_true", help="count a much slower requirement as a regression")
    verb("down", cmd_down, "Take the lab down (playbooks/down.yml): stop its processes, remove its state.", [out, lab])
    verb("doctor", cmd_doctor, "Check what a run needs (Python, Ansible, collections, kubeconfig, lab "
         "binaries) and say how to fix each missing piece.", [out, lab])  # fmt: skip
    verb("requirements", cmd_requirements, "List a checklist's requirement ids with level and category.", [out, sel])
    verb("status", cmd_status, "Show the simulated lab's components: state, PID, version, endpoint.", [out, lab])
    verb("kubeconfig", cmd_kubeconfig, "Print the path of the lab's kubeconfig.", [out, lab])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    fn: Callable[[argparse.Namespace], int] = args.fn
    try:
        return fn(args)
    except UsageError as e:
        sys.stderr.write(f"harness {args.verb}: error: {' '.join(str(e).split())}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _note("aborted")
        return EXIT_HARNESS
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - the harness failed; say so in one line unless -v
        if args.verbose:
            traceback.print_exc()
        _note(f"internal error: {type(e).__name__}: {e} (run with -v for the traceback)")
        return EXIT_HARNESS


if __name__ == "__main__":
    sys.exit(main())
