#!/usr/bin/env bash
# Remove what the lab's real node left on this host, idempotently:
#   node-down.sh drain NODE_DIR            containerd still runs: delete every task and container
#                                          through it, so shims exit and clean up after themselves
#   node-down.sh sweep NODE_DIR INTERFACE BRIDGE CGROUP_PARENT
#                                          everything stopped: kill leftover shims, sandboxes and
#                                          container processes, unmount, remove cgroups and links
# Prints "CHANGED: <what>" per change and "LEFT: <what>" for anything it could not remove.
set -uo pipefail
mode=${1:?drain|sweep}; dir=${2:?node dir}
changed() { echo "CHANGED: $*"; }
left() { echo "LEFT: $*"; }

drain() {
  local ctr=(timeout 20 "$dir/bin/ctr" --address "$dir/containerd/containerd.sock" --namespace k8s.io)
  [[ -S "$dir/containerd/containerd.sock" && -x "$dir/bin/ctr" ]] || return 0
  "${ctr[@]}" version >/dev/null 2>&1 || return 0
  local id
  for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks kill -s SIGKILL --all "$id" >/dev/null 2>&1
    "${ctr[@]}" tasks delete --force "$id" >/dev/null 2>&1 && changed "task $id"
  done
  for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    "${ctr[@]}" containers delete "$id" >/dev/null 2>&1 && changed "container $id"
  done
}

# PIDs of this node's leftovers: shims serving its containerd, gVisor processes under its state,
# and every process in its pod cgroups. Never this script or its parents.
leftovers() {
  local self=$$ p pid cmd
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [[ $pid == "$self" || $pid == "$PPID" ]] && continue
    cmd=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in
      *containerd-shim*"$dir/containerd/containerd.sock"*|*runsc*"--root=$dir/"*|*runsc*"--root $dir/"*) echo "$pid" ;;
    esac
  done
  for h in "${hierarchies[@]}"; do
    [[ -d "$h$parent" ]] && find "$h$parent" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
}

sweep() {
  local ifname=${3:?interface} bridge=${4:?bridge}
  parent=${5:?cgroup parent}
  hierarchies=()
  if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then hierarchies=(/sys/fs/cgroup/)
  else for h in /sys/fs/cgroup/*/; do [[ $(stat -fc %T "$h") == cgroup* ]] && hierarchies+=("$h"); done; fi

  local round pids
  for round in 1 2 3 4 5; do
    pids=$(leftovers | sort -u)
    [[ -z $pids ]] && break
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null && changed "killed $(wc -w <<<"$pids") process(es)"
    sleep 0.5
  done
  [[ -n $(leftovers) ]] && left "processes $(leftovers | sort -u | tr '\n' ' ')"

  # Mounts under the node's directory, deepest first (rootfs overlays, netns and shm binds, volumes).
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || { left "mount $m"; continue; }
    changed "unmounted $m"
  done < <(awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)

  local h
  for h in "${hierarchies[@]}"; do
    [[ -d "$h$parent" ]] || continue
    find "$h$parent" -depth -type d -exec rmdir {} + 2>/dev/null
    if [[ -d "$h$parent" ]]; then left "cgroup $h$parent"; else changed "cgroup $h$parent"; fi
  done

  local link
  for link in "$bridge" "$ifname"; do
    if ip link show "$link" >/dev/null 2>&1; then ip link delete "$link" && changed "link $link"; fi
  done
  # The kubelet's legacy /var/log/containers links into this node's pod logs.
  for link in /var/log/containers/*.log; do
    [[ -L $link && $(readlink "$link") == "$dir/"* ]] && rm -f "$link" && changed "log link $link"
  done
  return 0
}

case "$mode" in
  drain) drain ;;
  sweep) sweep "$@" ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
