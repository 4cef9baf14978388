"""Seeded secrets reach no file of a run, of its bundle, or of what the harness prints.

A kubeconfig token, a registry password and a private key are put in the inventory (group_vars,
and a kubeconfig the inventory names) and in the environment (secret-named variables, and a
kubeconfig named by KUBECONFIG); a token is also given on the command line with -e. A careless verify role (tests/integration/leaky_roles) prints,
saves, reports and fails with every one it can reach; the run goes through ansible-runner
without a cluster.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.bundle import verify_bundle

pytestmark = pytest.mark.integration

ROLES = Path(__file__).resolve().parent / "roles"
LEAKY = Path(__file__).resolve().parent / "leaky_roles"


def pem(tag: str) -> str:
    body = [(tag * 64)[i * 7 : i * 7 + 64] for i in range(3)]
    return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END OPENSSH PRIVATE KEY-----\n"


INVENTORY = {
    "token": "inv-k8s-token-3f9c2a71e0",
    "password": "inv-registry-pw-7d41b0",
    "nested_password": "inv-nested-pw-c83e19",
    "kubeconfig_token": "inv-kubeconfig-token-51aa7e",
    "key": pem("InvKeyQ7xZ2pL9"),
}
ENVIRONMENT = {
    "token": "env-k8s-token-0b6e4d93aa",
    "password": "env-registry-pw-e2f785",
    "kubeconfig_token": "env-kubeconfig-token-9c02d4",
    "key": pem("EnvKeyM3vT8wR1"),
}

CLI_TOKEN = "cli-registry-token-2e7f90"  # given with -e: it lands in the command artifact's argv


def kubeconfig(token: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        f"users: [{{name: u, user: {{token: {token}}}}}]\n"
    )


def needles(secrets: dict[str, str]) -> list[str]:
    """Each secret, and each line of a private key's body (a key leaks line by line)."""
    out = []
    for value in secrets.values():
        lines = [x for x in value.splitlines() if x and not x.startswith("-----")]
        out += lines if len(lines) > 1 else [value]
    return out


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts: {}\n")
    (inv / "kubeconfig").write_text(kubeconfig(INVENTORY["kubeconfig_token"]))
    key = "\n".join("    " + line for line in INVENTORY["key"].splitlines())
    (inv / "group_vars" / "all.yml").write_text(
        "harness_lab_kind: existing\n"
        "harness_simulated: true\n"
        "harness_kubeconfig: kubeconfig\n"
        "harness_product:\n  vendorName: Test Vendor\n  platformName: Test Platform\n"
        f"k8s_auth_api_key: {INVENTORY['token']}\n"
        f"registry_password: {INVENTORY['password']}\n"
        f"registry:\n  user: bot\n  password: {INVENTORY['nested_password']}\n"
        f"ssh_private_key: |\n{key}\n"
    )
    return inv


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kc = tmp_path / "env-kubeconfig"
    kc.write_text(kubeconfig(ENVIRONMENT["kubeconfig_token"]))
    monkeypatch.setenv("KUBECONFIG", str(kc))
    monkeypatch.setenv("K8S_AUTH_API_KEY", ENVIRONMENT["token"])
    monkeypatch.setenv("REGISTRY_PASSWORD", ENVIRONMENT["password"])
    monkeypatch.setenv("SSH_PRIVATE_KEY", ENVIRONMENT["key"])
    monkeypatch.delenv("HARNESS_PASS_ENV", raising=False)


def files_holding(root: Path, found: list[str]) -> list[str]:
    hits = []
    for f in sorted(root.rglob("*")):
        if f.is_file() and not f.is_symlink():
            data = f.read_bytes()
            hits += [f"{f.relative_to(root)}: {n[:12]}…" for n in found if n.encode() in data]
    return hits


def test_no_seeded_secret_in_any_file_or_output(
    inventory: Path, environment: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    code = main([
        "verify", "-i", str(inventory), "--run-dir", str(runs), "--roles-path", str(LEAKY),
        "--roles-path", str(ROLES), "--no-project-roles", "--checklist", "v1.35",
        "--only", "robust_controller,dra_support", "--requirement-timeout", "60", "--json", "-vvv",
        "-e", f"verify_robust_controller_registry_token={CLI_TOKEN}",
    ])  # fmt: skip
    out, err = capsys.readouterr()
    summary = json.loads(out.splitlines()[-1])
    assert summary["type"] == "summary" and code == summary["exit_code"], err
    run_dir = Path(summary["run_dir"])
    seeds = needles(INVENTORY) + needles(ENVIRONMENT) + [CLI_TOKEN]

    # The leaky role did run and did try: its check and evidence are there, redacted.
    run = json.loads((run_dir / "run.json").read_text())
    observed = run["requirements"]["robust_controller"]["checks"][0]["observed"]
    assert "token=<redacted>" in observed and "password=<redacted>" in observed
    assert (run_dir / "logs" / "verify.log").read_text().count("<redacted>") > 3

    # Nothing seeded in the run (ansible artifacts, logs, evidence, run.json, the bundle), in the
    # history next to it, or in what the harness printed.
    assert files_holding(tmp_path / "runs", seeds) == []
    assert [s[:12] for s in seeds if s in out or s in err] == []
    report = run_dir / "report" / "v1.35"
    assert verify_bundle(report) == []  # redacted before the bundle was written and summed
    assert (report / "evidence" / "robust_controller" / "observed.txt").is_file()
