"""What the runner lets through to ansible and what it leaves on disk; the credentials it redacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import credentials, runner


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


# --- credentials the harness redacts from every file of a run (harness.credentials) --------------

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBzZWVkZWQtcHJpdmF0ZS1rZXktZm9yLXRoZS10ZXN0cy0xMjM0NTY3OA==\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
KEY_LINES = KEY.splitlines()[1:3]


@pytest.mark.parametrize("name", ["K8S_AUTH_API_KEY", "KUBE_TOKEN", "REGISTRY_PASSWORD", "SSH_PRIVATE_KEY",
                                  "registry_password", "k8s_auth_api_key", "ssh_private_key"])  # fmt: skip
def test_the_three_kinds_have_secret_names(name: str) -> None:
    assert runner.is_secret_name(name)


def inventory_with(tmp_path: Path, group_vars: str, kubeconfig: str = "") -> Path:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts: {}\n")
    (inv / "group_vars" / "all.yml").write_text(group_vars)
    if kubeconfig:
        (inv / "kubeconfig").write_text(kubeconfig)
    return inv


KUBECONFIG = "users:\n- name: u\n  user:\n    token: kc-token-a1b2c3d4\n    client-key-data: a2V5LWRhdGEtMTIzNDU2\n"


def test_collect_from_the_inventory(tmp_path: Path) -> None:
    key = "\n".join("  " + x for x in KEY.splitlines())
    inv = inventory_with(
        tmp_path,
        "harness_kubeconfig: kubeconfig\n"
        "k8s_auth_api_key: inv-token-5f6e7d\n"
        "registry_password: inv-password-9a8b\n"
        "registry: {user: robot, password: nested-pw-4c3d}\n"
        f"deploy_key_material: |\n{key}\n"  # not a secret name, but a private key
        "ansible_ssh_private_key_file: /home/me/.ssh/id_ed25519\n"  # a path, not a secret
        "api_token: short\n"  # too short to redact safely
        "vault_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162636465\n"
        "harness_lab_kind: existing\n",
        kubeconfig=KUBECONFIG,
    )
    found = credentials.collect(inv, {})
    assert found == {
        "inv-token-5f6e7d", "inv-password-9a8b", "nested-pw-4c3d", KEY,
        "kc-token-a1b2c3d4", "a2V5LWRhdGEtMTIzNDU2",
    }  # fmt: skip


def test_collect_from_the_environment(tmp_path: Path) -> None:
    kc = tmp_path / "kc"
    kc.write_text(KUBECONFIG)
    env = {"K8S_AUTH_API_KEY": "env-token-77aa", "REGISTRY_PASSWORD": "env-password-88bb",
           "SSH_PRIVATE_KEY": KEY, "KUBECONFIG": f"{kc}:{tmp_path / 'missing'}", "HOME": "/root",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    assert credentials.collect(None, env) == {
        "env-token-77aa", "env-password-88bb", KEY, "kc-token-a1b2c3d4", "a2V5LWRhdGEtMTIzNDU2",
    }  # fmt: skip


def test_a_broken_inventory_still_gives_the_environment(tmp_path: Path) -> None:
    inv = inventory_with(tmp_path, "registry_password: [unclosed\n")
    assert credentials.collect(inv, {"GITHUB_TOKEN": "ghp_0123456789"}) == {"ghp_0123456789"}


def test_a_key_is_matched_line_by_line() -> None:
    escaped = json.dumps({"msg": f"key={KEY}"})  # how a key lands in a job event
    out = credentials.redact(escaped, [KEY])
    assert not any(line in out for line in KEY_LINES)
    assert out.count("<redacted>") == 2 and "BEGIN OPENSSH PRIVATE KEY" in out  # headers are no secret


def test_json_escaped_password() -> None:
    pw = 'p"ss\\wörd-123'
    text = json.dumps({"a": pw}) + json.dumps({"b": pw}, ensure_ascii=False) + pw
    assert credentials.redact(text, [pw]).count("<redacted>") == 3


def test_redact_data_and_progress_events() -> None:
    data = {"harness_results": {"x": {"checks": [{"observed": "token=tok-123456789"}], "n": 3}}}
    assert credentials.redact_data(data, ["tok-123456789"]) == {
        "harness_results": {"x": {"checks": [{"observed": "token=<redacted>"}], "n": 3}}
    }
    seen: list[runner.ProgressEvent] = []
    emit = credentials.redacting(seen.append, ["tok-123456789"])
    emit(runner.ProgressEvent(kind="failed", task="login", detail="bad tok-123456789", elapsed_s=1.5))
    assert seen[0].detail == "bad <redacted>" and seen[0].elapsed_s == 1.5 and seen[0].task == "login"


def test_scrub_tree(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "events.json").write_text(json.dumps({"stdout": KEY + " pw-0123456789"}))
    (tmp_path / "clean.txt").write_text("nothing here\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("pw-0123456789")
    (tmp_path / "link").symlink_to(outside)  # a link is not followed out of the run
    changed = credentials.scrub_tree(tmp_path, [KEY, "pw-0123456789"])
    assert changed == [tmp_path / "a" / "b" / "events.json"]
    text = changed[0].read_text()
    assert "pw-0123456789" not in text and not any(x in text for x in KEY_LINES)
    assert outside.read_text() == "pw-0123456789"
