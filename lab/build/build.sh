#!/usr/bin/env bash
# Build one simulated-lab component from the Go module proxy into a version-keyed cache.
#
#   lab/build/build.sh <component> [version]
#
# components: kubernetes etcd kwok kueue kuberay prometheus-adapter (the simulated control plane and
# add-ons) and kubelet containerd runc gvisor (the lab's real node).
#
# Binaries land in $HARNESS_CACHE/bin/<component>-<version>/ (default ~/.cache/harness) and a
# `.complete` marker is written last, so an interrupted build is redone, a finished one reused.
# GOMODCACHE and GOCACHE live under the same cache so a warm machine rebuilds nothing.
set -euo pipefail

# The whole script is one { ... } group ending in exit: bash parses all of it before running any,
# so editing this file while a long build runs cannot derail that build.
{
main() {

  here=$(cd "$(dirname "$0")" && pwd)
  # shellcheck source=versions.env
  source "$here/versions.env"

  component=${1:?usage: build.sh <component> [version]}
  cache=${HARNESS_CACHE:-$HOME/.cache/harness}
  export GOMODCACHE=${GOMODCACHE_OVERRIDE:-$cache/gomod}
  export GOCACHE=${GOCACHE_OVERRIDE:-$cache/gobuild}
  export GOFLAGS=-mod=mod
  export CGO_ENABLED=0
  export GOTOOLCHAIN=local

  log() { printf '[build %s] %s\n' "$component" "$*" >&2; }

  case "$component" in
    kubernetes) version=${2:-$KUBERNETES_VERSION} ;;
    etcd)       version=${2:-$ETCD_VERSION} ;;
    kwok)       version=${2:-$KWOK_VERSION} ;;
    kueue)      version=${2:-$KUEUE_VERSION} ;;
    kuberay)    version=${2:-$KUBERAY_VERSION} ;;
    prometheus-adapter) version=${2:-$PROMETHEUS_ADAPTER_VERSION} ;;
    kubelet)    version=${2:-$KUBERNETES_VERSION} ;;
    containerd) version=${2:-$CONTAINERD_VERSION} ;;
    runc)       version=${2:-$RUNC_VERSION} ;;
    gvisor)     version=${2:-$GVISOR_VERSION} ;;
    *) log "unknown component '$component' (known: kubernetes etcd kwok kueue kuberay prometheus-adapter kubelet containerd runc gvisor)"; exit 2 ;;
  esac

  out="$cache/bin/$component-$version"
  if [[ -f "$out/.complete" ]]; then
    log "cached: $out"
    echo "$out"
    exit 0
  fi
  command -v go >/dev/null || { log "go is not installed: install Go 1.26+ (https://go.dev/doc/install) or put it on PATH"; exit 2; }
  mkdir -p "$cache/bin"
  # One build of a component version at a time: a second caller waits, then finds it cached.
  exec 9>"$cache/bin/.lock-$component-$version"
  flock 9
  if [[ -f "$out/.complete" ]]; then
    log "cached (built meanwhile): $out"
    echo "$out"
    exit 0
  fi
  mkdir -p "$out"
  work=$(mktemp -d "$cache/work-$component-XXXXXX")
  # A failed build leaves neither its work dir nor a half-filled output dir behind.
  trap 'rm -rf "$work"; [[ -f "$out/.complete" ]] || rm -rf "$out"' EXIT
  cd "$work"
  start=$(date +%s)

  # A wrapper module: `go install pkg@version` refuses modules whose go.mod has replace
  # directives, so each component is built from a tiny main module of our own.
  wrapper() { printf 'module harness.local/%s\n\ngo 1.26\n' "$1" > go.mod; }

  # A wrapper over k8s.io/kubernetes@$1, and the ldflags that stamp its version (k8s_ldflags).
  k8s_wrapper() {
    local v=$1 minor staging gomod pkg
    minor=${v#v1.}; minor=${minor%%.*}; staging="v0.${v#v1.}"
    wrapper kube
    gomod=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and maps them to ./staging;
    # replace each with its published tag, generated from the release's own go.mod.
    {
      echo "require k8s.io/kubernetes $v"
      sed -n 's/^[[:space:]]*\(k8s\.io\/[^[:space:]]*\) v0\.0\.0$/\1/p' "$gomod" |
        while read -r m; do echo "replace $m => $m $staging"; done
      grep -E '^godebug' "$gomod" || true
    } >> go.mod
    printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubelet"\n)\n' > tools.go
    go mod tidy >/dev/null 2>&1 || go mod download
    pkg=k8s.io/component-base/version
    k8s_ldflags="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    k8s_ldflags="$k8s_ldflags -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  }

  # A wrapper requiring module $1 at $2, with go.sum seeded from the module's own (itself checked
  # against the checksum database): some pre-release dependencies are not in sumdb.
  module_wrapper() {
    local dir
    wrapper "$component"
    echo "require $1 $2" >> go.mod
    dir=$(go mod download -json "$1@$2" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
    cp "$dir/go.sum" go.sum && chmod u+w go.sum
  }

  case "$component" in
    kubernetes|kubelet)
      k8s_wrapper "$version"
      if [[ $component == kubernetes ]]; then
        pkgs=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
      else
        pkgs=(kubelet)  # its own cache entry, so the control plane's stays valid; GOCACHE is shared
      fi
      go build -trimpath -ldflags "$k8s_ldflags" -o "$out/" "${pkgs[@]/#/k8s.io/kubernetes/cmd/}"
      ;;
    etcd)
      wrapper etcd
      echo "require go.etcd.io/etcd/server/v3 $version" >> go.mod
      mkdir -p cmd/etcd
      printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > cmd/etcd/main.go
      go mod tidy >/dev/null
      go build -trimpath -ldflags "-s -w" -o "$out/etcd" ./cmd/etcd
      ;;
    kwok)
      GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$version"
      ;;
    kueue|kuberay)
      # `go install pkg@version` looks up the module's deprecation through its version list,
      # which the proxy may refuse (403); building from a wrapper module needs no list.
      # Neither module has replace directives, so the wrapper resolves the same build list.
      if [[ $component == kueue ]]; then mod=sigs.k8s.io/kueue pkg=sigs.k8s.io/kueue/cmd/kueue
      else mod=github.com/ray-project/kuberay/ray-operator pkg=$mod; fi
      module_wrapper "$mod" "$version"
      go build -trimpath -ldflags "-s -w" -o "$out/" "$pkg"
      ;;
    containerd)
      # Static, without the snapshotters that need cgo; the lab uses overlayfs (or native).
      mod=github.com/containerd/containerd/v2
      module_wrapper "$mod" "$version"
      go build -trimpath -tags "no_btrfs no_devmapper no_zfs" \
        -ldflags "-s -w -X $mod/version.Version=$version -X $mod/version.Revision=harness" \
        -o "$out/" "$mod/cmd/containerd" "$mod/cmd/containerd-shim-runc-v2" "$mod/cmd/ctr"
      ;;
    runc)
      # cgo with libseccomp: containerd hands every pod sandbox a seccomp profile, which a runc
      # built without the seccomp tag refuses ("seccomp: config provided but seccomp not supported").
      mod=github.com/opencontainers/runc
      [[ -e /usr/include/seccomp.h ]] || { log "libseccomp headers are missing: apt-get install libseccomp-dev"; exit 2; }
      module_wrapper "$mod" "$version"
      CGO_ENABLED=1 go build -trimpath -tags seccomp \
        -ldflags "-s -w -X main.version=${version#v} -X main.gitCommit=harness" -o "$out/runc" "$mod"
      ;;
    gvisor)
      # runsc and gVisor's own containerd shim (containerd-shim-runsc-v1), which wires a pod's
      # containers to its sandbox the way runsc expects (containerd's runc shim does not).
      module_wrapper gvisor.dev/gvisor "$version"
      # One change to its source: the shim lowers its own oom_score_adj to -999 and gives up when it
      # cannot, but root in these VMs lacks CAP_SYS_RESOURCE (nobody may lower it); keep the score.
      cp -r "$(go mod download -json "gvisor.dev/gvisor@$version" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')" gvisor-src
      chmod -R u+w gvisor-src
      sed -i 's/if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil {/if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil \&\& !os.IsPermission(err) { \/\/ harness: keep the score/' \
        gvisor-src/pkg/shim/v1/manager.go
      grep -q 'harness: keep the score' gvisor-src/pkg/shim/v1/manager.go ||
        { log "gVisor's shim source changed: the OOM-score patch no longer applies"; exit 1; }
      echo "replace gvisor.dev/gvisor => ./gvisor-src" >> go.mod
      go build -trimpath -ldflags "-s -w" -o "$out/runsc" gvisor.dev/gvisor/runsc
      go build -trimpath -ldflags "-s -w" -o "$out/containerd-shim-runsc-v1" gvisor.dev/gvisor/shim
      ;;
    prometheus-adapter)
      # `go install pkg@version` needs the module's version list, which the proxy refuses for
      # this module; requiring the exact version from a wrapper module does not.
      wrapper prometheus-adapter
      echo "require sigs.k8s.io/prometheus-adapter $version" >> go.mod
      go build -trimpath -ldflags "-s -w" -o "$out/adapter" sigs.k8s.io/prometheus-adapter/cmd/adapter
      ;;
  esac

  echo "$version" > "$out/VERSION"
  log "built in $(( $(date +%s) - start ))s: $out"
  touch "$out/.complete"
  echo "$out"
}

main "$@"
exit
}
