#!/usr/bin/env python3
"""Benchmark a full `harness verify` on a lab: wall time, the longest requirement, and what Ansible spent.

    .venv/bin/python bench/verify_bench.py                    # verify the default lab (must be up), then report
    .venv/bin/python bench/verify_bench.py --from runs/<id>   # report on a run that already happened
    .venv/bin/python bench/verify_bench.py --json

Prints, from one run: the run's wall time, the sum of the requirements' times, the longest requirement
and the ratio wall / longest (issue #10's goal for a parallel verify: at most 1.3), how many roles ran
at once (`--serial` among the verify arguments: one), then the task
results by action (count, total and mean seconds; ansible-runner's per-task durations) and the
slowest tasks. The mean of a module such as kubernetes.core.k8s_info is mostly Ansible's own cost of
shipping and starting it; an action that runs on the controller (harness.conformance.evidence on the
local connection) costs next to nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.gate_log import most_at_once, spans

REPO = Path(__file__).resolve().parents[1]
TASK_END = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")


def run_verify(args: list[str]) -> tuple[Path, float]:
    runs = Path(REPO / "runs")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "verify", "--json", *args], cwd=REPO,
                          capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.monotonic() - start
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    summary = lines[-1] if lines else {}
    if proc.returncode not in (0, 1) or "run_dir" not in summary:
        sys.exit(f"harness verify failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
    return runs / Path(summary["run_dir"]).name if not Path(summary["run_dir"]).is_absolute() else Path(summary["run_dir"]), wall


def report(run_dir: Path, wall: float | None) -> dict[str, Any]:
    run = json.loads((run_dir / "run.json").read_text())
    reqs = {k: v.get("duration_s") or 0.0 for k, v in run["requirements"].items()}
    longest = max(reqs, key=lambda k: reqs[k]) if reqs else ""
    by_action: dict[str, list[float]] = defaultdict(list)
    tasks: list[tuple[float, str]] = []
    for f in (run_dir / "ansible/artifacts/verify/job_events").glob("*.json"):
        ev = json.loads(f.read_text())
        if ev.get("event") not in TASK_END:
            continue
        data = ev.get("event_data") or {}
        took = float(data.get("duration") or 0.0)
        by_action[str(data.get("resolved_action") or data.get("task_action") or "?")].append(took)
        tasks.append((took, str(data.get("task", ""))))
    wall_s = wall if wall is not None else float(run.get("duration_s") or 0.0)
    return {
        "run_dir": str(run_dir),
        "wall_s": round(wall_s, 1),
        "requirements_sum_s": round(sum(reqs.values()), 1),
        "longest": {"requirement": longest, "s": reqs.get(longest, 0.0)},
        "wall_over_longest": round(wall_s / reqs[longest], 2) if longest and reqs[longest] else None,
        "most_at_once": most_at_once(spans(run_dir)),  # roles running at the same time (the verify gate's log)
        "actions": {a: {"count": len(t), "total_s": round(sum(t), 1), "mean_s": round(sum(t) / len(t), 3)}
                    for a, t in sorted(by_action.items(), key=lambda kv: -sum(kv[1]))},  # fmt: skip
        "slowest_tasks": [{"task": n, "s": round(t, 1)} for t, n in sorted(tasks, reverse=True)[:10]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="run_dir", type=Path, help="report on this run directory instead of running")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("verify_args", nargs="*", help="extra `harness verify` arguments (after --)")
    a = parser.parse_args()
    run_dir, wall = (a.run_dir, None) if a.run_dir else run_verify(a.verify_args)
    r = report(run_dir, wall)
    if a.json:
        print(json.dumps(r, indent=1))
        return
    print(f"run: {r['run_dir']}")
    print(f"verify wall time {r['wall_s']} s; requirements add up to {r['requirements_sum_s']} s")
    print(f"longest requirement {r['longest']['requirement']} {r['longest']['s']} s; wall / longest = {r['wall_over_longest']}")
    print(f"at most {r['most_at_once']} requirements ran at once (a requirement's time includes waiting for the CPU)")
    print(f"\n{'action':44} {'count':>6} {'total s':>8} {'mean s':>7}")
    for name, s in r["actions"].items():
        print(f"{name:44} {s['count']:>6} {s['total_s']:>8} {s['mean_s']:>7}")
    print("\nslowest tasks:")
    for t in r["slowest_tasks"]:
        print(f"  {t['s']:>6} s  {t['task']}")


if __name__ == "__main__":
    main()
