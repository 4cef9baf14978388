# Copyright: harness developers; Apache-2.0
"""Action for ``harness.conformance.verify_gate``: a verify role waits here until it may start.

It runs on the controller whatever the connection (the gate is a file there), inside the worker of
the host that waits, so a wait costs one task, not a retry loop.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.harness.conformance.plugins.module_utils.verify_schedule import (
    Gate,
    GateClosed,
    ScheduleError,
    normalise_uses,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "dir": {"type": "path", "required": True},
    "requirement": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["entered", "left", "closed", "holding", "released"], "default": "entered"},
    "uses": {"type": "dict", "default": {}},
    "reason": {"type": "str", "default": ""},
    "plan": {"type": "list", "elements": "dict", "default": []},
    "capacity": {"type": "dict", "default": {}},
    "timeout": {"type": "int", "default": 3600},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # the gate orders the run; it changes nothing in the lab

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        gate = Gate(args["dir"])
        req = args["requirement"]
        try:
            if args["state"] == "left":
                result.update(changed=gate.leave(req))
                return result
            if args["state"] == "closed":
                gate.close(args["reason"] or f"closed after {req}")
                result.update(changed=True)
                return result
            if args["state"] == "released":
                result.update(changed=gate.release(req))
                return result
            capacity = {str(k): int(v) for k, v in args["capacity"].items()}
            if args["state"] == "holding":
                uses = normalise_uses(args["uses"], "uses")
                if not uses:
                    raise AnsibleActionFail("state=holding needs uses: what the phase holds")
                waited, why = gate.hold(req, uses, capacity, timeout=args["timeout"])
                result.update(changed=True, stopped=False, waited_s=waited, waited_for=why)
                return result
            waited, why = gate.enter(req, args["plan"], capacity, timeout=args["timeout"])
        except GateClosed as e:
            # not a failure of this requirement: the run stopped before it could start
            result.update(changed=False, stopped=True, msg=f"{req} was not started: {e}")
            return result
        except ScheduleError as e:
            raise AnsibleActionFail(str(e)) from e
        except (OSError, ValueError, TypeError) as e:
            raise AnsibleActionFail(f"verify gate at {args['dir']}: {e}") from e
        result.update(changed=False, stopped=False, waited_s=waited, waited_for=why)
        return result
