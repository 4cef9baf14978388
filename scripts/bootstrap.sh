#!/usr/bin/env bash
# Set up everything harness and its simulated lab need on a fresh Debian machine:
# system packages, the Python virtualenv (.venv) with harness installed, and the lab's
# Go-built binaries (cached in $HARNESS_CACHE, default ~/.cache/harness, keyed by version).
#
#   scripts/bootstrap.sh            everything (the core lab, plus Kueue/KubeRay/adapter)
#   HARNESS_LAB_EXTRAS=0 scripts/bootstrap.sh   core lab only (control plane, etcd, kwok, real node)
#   HARNESS_REAL_NODE=0 scripts/bootstrap.sh    without the real node (kubelet, containerd, runc, gVisor)
#   HARNESS_SKIP_LAB_BUILD=1 scripts/bootstrap.sh   Python side only (unit tests, real clusters)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }
t0=$(date +%s)

# System packages: Prometheus for the lab's metrics, iproute2 for its network namespace; for the
# real node: CNI plugins, libseccomp (runc is built with seccomp) and a static libc (the pause image).
need_apt=()
command -v prometheus >/dev/null || [[ -x /usr/bin/prometheus ]] || need_apt+=(prometheus)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v openssl >/dev/null || need_apt+=(openssl)
# Chromium: the test that opens `harness history --html` in a real headless browser.
command -v chromium >/dev/null || need_apt+=(chromium)
real_node=${HARNESS_REAL_NODE:-1}
if [[ $real_node == 1 ]]; then
  [[ -x /usr/lib/cni/bridge ]] || need_apt+=(containernetworking-plugins)
  [[ -e /usr/include/seccomp.h ]] || need_apt+=(libseccomp-dev)
  command -v pkg-config >/dev/null || need_apt+=(pkg-config)  # cgo finds libseccomp through it
  # The probe script's unit tests run it under busybox sh, as the probe image does.
  command -v busybox >/dev/null || need_apt+=(busybox-static)
  command -v gcc >/dev/null || need_apt+=(gcc)
  [[ -e /usr/lib/x86_64-linux-gnu/libc.a ]] || need_apt+=(libc6-dev)
fi
if ((${#need_apt[@]})); then
  say "apt: installing ${need_apt[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The Debian package enables a system Prometheus on :9090; the lab runs its own.
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

py=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  say "python: creating .venv with $($py --version)"
  $py -m venv .venv
fi
say "python: installing harness (editable) with dev and lab extras"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,lab]'

# Two build lanes at once: Go builds spend much of their time downloading modules and linking on
# one core, so a second lane keeps both cores busy. The Kubernetes builds share one lane (kubelet
# reuses the control plane's compiled packages); everything else takes the other.
build_lane() {  # build_lane required|optional COMPONENT...
  local need=$1 c; shift
  for c in "$@"; do
    say "lab: $c ($(elapsed) so far)"
    if ! lab/build/build.sh "$c" >/dev/null; then
      [[ $need == required ]] && { echo "error: building $c failed (rerun lab/build/build.sh $c to see why)" >&2; return 1; }
      echo "warning: $c did not build; the lab runs without it and its tests skip"
    fi
  done
}
if [[ "${HARNESS_SKIP_LAB_BUILD:-0}" != 1 ]]; then
  k8s=(kubernetes)
  others=(etcd kwok)
  [[ $real_node == 1 ]] && k8s+=(kubelet) && others+=(containerd runc gvisor)
  build_lane required "${k8s[@]}" &
  k8s_lane=$!
  lane_ok=1
  build_lane required "${others[@]}" || lane_ok=0
  if [[ "${HARNESS_LAB_EXTRAS:-1}" == 1 ]]; then
    build_lane optional kueue kuberay prometheus-adapter || true
  fi
  wait "$k8s_lane" || lane_ok=0
  ((lane_ok)) || { echo "error: the lab's core components did not all build" >&2; exit 1; }
fi
say "bootstrap done in $(elapsed)"
