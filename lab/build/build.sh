#!/usr/bin/env bash
# Build one simulated-lab component from the Go module proxy into a version-keyed cache.
#
#   lab/build/build.sh <component> [version]     components: kubernetes etcd kwok kueue kuberay prometheus-adapter
#
# Binaries land in $HARNESS_CACHE/bin/<component>-<version>/ (default ~/.cache/harness) and a
# `.complete` marker is written last, so an interrupted build is redone, a finished one reused.
# GOMODCACHE and GOCACHE live under the same cache so a warm machine rebuilds nothing.
set -euo pipefail

# Everything runs inside main, so bash has read the whole file before it starts: editing this
# script while a long build runs cannot derail that build.
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
    *) log "unknown component '$component' (known: kubernetes etcd kwok kueue kuberay prometheus-adapter)"; exit 2 ;;
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

  case "$component" in
    kubernetes)
      minor=${version#v1.}; minor=${minor%%.*}; staging="v0.${version#v1.}"
      wrapper kube
      gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
      # k8s.io/kubernetes requires its staging modules at v0.0.0 and maps them to ./staging;
      # replace each with its published tag, generated from the release's own go.mod.
      {
        echo "require k8s.io/kubernetes $version"
        sed -n 's/^[[:space:]]*\(k8s\.io\/[^[:space:]]*\) v0\.0\.0$/\1/p' "$gomod" |
          while read -r m; do echo "replace $m => $m $staging"; done
        grep -E '^godebug' "$gomod" || true
      } >> go.mod
      printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n)\n' > tools.go
      go mod tidy >/dev/null 2>&1 || go mod download
      pkg=k8s.io/component-base/version
      ld="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
      ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
      go build -trimpath -ldflags "$ld" -o "$out/" \
        k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler \
        k8s.io/kubernetes/cmd/kubectl
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
      wrapper "$component"
      echo "require $mod $version" >> go.mod
      # Seed go.sum from the module's own (itself checked against the checksum database):
      # some pre-release dependencies (kueue's sigs.k8s.io/scheduler-library) are not in sumdb.
      dir=$(go mod download -json "$mod@$version" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
      cp "$dir/go.sum" go.sum && chmod u+w go.sum
      go build -trimpath -ldflags "-s -w" -o "$out/" "$pkg"
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
