#!/usr/bin/env python3
"""What one module task costs Ansible, against a running lab (issue #10: at most 0.1 s a task).

    .venv/bin/python bench/module_overhead.py              # the default lab's kubeconfig
    .venv/bin/python bench/module_overhead.py --tasks 40 --kubeconfig PATH

Runs one playbook of N identical tasks per kind, each reading the ``default`` Namespace, and one of a
single task; (time of N - time of 1) / (N - 1) is a task's cost without Ansible's start-up. Kinds:
ansible.builtin.set_fact (Ansible's own floor), kubernetes.core.k8s_info (shipped to a new Python each
call), harness.conformance.k8s_info (the same module code, run in the worker).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.simlab import status as simstatus  # noqa: E402
from harness.runner import build_envvars  # noqa: E402

KINDS = {
    "ansible.builtin.set_fact": lambda kc: {"harness_bench_x": 1},
    "kubernetes.core.k8s_info": lambda kc: {"kubeconfig": kc, "kind": "Namespace", "name": "default"},
    "harness.conformance.k8s_info": lambda kc: {"kubeconfig": kc, "kind": "Namespace", "name": "default"},
}


def _run(module: str, args: dict[str, object], count: int, work: Path) -> tuple[float, float]:
    tasks = [{"name": f"task {i}", module: args} for i in range(count)]
    pb = work / "bench.yml"
    pb.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                               "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks}]))  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(["ansible-playbook", "-i", "localhost,", str(pb)], env={**os.environ, **build_envvars()},
                   check=True, capture_output=True)  # fmt: skip
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=30, help="tasks per playbook (default 30)")
    parser.add_argument("--kubeconfig", type=Path, help="default: the default lab's")
    opts = parser.parse_args()
    kubeconfig = opts.kubeconfig or simstatus.kubeconfig_path(simstatus.lab_state_dir({}))
    if not Path(kubeconfig).is_file():
        print(f"no kubeconfig at {kubeconfig}: bring the lab up (harness up) or pass --kubeconfig", file=sys.stderr)
        return 2
    print(f"{'kind':32} {'s/task':>7} {'CPU-s/task':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for module, args in KINDS.items():
            one, one_cpu = _run(module, args(str(kubeconfig)), 1, Path(tmp))
            many, many_cpu = _run(module, args(str(kubeconfig)), opts.tasks, Path(tmp))
            n = opts.tasks - 1
            print(f"{module:32} {(many - one) / n:7.3f} {(many_cpu - one_cpu) / n:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
