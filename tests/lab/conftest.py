"""Session fixtures of the lab tests: the simulated lab, brought up once, and a client for it.

- ``lab``: brings the lab up with ``ansible-playbook -i inventories/local-sim playbooks/up.yml``
  once per session, removes what runs of an earlier (killed) session left, and tears it down
  (``playbooks/down.yml``) at the end. With
  ``HARNESS_LAB_REUSE=1`` a lab that is already up is used as it is and left up.
  ``HARNESS_LAB_KEEP=1`` leaves a lab this session started up at the end.
  ``HARNESS_LAB_UP_ARGS`` adds ansible-playbook arguments to every up.yml run (e.g. ``--tags ...``).
- ``k8s``: a ``kubernetes.client.ApiClient`` on the lab's admin kubeconfig.

Tests marked ``lab_teardown`` run after every other test of the session.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from kubernetes import client, config

from harness.simlab.status import kubeconfig_path, lab_state_dir
from lab_fixtures import INVENTORY, SimLab, inventory_vars, lab_is_up, run_playbook, sweep_earlier_runs, tail, up_args


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lab_teardown: runs last; takes the lab down")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("lab_teardown") is not None)


@pytest.fixture(scope="session")
def lab() -> Iterator[SimLab]:
    values = inventory_vars()
    state = lab_state_dir(values)
    reuse = os.environ.get("HARNESS_LAB_REUSE") == "1"
    info = SimLab(state_dir=state, kubeconfig=kubeconfig_path(state), inventory=INVENTORY, vars=values,
                  started_here=False)
    if reuse and lab_is_up(state):
        info.notes.append("reused a running lab (HARNESS_LAB_REUSE=1)")
    else:
        start = time.monotonic()
        proc = run_playbook("up.yml", *up_args())
        info.up_seconds = time.monotonic() - start
        if proc.returncode != 0:
            pytest.fail(f"bringing the lab up failed (rc={proc.returncode}):\n{tail(proc)}", pytrace=False)
        info.started_here = True
    swept = sweep_earlier_runs(info.kubeconfig)
    if swept:
        info.notes.append(f"removed what earlier runs left: {', '.join(swept)}")
    yield info
    if info.started_here and not info.torn_down and os.environ.get("HARNESS_LAB_KEEP") != "1":
        run_playbook("down.yml")


@pytest.fixture(scope="session")
def k8s(lab: SimLab) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(lab.kubeconfig))  # type: ignore[no-untyped-call]
    yield api
    api.close()
