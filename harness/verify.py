"""``harness verify`` end to end: select requirements, run verify.yml, decide, save run.json, write reports."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__, catalog, leftovers
from harness.lab import Lab
from harness.results import Check, CheckStatus, Outcome, RequirementResult, RoleReport, Status, decide
from harness.run import LabInfo, Run
from harness.runner import (
    PROJECT_ROOT,
    PlaybookOutcome,
    ProgressEvent,
    make_run_dir,
    new_run_id,
    run_playbook,
    utc_now,
)

DEFAULT_REQUIREMENT_TIMEOUT = 600  # seconds any one task of a verify role may take
MAX_FORKS = 32  # hosts (requirements) that run at once; the checklists hold fewer
DEFAULT_CLUSTER_WAIT = 30  # seconds a cluster that stopped answering gets to come back before the run stops
CLEANUP_TIMEOUT = 180
#: how long the sweep of earlier runs waits for their objects to go: after an API server outage the
#: controllers catch up slowly (a namespace took ~60 s to go on the simulated lab)
SWEEP_WAIT = 120
EXIT_HARNESS = 3


class SelectionError(ValueError):
    """The checklist/--only/--skip selection cannot be used (a usage error)."""


def select_checklists(given: list[str]) -> list[str]:
    """Normalised, de-duplicated checklist versions; the newest when none is given."""
    out: list[str] = []
    for g in given or [catalog.latest()]:
        try:
            v = catalog.normalize_version(g)
        except catalog.UnknownChecklistError as e:
            raise SelectionError(str(e)) from None
        if v not in catalog.versions():
            raise SelectionError(f"no checklist {v} is shipped (known: {', '.join(catalog.versions())})")
        if v not in out:
            out.append(v)
    return out


def select_requirements(checklists: list[str], only: list[str], skip: list[str]) -> list[str]:
    """Requirement ids to verify, in the newest checklist's order (then older ones' extra ids)."""
    try:
        catalog.check_ids(only + skip)
    except catalog.UnknownRequirementError as e:
        raise SelectionError(str(e)) from None
    ids: list[str] = []
    for v in sorted(checklists, key=lambda v: catalog.versions().index(v), reverse=True):
        ids += [i for i in catalog.load(v).ids() if i not in ids]
    for i in only:
        if i not in ids:
            where = ", ".join(catalog.versions_with(i))
            raise SelectionError(
                f"requirement '{i}' is not in checklist {', '.join(checklists)} (it is in {where})"
            )
    chosen = [i for i in ids if (not only or i in only) and i not in skip]
    if not chosen:
        raise SelectionError("--only/--skip leave no requirement to verify")
    return chosen


def lab_kubeconfig(lab: Lab) -> Path | None:
    """The lab's kubeconfig path (never read here): the simulated lab's, the inventory's, or $KUBECONFIG."""
    if lab.kind == "local-sim":
        from harness.simlab import status as simstatus

        return simstatus.kubeconfig_path(simstatus.lab_state_dir(lab.vars))
    given = lab.vars.get("harness_kubeconfig") or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    if not given:
        default = Path("~/.kube/config").expanduser()
        return default if default.is_file() else None
    p = Path(str(given)).expanduser()
    if not p.is_absolute():
        root = lab.path if lab.path.is_dir() else lab.path.parent
        p = root / p if (root / p).exists() else p.resolve()
    return p


def lab_components(lab: Lab) -> dict[str, str]:
    """Component versions: the inventory's ``harness_components`` and, on the simulated lab, its records."""
    comps = {str(k): str(v) for k, v in (lab.vars.get("harness_components") or {}).items()}
    if lab.kind != "local-sim":
        return comps
    from harness.simlab import status as simstatus

    try:
        records = simstatus.read_components(simstatus.lab_state_dir(lab.vars), check_health=False)
    except OSError:  # versions are informative; an unreadable lab state must not stop a run
        return comps
    for r in records:
        if r.name and r.version:
            comps.setdefault(r.name, r.version)
    return comps


@dataclass
class VerifyResult:
    run: Run
    run_dir: Path
    outcome: PlaybookOutcome
    reports: list[Path]
    report_error: str = ""
    cleanup: PlaybookOutcome | None = None
    #: cleanup.yml run first for earlier runs that left objects behind (harness.leftovers)
    sweep: PlaybookOutcome | None = None
    swept_runs: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        # Reports that could not be written mean the harness did not finish its job.
        return EXIT_HARNESS if self.report_error else exit_code(self.run)


def exit_code(run: Run) -> int:
    """0: every selected MUST Implemented or declared N/A; 1: one is not; 3: the run did not finish."""
    if run.state != "complete":
        return EXIT_HARNESS
    levels = {r.id: r.level for v in run.checklists for r in catalog.load(v).requirements}
    for rid, res in run.requirements.items():
        if levels.get(rid) == "MUST" and res.status not in (Status.IMPLEMENTED, Status.NA):
            return 1
    return 0


_INTERRUPTIONS = {
    "canceled": "the run was cancelled (Ctrl-C); results collected so far are kept",
    "timeout": "the run went past its time limit; results collected so far are kept",
    "failed": "verify.yml itself failed (not a verify role); see logs/verify.log",
    "error": "the harness could not run ansible",
}


def build_requirements(
    selected: list[str], artifact_data: dict[str, Any], lab: Lab, interrupted: Sequence[str] = ()
) -> dict[str, RequirementResult]:
    results = artifact_data.get("harness_results") or {}
    lost = lab_lost(artifact_data)
    out: dict[str, RequirementResult] = {}
    for rid in selected:
        raw = results.get(rid) if isinstance(results, dict) else None
        report: RoleReport | None = None
        bad = ""
        if isinstance(raw, dict):
            try:
                report = RoleReport.from_dict(rid, raw)
            except (KeyError, ValueError, TypeError) as e:
                bad = f"The role's record could not be read ({type(e).__name__}: {e})."
        if rid in interrupted and not bad:
            # What it emitted before the run stopped (if anything) is only part of the story: an
            # error, never a pass.
            report = report or RoleReport(requirement=rid)
            report.checks.append(Check(
                name=f"verify_{rid} ran to completion", status=CheckStatus.ERROR,
                expected="the role finishes", observed="the run stopped while the role was running",
            ))  # fmt: skip
        if lost is not None and rid == lost["requirement"]:
            # The cluster went away under the role: nothing it judged afterwards can be trusted.
            report = report or RoleReport(requirement=rid)
            report.checks.append(Check(
                name=f"The cluster answered while verify_{rid} ran", status=CheckStatus.ERROR,
                expected="the API server answers",
                observed=f"no answer for {lost['waited_s']} s after the role: {lost['message']}",
            ))  # fmt: skip
        res = decide(rid, report, lab.declared.get(rid))
        if bad and res.outcome is Outcome.MISSING:
            res.outcome = Outcome.ERROR
            res.notes = bad
        if lab.simulated:
            res.simulated = True
        out[rid] = res
    return out


def lab_lost(artifact_data: dict[str, Any]) -> dict[str, str] | None:
    """verify.yml's ``harness_lab_lost``: the cluster stopped answering after a requirement, the run stopped."""
    rec = artifact_data.get("harness_lab_lost")
    if not isinstance(rec, dict) or not rec.get("requirement"):
        return None
    return {"requirement": str(rec["requirement"]), "waited_s": str(rec.get("waited_s", "")),
            "message": " ".join(str(rec.get("message", "")).split())[:500]}  # fmt: skip


def verify(
    lab: Lab,
    checklists: list[str],
    selected: list[str],
    *,
    runs_dir: Path,
    selection: dict[str, list[str]] | None = None,
    timeout: int | None = None,
    requirement_timeout: int = DEFAULT_REQUIREMENT_TIMEOUT,
    cluster_wait: int = DEFAULT_CLUSTER_WAIT,
    on_event: Callable[[ProgressEvent], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    roles_path: list[Path] | None = None,
    project_roles: bool = True,
    verbosity: int = 0,
    write_reports: bool = True,
    role_vars: dict[str, Any] | None = None,
    parallel: bool = True,
) -> VerifyResult:
    run_id = new_run_id()
    run_dir = make_run_dir(runs_dir, run_id).resolve()
    t0 = time.monotonic()
    kubeconfig = lab_kubeconfig(lab)
    run = Run(
        run_id=run_id,
        checklists=list(checklists),
        lab=LabInfo(
            name=lab.name,
            inventory=str(lab.path),
            kind=lab.kind,
            simulated=lab.simulated,
            product=dict(lab.product),
        ),
        started=utc_now(),
        selection=selection or {"only": [], "skip": []},
        harness_version=__version__,
        state="partial",
        interruption={"reason": "error", "message": "the run has not finished (or was killed)"},
    )
    run.save(run_dir)  # a run killed outright still leaves a run.json saying so
    # A requirement declared N/A has nothing to prove; partial support is still exercised.
    to_run = [i for i in selected if not (i in lab.declared and lab.declared[i].status is Status.NA)]
    extravars: dict[str, Any] = {
        "harness_requirements": to_run,
        "harness_run_id": run_id,
        "harness_run_dir": str(run_dir),
        "harness_evidence_dir": str(run_dir / "evidence"),
        "harness_kubeconfig": str(kubeconfig) if kubeconfig else "",
        "harness_simulated": lab.simulated,
        "harness_requirement_timeout": int(requirement_timeout),
        "harness_cluster_wait": int(cluster_wait),
        "harness_verify_parallel": bool(parallel),
    }
    # Role variables (-e) never override the harness_* contract the roles rely on.
    extravars = {**{k: v for k, v in (role_vars or {}).items() if not k.startswith("harness_")}, **extravars}
    if roles_path or not project_roles:
        # verify_<id> roles are looked up in these directories, in order; the project's roles/ last.
        dirs = [p.resolve() for p in roles_path or []]
        if project_roles:
            dirs.append(PROJECT_ROOT / "roles")
        extravars["harness_roles_dirs"] = [str(d) for d in dirs]
    # Before anything else: remove what earlier runs against this cluster could not (harness.leftovers).
    marker: leftovers.Claim | None = None
    sweep: PlaybookOutcome | None = None
    earlier: list[leftovers.Pending] = []
    if kubeconfig is not None and kubeconfig.is_file():
        earlier = leftovers.pending(runs_dir, kubeconfig, exclude=run_id)
        marker = leftovers.claim(run_dir, run_id, kubeconfig)
    if earlier:
        sweep = run_playbook(
            "cleanup.yml", lab.path, run_dir,
            {"harness_run_ids": [p.run_id for p in earlier], "harness_kubeconfig": str(kubeconfig),
             "harness_cleanup_wait": SWEEP_WAIT},
            timeout=CLEANUP_TIMEOUT, on_event=on_event, cancel=cancel, ident="sweep",
        )  # fmt: skip
        if sweep.ok and leftovers.swept(sweep.artifact_data).clean:
            leftovers.settle(earlier)
    outcome = run_playbook(
        "verify.yml", lab.path, run_dir, extravars,
        timeout=timeout, on_event=on_event, cancel=cancel, ident="verify",
        roles_path=roles_path, verbosity=verbosity,
        # one host per requirement, all at once (the gate in verify.yml orders what competes)
        forks=min(max(len(to_run) + 1, 5), MAX_FORKS) if parallel else None,
    )  # fmt: skip
    run.requirements = build_requirements(
        selected, outcome.artifact_data, lab, outcome.interrupted_requirements
    )
    lost = lab_lost(outcome.artifact_data)
    errored = any(r.outcome is Outcome.ERROR for r in run.requirements.values())
    cleanup: PlaybookOutcome | None = None
    interrupted = outcome.status in ("canceled", "timeout") and not outcome.aborted
    broken = marker is not None and lost is None and outcome.status != "error" and (errored or not outcome.ok)
    if interrupted or broken:
        # Roles clean up after themselves; an interrupted or broken one may not have: sweep the run's
        # objects. (A cluster that stopped answering is left to the next run.)
        cleanup = run_playbook(
            "cleanup.yml", lab.path, run_dir,
            {"harness_run_id": run_id, "harness_kubeconfig": extravars["harness_kubeconfig"]},
            timeout=CLEANUP_TIMEOUT, on_event=on_event, ident="cleanup",
        )  # fmt: skip
    if marker is not None:
        left_nothing = outcome.ok and lost is None and not errored
        if cleanup is not None and cleanup.ok and leftovers.swept(cleanup.artifact_data).clean:
            left_nothing = True
        marker.release(clean=left_nothing)
    facts = outcome.artifact_data.get("harness_lab_facts") or {}
    run.lab.components = lab_components(lab)
    run.lab.kubernetes_version = str(facts.get("kubernetes_version") or "") or run.lab.components.get(
        "kube-apiserver", ""
    )
    if lost is not None:
        answered = bool(facts.get("kubernetes_version"))
        run.state, run.interruption = "partial", {"reason": "error", "message": (
            f"the cluster {'stopped answering' if answered else 'did not answer'} during {lost['requirement']} "
            f"(no answer for {lost['waited_s']} s: {lost['message']}); the requirements that had not finished were not run to the end; "
            f"the next harness verify here removes what this run left (or: ansible-playbook playbooks/cleanup.yml "
            f"-e harness_run_id={run_id} -e harness_kubeconfig=<path>)"
        )}  # fmt: skip
    elif outcome.ok:
        run.state, run.interruption = "complete", None
    else:
        reason = outcome.status if outcome.status in _INTERRUPTIONS else "error"
        msg = _INTERRUPTIONS[reason]
        if outcome.message:
            msg = f"{msg}: {outcome.message}"
        if outcome.aborted:
            msg += (f"; cleanup skipped: the next harness verify here removes what the run left (or: "
                    f"ansible-playbook playbooks/cleanup.yml -e harness_run_id={run_id} -e harness_kubeconfig=<path>)")  # fmt: skip
        elif outcome.events.failed_tasks and reason == "failed":
            msg = f"{msg}: {outcome.events.failed_tasks[-1]}"
        run.state, run.interruption = "partial", {"reason": reason, "message": msg}
    run.finished = utc_now()
    run.duration_s = round(time.monotonic() - t0, 2)
    run.save(run_dir)
    reports: list[Path] = []
    report_error = ""
    if write_reports:
        reports, report_error = write_reports_for(run, run_dir, run_dir / "report")
    return VerifyResult(run, run_dir, outcome, reports, report_error, cleanup, sweep, [p.run_id for p in earlier])


def write_reports_for(run: Run, run_dir: Path, out_dir: Path) -> tuple[list[Path], str]:
    """Every output of a run; a writer failure is reported, never fatal to the run record."""
    try:
        from harness.report import write_all
    except ImportError as e:
        return [], f"report writers unavailable ({e})"
    try:
        return list(write_all(run, run_dir, out_dir)), ""
    except Exception as e:  # noqa: BLE001 - run.json is kept; `harness report` can retry
        return [], f"writing reports failed: {type(e).__name__}: {e}"
