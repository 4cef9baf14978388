"""Fixtures of the integration tests."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fake_inventory import write_inventory


@pytest.fixture
def dead_cluster_inventory(tmp_path: Path) -> Path:
    """An inventory whose kubeconfig names a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])  # nothing listens there once the socket is closed
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        f"clusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:{port}\n"
        "    insecure-skip-tls-verify: true\n"
        "contexts:\n- name: dead\n  context:\n    cluster: dead\n    user: dead\n"
        "users:\n- name: dead\n  user:\n    username: nobody\n"
    )
    return write_inventory(tmp_path, kubeconfig)
