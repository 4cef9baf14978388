#!/usr/bin/env python3
"""Benchmark the simulated lab: build times, warm `up`, no-op `up`, `down`, idle RSS.

    .venv/bin/python bench/lab_bench.py                 # warm figures; leaves the lab up
    .venv/bin/python bench/lab_bench.py --json          # the same as JSON
    .venv/bin/python bench/lab_bench.py --cold          # also time cold builds into an empty cache (slow!)
    .venv/bin/python bench/lab_bench.py --build-log /tmp/build-k8s.log --leave-down
    .venv/bin/python bench/lab_bench.py --gpu-nodes 500 --verify   # a 500-node, 4,000-GPU lab, verified

Without --cold, cold build times are read from build logs (the "[build X] built in Ns" lines
lab/build/build.sh prints). The warm cycle is: down (if up), timed up, timed second up (the
warm up of an unchanged lab; it must change nothing), with --verify a full parallel `harness verify` (bench/verify_bench.py's figures),
idle RSS after --idle seconds, timed down, and a final up of the default lab unless --leave-down.
--gpu-nodes N sizes the lab (8 GPUs a node) for every up but the final one; with --verify the
default lab is verified after the final up too, and the ratio of the two verify times printed.
Targets (docs/sim-lab.md): warm up of the unchanged default lab <= 60 s, down <= 10 s; issue #10: a 500-node verify <= 1.2x the
2-node one.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.simlab.status import lab_state_dir, read_components  # noqa: E402

INVENTORY = REPO / "inventories" / "local-sim"
BUILT = re.compile(r"\[build ([\w-]+)\] built in (\d+)s")


def playbook(name: str, extra: list[str] | None = None) -> tuple[float, int, str]:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "ANSIBLE_NOCOLOR": "1"}
    start = time.monotonic()
    proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", str(INVENTORY), f"playbooks/{name}", *(extra or [])],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{name} failed (rc={proc.returncode}):\n" + "\n".join(proc.stdout.splitlines()[-40:]))
    match = re.search(r"^localhost\s*:.*changed=(\d+)", proc.stdout, re.MULTILINE)
    return took, int(match.group(1)) if match else -1, proc.stdout


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def build_times_from_logs(patterns: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for pattern in patterns:
        for path in glob.glob(pattern):
            for comp, secs in BUILT.findall(Path(path).read_text(errors="replace")):
                found[comp] = max(found.get(comp, 0), int(secs))
    return found


def cold_builds(components: list[str]) -> dict[str, float]:
    """Each component into its own empty cache (modules and build cache included)."""
    times: dict[str, float] = {}
    for comp in components:
        with tempfile.TemporaryDirectory(prefix=f"harness-cold-{comp}-") as cache:
            start = time.monotonic()
            subprocess.run([str(REPO / "lab/build/build.sh"), comp], env={**os.environ, "HARNESS_CACHE": cache},
                           check=True, capture_output=True)
            times[comp] = round(time.monotonic() - start, 1)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="time cold builds into an empty cache (slow)")
    parser.add_argument("--components", default="etcd,kwok,kubernetes", help="components for --cold")
    parser.add_argument("--build-log", action="append", default=[], help="build log glob(s) to read times from")
    parser.add_argument("--idle", type=float, default=15, help="seconds to let the lab settle before RSS")
    parser.add_argument("--leave-down", action="store_true", help="do not bring the lab back up at the end")
    parser.add_argument("--up-args", default="", help='extra ansible-playbook arguments for up.yml, e.g. '
                        '"--tags sim_build,sim_control_plane,sim_gpu_nodes,sim_dra" for the core lab only')
    parser.add_argument("--gpu-nodes", type=int, default=0, help="simulated GPU nodes (default: the inventory's, 2)")
    parser.add_argument("--verify", action="store_true", help="also time a full harness verify of the lab")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    figures: dict[str, Any] = {}
    logs = args.build_log or ["/tmp/build-*.log"]
    figures["cold_build_s_from_logs"] = build_times_from_logs(logs)
    if args.cold:
        figures["cold_build_s"] = cold_builds(args.components.split(","))

    state = lab_state_dir({"sim_lab_state_dir": os.environ.get("HARNESS_SIM_STATE_DIR", "")})
    if (state / "components").is_dir():
        figures["down_before_s"] = round(playbook("down.yml")[0], 1)
    up_extra = shlex.split(args.up_args)
    if args.gpu_nodes:
        up_extra += ["-e", f"sim_lab_gpu_node_count={args.gpu_nodes}"]
    figures["gpu_nodes"] = args.gpu_nodes or 2
    figures["up_args"] = args.up_args
    figures["up_s"], _, _ = playbook("up.yml", up_extra)
    figures["up_again_s"], figures["up_again_changed"], _ = playbook("up.yml", up_extra)
    if args.verify:
        sys.path.insert(0, str(REPO / "bench"))
        from verify_bench import report, run_verify

        r = report(*run_verify([]))
        figures["verify"] = {k: r[k] for k in ("wall_s", "longest", "wall_over_longest", "most_at_once")}
        figures["verify_rss_mib"] = round(sum(rss_kib(c.pid) for c in read_components(state, check_health=False)
                                              if c.alive) / 1024, 1)  # fmt: skip
    time.sleep(args.idle)
    comps = read_components(state, check_health=False)
    figures["idle_rss_mib"] = {c.name: round(rss_kib(c.pid) / 1024, 1) for c in comps if c.alive}
    figures["idle_rss_total_mib"] = round(sum(figures["idle_rss_mib"].values()), 1)
    figures["down_s"], _, _ = playbook("down.yml")
    if not args.leave_down:
        figures["final_up_s"], _, _ = playbook("up.yml")  # the whole lab, whatever --up-args said
        if args.verify and args.gpu_nodes:
            # the default lab's verify in the same run, for issue #10's scale ratio
            r = report(*run_verify([]))
            figures["verify_default_lab"] = {k: r[k] for k in ("wall_s", "longest", "wall_over_longest")}
            figures["verify_scale_ratio"] = round(figures["verify"]["wall_s"] / r["wall_s"], 2)
    for key in ("up_s", "up_again_s", "down_s", "final_up_s"):
        if key in figures:
            figures[key] = round(figures[key], 1)

    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"cold builds (from logs {', '.join(logs)}): {figures['cold_build_s_from_logs'] or 'none found'}")
    if "cold_build_s" in figures:
        print(f"cold builds (timed now): {figures['cold_build_s']}")
    print(f"lab: {figures['gpu_nodes']} GPU nodes")
    print(f"up from down{' (' + args.up_args + ')' if args.up_args else ''}: {figures['up_s']} s")
    # issue #10's warm up: `harness up` of a lab that is up and unchanged (the default lab: <= 60 s)
    print(f"warm up of the unchanged lab: {figures['up_again_s']} s, changed={figures['up_again_changed']} "
          f"(must be 0; target <= 60 s for the default lab)")
    if "verify" in figures:
        v = figures["verify"]
        print(f"verify: {v['wall_s']} s, longest {v['longest']['requirement']} {v['longest']['s']} s "
              f"(ratio {v['wall_over_longest']}, at most {v['most_at_once']} at once); lab RSS after it "
              f"{figures['verify_rss_mib']} MiB")
    print(f"down: {figures['down_s']} s (target <= 10)")
    print(f"idle RSS: {figures['idle_rss_total_mib']} MiB total")
    for name, mib in sorted(figures["idle_rss_mib"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<28} {mib:>8} MiB")
    if "final_up_s" in figures:
        print(f"lab left up (final up {figures['final_up_s']} s)")
    if "verify_scale_ratio" in figures:
        d = figures["verify_default_lab"]
        print(f"default lab verify after it: {d['wall_s']} s, longest {d['longest']['requirement']} {d['longest']['s']} s; "
              f"{figures['gpu_nodes']}-node / default verify = {figures['verify_scale_ratio']} (issue #10: at most 1.2)")


if __name__ == "__main__":
    main()
