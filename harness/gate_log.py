"""The verify gate's log: when each role of a run started and ended, and how many ran at once.

``playbooks/verify.yml`` keeps it in ``<run dir>/ansible/gate/gate.json`` (written by the
``harness.conformance.verify_gate`` action); bench/verify_bench.py and the tests read it here.
"""

from __future__ import annotations

import json
from pathlib import Path

GATE_FILE = Path("ansible") / "gate" / "gate.json"


def spans(run_dir: Path) -> dict[str, tuple[float, float]]:
    """``{requirement: (entered, left)}`` (epoch seconds) of every role the gate let in; one that never
    left (the run was cut short) ends at the log's last entry. Empty when the run has no gate log."""
    path = run_dir / GATE_FILE
    if not path.is_file():
        return {}
    log = json.loads(path.read_text("utf-8")).get("log", [])
    last = max((float(e["t"]) for e in log), default=0.0)
    entered = {e["requirement"]: float(e["t"]) for e in log if e["event"] == "enter"}
    left = {e["requirement"]: float(e["t"]) for e in log if e["event"] == "leave"}
    return {r: (t, left.get(r, last)) for r, t in entered.items()}


def most_at_once(by_requirement: dict[str, tuple[float, float]]) -> int:
    """The most roles that ran at the same time (one that ends as another starts does not overlap it)."""
    edges = sorted([(a, 1) for a, _ in by_requirement.values()] + [(b, -1) for _, b in by_requirement.values()])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most
