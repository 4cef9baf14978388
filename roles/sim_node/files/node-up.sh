#!/usr/bin/env bash
# Prepare the host for the lab's real node, idempotently:
#   node-up.sh INTERFACE NODE_IP CGROUP_PARENT
# - an interface of its own carrying the node's IP (the kubelet refuses a loopback node IP, and the
#   API server reaches the kubelet there; nothing leaves the host): one end of a veth pair whose
#   peer stays unused, since not every kernel here has the dummy driver;
# - the cgroup the kubelet puts every pod under (its cgroupRoot must exist), in every hierarchy,
#   so `harness down` removes exactly what the lab made.
# Prints "CHANGED: <what>" per change. Exit 3: not permitted (not root).
set -euo pipefail
ifname=${1:?interface}; ip_addr=${2:?node ip}; parent=${3:?cgroup parent}
changed() { echo "CHANGED: $*"; }
fail3() { echo "ERROR: $*: the real node needs root (network links, cgroups, mounts)" >&2; exit 3; }

if ! ip link show "$ifname" >/dev/null 2>&1; then
  err=$(ip link add "$ifname" type veth peer name "${ifname:0:13}-p" 2>&1) || fail3 "cannot create interface $ifname: $err"
  ip link set "${ifname:0:13}-p" up
  changed "interface $ifname"
fi
if ! ip -o addr show dev "$ifname" | grep -q "inet $ip_addr/"; then
  ip addr replace "$ip_addr/32" dev "$ifname"; changed "address $ip_addr on $ifname"
fi
if ! ip -o link show "$ifname" | grep -q ',UP'; then
  ip link set "$ifname" up; changed "$ifname up"
fi

# The cgroup hierarchies: the v2 root on a v2-only host, else every mounted v1 (and hybrid v2) one.
if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
  hierarchies=(/sys/fs/cgroup/)
else
  hierarchies=()
  for h in /sys/fs/cgroup/*/; do
    [[ $(stat -fc %T "$h") == cgroup* ]] && hierarchies+=("$h")
  done
fi
for h in "${hierarchies[@]}"; do
  d="$h$parent"
  [[ -d "$d" ]] && continue
  mkdir "$d" || fail3 "cannot create cgroup $d"
  # A new cpuset cgroup (v1) starts with no CPUs or memory nodes: inherit the parent's.
  for f in cpuset.cpus cpuset.mems; do
    [[ -f "$d/$f" && -z "$(cat "$d/$f")" ]] && cat "$h$f" > "$d/$f"
  done
  changed "cgroup $d"
done
# On cgroup v2, child cgroups only get the controllers the parent delegates.
if [[ -f /sys/fs/cgroup/cgroup.subtree_control && -d /sys/fs/cgroup/$parent ]]; then
  for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    grep -qw "$c" "/sys/fs/cgroup/$parent/cgroup.subtree_control" || echo "+$c" > "/sys/fs/cgroup/$parent/cgroup.subtree_control" 2>/dev/null || true
  done
fi
