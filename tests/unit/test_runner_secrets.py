"""What the runner lets through to ansible and what it leaves on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import runner


@pytest.mark.parametrize(
    "name",
    ["HARNESS_TEST_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "DB_PASSWORD",
     "VAULT_PASSPHRASE", "AZURE_CLIENT_SECRET", "OPENAI_API_KEY", "SSH_PRIVATE_KEY", "KEY",
     "GOOGLE_APPLICATION_CREDENTIALS", "HTTP_AUTHORIZATION", "AWS_SESSION_TOKEN"],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert runner.is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "KUBECONFIG", "ANSIBLE_HOST_KEY_CHECKING", "SSH_AUTH_SOCK", "LANG"])
def test_ordinary_names(name: str) -> None:
    assert not runner.is_secret_name(name)


def test_controlled_env_withholds_secret_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_PASS_ENV", raising=False)
    env = {"PATH": "/bin", "HARNESS_TEST_TOKEN": "t", "AWS_SECRET_ACCESS_KEY": "k", "HOME": "/root"}
    kept, withheld = runner._controlled_env(env)
    assert kept == {"PATH": "/bin", "HOME": "/root"}
    assert withheld == ["AWS_SECRET_ACCESS_KEY", "HARNESS_TEST_TOKEN"]


def test_pass_env_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_PASS_ENV", "AWS_SECRET_ACCESS_KEY, OTHER")
    kept, withheld = runner._controlled_env({"AWS_SECRET_ACCESS_KEY": "k", "GITHUB_TOKEN": "g"})
    assert kept == {"AWS_SECRET_ACCESS_KEY": "k"} and withheld == ["GITHUB_TOKEN"]


def test_scrub_command_artifact(tmp_path: Path) -> None:
    doc = {
        "command": ["ansible-playbook", "-e", '{"harness_kubeconfig": "/x/kubeconfig"}', "verify.yml"],
        "cwd": "/work",
        "env": {"PATH": "/bin", "ANSIBLE_CONFIG": "/work/ansible.cfg", "MY_DB_URL": "postgres://u:pw@db",
                "GITHUB_TOKEN": "ghp_x", "ANSIBLE_VAULT_PASSWORD": "v"},
    }  # fmt: skip
    (tmp_path / "command").write_text(json.dumps(doc))
    runner.scrub_command_artifact(tmp_path)
    text = (tmp_path / "command").read_text()
    got = json.loads(text)
    assert got["command"] == doc["command"] and got["cwd"] == "/work"
    assert got["env"]["PATH"] == "/bin" and got["env"]["ANSIBLE_CONFIG"] == "/work/ansible.cfg"
    for k in ("MY_DB_URL", "GITHUB_TOKEN", "ANSIBLE_VAULT_PASSWORD"):
        assert got["env"][k] == runner.REDACTED
    assert "pw@db" not in text and "ghp_x" not in text
    assert (tmp_path / "command").stat().st_mode & 0o077 == 0


def test_scrub_removes_unreadable_command(tmp_path: Path) -> None:
    (tmp_path / "command").write_text("{half written")
    runner.scrub_command_artifact(tmp_path)
    assert not (tmp_path / "command").exists()


def test_envvars_point_at_project(tmp_path: Path) -> None:
    env = runner.build_envvars([tmp_path])
    assert env["ANSIBLE_CONFIG"] == str(runner.PROJECT_ROOT / "ansible.cfg")
    assert env["ANSIBLE_ROLES_PATH"].split(":")[0] == str(tmp_path.resolve())
    assert env["PATH"].split(":")[0].endswith("bin")
    assert not any(runner.is_secret_name(k) for k in env)
