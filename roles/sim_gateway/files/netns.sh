#!/usr/bin/env bash
# Create or delete the lab's network namespace and its veth pair, idempotently.
#
#   netns.sh up   NETNS HOST_IF NS_IF HOST_CIDR NS_CIDR
#   netns.sh down NETNS HOST_IF
#
# Prints "CHANGED: <what>" for every change it makes (Ansible's changed_when reads it).
# Exit 3: network namespaces are not permitted here (not root, or no CAP_SYS_ADMIN/NET_ADMIN).
set -euo pipefail

action=${1:?usage: netns.sh up|down NETNS HOST_IF [NS_IF HOST_CIDR NS_CIDR]}
netns=${2:?netns name}
host_if=${3:?host interface}

changed() { echo "CHANGED: $*"; }
# Match on captured output, not a pipe into `grep -q`: with pipefail, grep quitting early
# SIGPIPEs the writer and the test reads as false.
has() { local out; out=$("${@:2}" 2>/dev/null) || return 1; grep -q -- "$1" <<<"$out"; }
has_netns() { has "^$netns\( \|$\)" ip netns list; }

not_permitted() {
  echo "ERROR: cannot $1: network namespaces need root with CAP_SYS_ADMIN and CAP_NET_ADMIN" \
       "(run the lab as root, or in a container started with --privileged / --cap-add NET_ADMIN,SYS_ADMIN):" \
       "$2" >&2
  exit 3
}

case "$action" in
  up)
    ns_if=${4:?ns interface}; host_cidr=${5:?host cidr}; ns_cidr=${6:?ns cidr}
    if ! has_netns; then
      err=$(ip netns add "$netns" 2>&1) || not_permitted "create network namespace $netns" "$err"
      changed "netns $netns"
    fi
    if ip link show "$host_if" >/dev/null 2>&1 && ! ip -n "$netns" link show "$ns_if" >/dev/null 2>&1; then
      # A stale host end whose peer is not in this namespace (it was recreated): start over.
      ip link delete "$host_if"; changed "deleted stale $host_if"
    fi
    if ! ip link show "$host_if" >/dev/null 2>&1; then
      err=$(ip link add "$host_if" type veth peer name "$ns_if" netns "$netns" 2>&1) ||
        not_permitted "create veth $host_if<->$ns_if" "$err"
      changed "veth $host_if <-> $ns_if"
    fi
    if ! has "inet $host_cidr " ip -o addr show dev "$host_if"; then
      ip addr replace "$host_cidr" dev "$host_if"; changed "address $host_cidr on $host_if"
    fi
    if ! has "inet $ns_cidr " ip -n "$netns" -o addr show dev "$ns_if"; then
      ip -n "$netns" addr replace "$ns_cidr" dev "$ns_if"; changed "address $ns_cidr on $ns_if"
    fi
    if ! has ',UP' ip -o link show "$host_if"; then
      ip link set "$host_if" up; changed "$host_if up"
    fi
    for dev in lo "$ns_if"; do
      if ! has ',UP' ip -n "$netns" -o link show "$dev"; then
        ip -n "$netns" link set "$dev" up; changed "$dev up in $netns"
      fi
    done
    ;;
  down)
    # Deleting the namespace removes the veth pair with it.
    if has_netns; then ip netns delete "$netns"; changed "deleted netns $netns"; fi
    if ip link show "$host_if" >/dev/null 2>&1; then ip link delete "$host_if"; changed "deleted $host_if"; fi
    ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
