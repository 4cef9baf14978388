# Copyright: harness developers; Apache-2.0
"""Run a kubernetes.core module inside the Ansible worker instead of in a fresh Python.

On a ``local`` connection Ansible packs each module into an AnsiballZ zip and starts a new
interpreter for it, which then imports the Kubernetes client: about 0.4 CPU-seconds a call, most of
a verify run's CPU. The worker that runs the task is a fork of the controller, which has already
imported the client (the action plugins that call this import it when the strategy loads them), so
here the same module code runs in that fork with the same arguments, the same JSON protocol on stdout
and the same result parsing as ``ActionBase._execute_module``; the fork ends with the task.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from ansible.module_utils import basic
from ansible.module_utils._internal._ansiballz import _loader
from ansible.module_utils.common import warnings
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.plugins.action import ActionBase
from ansible.vars.clean import remove_internal_keys
from ansible_collections.kubernetes.core.plugins.action.k8s import ActionModule as _UpstreamAction

# Imported here, so in the controller before the worker forks: the client and the module code.
from ansible_collections.kubernetes.core.plugins.modules import k8s, k8s_cluster_info, k8s_info, k8s_log  # noqa: F401

_PROFILE = "legacy"
_REMOVE_VALUES = basic.remove_values


def _remove_values(value: Any, no_log_strings: Any) -> Any:
    """``remove_values`` as ``exit_json`` calls it, except that with no value to hide it returns the result
    as it is instead of copying it: a 500-node lab's node list took a second of the task that way. The
    result is plain data the Kubernetes client decoded from JSON, so the copy changed nothing."""
    return _REMOVE_VALUES(value, no_log_strings) if no_log_strings else value


def runs_here(action: ActionBase, task_vars: dict[str, Any]) -> bool:
    """Whether the task can run in the worker: a local connection whose interpreter is the controller's
    own Python, no become, no async, no extra environment."""
    task = action._task
    if getattr(action._connection, "transport", "") != "local" or action._play_context.become:
        return False
    if task.async_val or any(task.environment or []):
        return False
    interpreter = task_vars.get("ansible_python_interpreter")
    return interpreter is not None and str(action._templar.template(interpreter)) == sys.executable


def load(module_fqcn: str) -> ModuleType:
    """The Python module of a collection's module, ``kubernetes.core.k8s_info`` for instance."""
    namespace, collection, name = module_fqcn.split(".")
    return importlib.import_module(f"ansible_collections.{namespace}.{collection}.plugins.modules.{name}")


@contextlib.contextmanager
def _module_globals(payload: bytes) -> Iterator[None]:
    """The module-side globals a fresh interpreter would start with; a loop runs several modules in one worker."""
    saved = dict(warnings._global_warnings), dict(warnings._global_deprecations)
    warnings._global_warnings.clear()
    warnings._global_deprecations.clear()
    basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS = payload, _PROFILE, None
    basic.remove_values = _remove_values
    try:
        yield
    finally:
        basic.remove_values = _REMOVE_VALUES
        basic._ANSIBLE_ARGS = basic._ANSIBLE_PROFILE = basic._PARSED_MODULE_ARGS = None
        warnings._global_warnings.clear()
        warnings._global_deprecations.clear()
        warnings._global_warnings.update(saved[0])
        warnings._global_deprecations.update(saved[1])


def _run_main(module: ModuleType) -> None:
    """``main()`` as the AnsiballZ wrapper runs it: a module that raises reports the error as its result."""
    try:
        module.main()
        raise RuntimeError("New-style module did not handle its own exit.")
    except Exception as e:  # not SystemExit: modules end with it
        _loader._handle_exception(e, _PROFILE)


def execute(action: ActionBase, module_fqcn: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
    """Run ``module_fqcn``'s ``main()`` here and return its result as ``_execute_module`` would."""
    args = dict(module_args)
    action._update_module_args(module_fqcn, args, task_vars)
    encoder = get_module_encoder(_PROFILE, Direction.CONTROLLER_TO_MODULE)
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args}, cls=encoder).encode()
    module = load(module_fqcn)
    out = io.StringIO()
    rc = 0
    with _module_globals(payload), contextlib.redirect_stdout(out):
        try:
            _run_main(module)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
    data = action._parse_returned_data({"rc": rc, "stdout": out.getvalue(), "stderr": ""}, _PROFILE)
    remove_internal_keys(data)
    for stream in ("stdout", "stderr"):  # as _execute_module splits them
        if stream in data and f"{stream}_lines" not in data:
            data[f"{stream}_lines"] = (data[stream] or "").splitlines()
    return data


class WorkerAction(_UpstreamAction):  # type: ignore[misc]
    """kubernetes.core's action (templates, ``src`` and kubeconfig files), then the module in the worker.

    A subclass names the module in ``UPSTREAM``; any connection other than a plain local one ships the
    module as usual.
    """

    UPSTREAM = ""

    def _execute_module(self, module_name: str | None = None, module_args: dict[str, Any] | None = None,
                        task_vars: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:  # fmt: skip
        if runs_here(self, task_vars or {}):
            return execute(self, self.UPSTREAM, module_args if module_args is not None else self._task.args,
                           task_vars or {})  # fmt: skip
        return super()._execute_module(module_name=self.UPSTREAM, module_args=module_args, task_vars=task_vars, **kwargs)
