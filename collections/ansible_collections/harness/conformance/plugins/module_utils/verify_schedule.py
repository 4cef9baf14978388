# Copyright: harness developers; Apache-2.0
"""When a verify role may start while others run: what each one holds, and a gate on the controller.

``harness verify`` runs every requirement's role at the same time, each as its own host of a
``strategy: free`` play. Roles touch a shared lab, so each declares what it holds while it runs
(``roles/verify_<id>/meta/verify.yml``)::

    verify_uses:
      accelerators: 3        # holds at most 3 accelerator units at once
      kueue: exclusive       # nothing else that uses Kueue may run meanwhile

A role that declares nothing holds ``{"*": "exclusive"}``: it runs alone. A requirement starts when

* it would not jump ahead of one before it in the plan that still waits for a resource they compete
  for (one of them wants it exclusively, or both would not fit in its capacity), so that the order
  among those that compete is the plan's and nobody starves, and
* for every resource it uses, no running holder has it exclusively, it does not want it exclusively
  while others hold it, and the units held stay within the resource's capacity (when known). A
  requirement that wants more than the capacity runs when nobody else holds the resource.

A running requirement may also hold something for one phase of its role only (``Gate.hold`` and
``Gate.release``: the probe pods of roles that read real devices hold ``accelerator_probes``). A phase
waits only for what those running hold; those waiting to start see it as held by the role.

The gate keeps its state in one JSON file, changed under an exclusive ``flock``: every host of the
play is a separate worker process on the controller.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

EXCLUSIVE = "exclusive"
EVERYTHING = "*"
ALONE: dict[str, Any] = {EVERYTHING: EXCLUSIVE}


class ScheduleError(Exception):
    """A declaration or a gate state that cannot be used."""


class GateClosed(Exception):
    """The run stopped (the cluster stopped answering): nobody else starts."""


def normalise_uses(uses: Any, where: str = "verify_uses") -> dict[str, int | str]:
    """``{resource: units | "exclusive"}`` from a role's declaration; raises ScheduleError naming the fault."""
    if uses is None:
        return {}
    if not isinstance(uses, Mapping):
        raise ScheduleError(f"{where} must be a mapping of resource to units or 'exclusive', not {type(uses).__name__}")
    out: dict[str, int | str] = {}
    for res, units in uses.items():
        if not isinstance(res, str) or not res:
            raise ScheduleError(f"{where}: resource names are non-empty strings ({res!r})")
        if units == EXCLUSIVE:
            out[res] = EXCLUSIVE
        elif isinstance(units, int) and not isinstance(units, bool) and units >= 0:
            out[res] = units
        else:
            raise ScheduleError(f"{where}.{res} must be a count of units (0 or more) or 'exclusive', not {units!r}")
    if EVERYTHING in out and out[EVERYTHING] != EXCLUSIVE:
        raise ScheduleError(f"{where}: '*' can only be held exclusively")
    return out


def _must_wait_for(
    earlier: Mapping[str, Any],
    uses: Mapping[str, Any],
    running: Mapping[str, Mapping[str, Any]],
    capacity: Mapping[str, int],
) -> bool:
    """Whether starting now would jump ahead of ``earlier``, which has not started: where either wants
    a resource exclusively, or where both would not fit in its capacity beside what is held."""
    if EVERYTHING in earlier or EVERYTHING in uses:
        return True
    for res in set(earlier) & set(uses):
        if earlier[res] == EXCLUSIVE or uses[res] == EXCLUSIVE:
            return True
        cap = capacity.get(res)
        if cap is not None:
            held = sum(int(h[res]) for h in running.values() if res in h and h[res] != EXCLUSIVE)
            if held + int(earlier[res]) + int(uses[res]) > cap:
                return True
    return False


def blocked_by(
    requirement: str,
    plan: list[dict[str, Any]],
    running: Mapping[str, Mapping[str, Any]],
    done: set[str] | frozenset[str],
    capacity: Mapping[str, int],
) -> str:
    """Why ``requirement`` may not start now ("" when it may). ``plan``: [{id, uses}] in plan order."""
    uses_of = {str(p["id"]): p.get("uses") or {} for p in plan}
    if requirement not in uses_of:
        raise ScheduleError(f"{requirement} is not in the plan")
    uses = uses_of[requirement]
    for p in plan:
        other = str(p["id"])
        if other == requirement:
            break
        if other not in done and other not in running and _must_wait_for(uses_of[other], uses, running, capacity):
            return f"{other} comes first"
    return conflict_with_running(requirement, uses, running, capacity)


def conflict_with_running(
    requirement: str,
    uses: Mapping[str, Any],
    running: Mapping[str, Mapping[str, Any]],
    capacity: Mapping[str, int],
) -> str:
    """Why ``requirement`` may not hold ``uses`` beside what the others running hold ("" when it may)."""
    for other, held in running.items():
        if other == requirement:
            continue
        if EVERYTHING in held or EVERYTHING in uses:
            return f"{other} is running" if EVERYTHING in uses else f"{other} runs alone"
    for res, units in uses.items():
        holders = {o: h[res] for o, h in running.items() if o != requirement and res in h}
        if not holders:
            continue
        if units == EXCLUSIVE:
            return f"{', '.join(sorted(holders))} hold{'s' if len(holders) == 1 else ''} {res}"
        excl = sorted(o for o, u in holders.items() if u == EXCLUSIVE)
        if excl:
            return f"{excl[0]} holds {res} exclusively"
        cap = capacity.get(res)
        held_units = sum(int(u) for u in holders.values())
        if cap is not None and held_units + int(units) > cap:
            return f"{res}: {held_units} of {cap} held, {units} more wanted"
    return ""


class Gate:
    """The gate's state in ``<dir>/gate.json``: who runs, who is done, and when each entered and left."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        self.path = os.path.join(directory, "gate.json")

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "gate.lock"), "a+", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    with open(self.path, encoding="utf-8") as f:
                        state = json.load(f)
                except FileNotFoundError:
                    state = {}
                except ValueError as e:
                    raise ScheduleError(f"{self.path} is not JSON ({e}); remove it and run again") from e
                state.setdefault("running", {})
                state.setdefault("done", [])
                state.setdefault("log", [])
                yield state
                tmp = self.path + ".tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump(state, f, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def try_enter(self, requirement: str, plan: list[dict[str, Any]], capacity: Mapping[str, int]) -> str:
        """Enter when allowed (returns ""), else say why not; entering twice is a no-op.

        Raises GateClosed once the gate was closed."""
        with self._locked() as state:
            if state.get("closed"):
                raise GateClosed(str(state["closed"]))
            if requirement in state["running"]:
                return ""
            state["capacity"] = dict(capacity)  # what the plan counted, for whoever reads the log
            why = blocked_by(requirement, plan, state["running"], set(state["done"]), capacity)
            if not why:
                uses = next((p.get("uses") or {}) for p in plan if p["id"] == requirement)
                state["running"][requirement] = uses
                state["log"].append({"requirement": requirement, "event": "enter", "t": round(time.time(), 3)})
            return why

    def try_hold(self, requirement: str, uses: Mapping[str, Any], capacity: Mapping[str, int]) -> str:
        """While running, take ``uses`` too, for one phase of the role (its probe pods): "" when taken, else
        why not. Only those running count: a phase is short, and who waits to start waits for the role.

        Raises ScheduleError when ``requirement`` is not running, or already holds one of ``uses``."""
        with self._locked() as state:
            held = state["running"].get(requirement)
            if held is None:
                raise ScheduleError(f"{requirement} is not running: it cannot hold {', '.join(sorted(uses))}")
            if set(uses) & set(held):
                raise ScheduleError(f"{requirement} already holds {', '.join(sorted(set(uses) & set(held)))}")
            why = conflict_with_running(requirement, uses, state["running"], capacity)
            if not why:
                held.update(uses)
                state.setdefault("phases", {})[requirement] = sorted(uses)
                state["log"].append({"requirement": requirement, "event": "hold", "t": round(time.time(), 3),
                                     "uses": dict(uses)})  # fmt: skip
            return why

    def release(self, requirement: str) -> bool:
        """Give back what ``requirement`` took for a phase (try_hold); False when it held nothing."""
        with self._locked() as state:
            taken = state.setdefault("phases", {}).pop(requirement, [])
            held = state["running"].get(requirement) or {}
            for res in taken:
                held.pop(res, None)
            if taken:
                state["log"].append({"requirement": requirement, "event": "release", "t": round(time.time(), 3)})
            return bool(taken)

    def leave(self, requirement: str) -> bool:
        """Mark ``requirement`` done; False when it was not running (left already, or never entered)."""
        with self._locked() as state:
            was = state["running"].pop(requirement, None) is not None
            state.setdefault("phases", {}).pop(requirement, None)  # a role that failed mid-phase lets go too
            if requirement not in state["done"]:
                state["done"].append(requirement)
            state["log"].append({"requirement": requirement, "event": "leave", "t": round(time.time(), 3)})
            return was

    def close(self, reason: str) -> None:
        """Let nobody in any more (those waiting are told so); who runs goes on."""
        with self._locked() as state:
            state["closed"] = reason or "closed"
            state["log"].append({"requirement": "", "event": "close", "t": round(time.time(), 3)})

    def hold(
        self,
        requirement: str,
        uses: Mapping[str, Any],
        capacity: Mapping[str, int],
        timeout: float,
        sleep: float = 0.2,
        max_sleep: float = 1.0,
    ) -> tuple[float, str]:
        """Wait (polling with backoff) until ``requirement`` may hold ``uses`` for a phase; as enter()."""
        return _poll(lambda: self.try_hold(requirement, uses, capacity), f"{requirement} could not hold "
                     f"{', '.join(sorted(uses))}", timeout, sleep, max_sleep)  # fmt: skip

    def enter(
        self,
        requirement: str,
        plan: list[dict[str, Any]],
        capacity: Mapping[str, int],
        timeout: float,
        sleep: float = 0.2,
        max_sleep: float = 1.0,
    ) -> tuple[float, str]:
        """Wait (polling with backoff) until ``requirement`` may start; returns (seconds waited, last reason).

        Raises ScheduleError when it still may not start after ``timeout`` seconds, GateClosed when
        the gate closes meanwhile.
        """
        return _poll(lambda: self.try_enter(requirement, plan, capacity), f"{requirement} could not start",
                     timeout, sleep, max_sleep)  # fmt: skip


def _poll(attempt: Callable[[], str], what: str, timeout: float, sleep: float, max_sleep: float) -> tuple[float, str]:
    """Call ``attempt`` until it returns "" (with backoff); (seconds waited, first reason it gave)."""
    start = time.monotonic()
    first_reason = ""
    while True:
        why = attempt()
        if not why:
            return round(time.monotonic() - start, 2), first_reason
        first_reason = first_reason or why
        if time.monotonic() - start >= timeout:
            raise ScheduleError(f"{what} within {timeout:.0f} s: {why}")
        time.sleep(sleep)
        sleep = min(sleep * 1.5, max_sleep)
