# Copyright: harness developers; Apache-2.0
"""Action for ``harness.conformance.evidence``: on a local connection it writes on the controller.

The verify plays run on localhost with ``connection: local``, where shipping the module to run in a
fresh Python costs about 0.4 s a call for a file write; a role writes evidence dozens of times. On
any other connection the module runs on the target as usual.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.harness.conformance.plugins.module_utils.evidence_files import (
    ARGUMENT_SPEC,
    REQUIRED_BY,
    EvidenceError,
    perform,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        if getattr(self._connection, "transport", "") != "local":
            result.update(self._execute_module(
                module_name="harness.conformance.evidence", module_args=self._task.args, task_vars=task_vars))  # fmt: skip
            return result
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_by=REQUIRED_BY)
        try:
            result.update(perform(args, write=not self._task.check_mode))
        except EvidenceError as e:
            raise AnsibleActionFail(str(e)) from e
        except OSError as e:
            raise AnsibleActionFail(f"could not write evidence: {e}") from e
        return result
