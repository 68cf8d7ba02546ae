#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager)
# from the pinned Go modules under hack/controlplane/, into a cache keyed by
# those modules' go.mod/go.sum. A second run finds them and returns at once.
# The last line of stdout is the bin directory (tests read NBV_CONTROLPLANE_BIN).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=env.sh
source "$here/scripts/env.sh"

hash=$(cat "$here"/hack/controlplane/*/go.mod "$here"/hack/controlplane/*/go.sum | sha256sum | cut -c1-16)
bin="$NBV_CACHE/controlplane/$hash/bin"
if [[ -x "$bin/etcd" && -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "Go is required to build the test control plane (https://go.dev/doc/install, or apt-get install golang)" >&2; exit 1; }
mkdir -p "$bin.partial"
start=$(date +%s)
echo "building etcd, kube-apiserver and kube-controller-manager from Go modules (first time only; ~10-15 min on 2 cores)..." >&2
# -trimpath and -s -w keep the binaries small; nice keeps the machine usable.
(cd "$here/hack/controlplane/etcd" && nice go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin.partial/etcd" go.etcd.io/etcd/server/v3) >&2
(cd "$here/hack/controlplane/kube" && nice go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin.partial/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager) >&2
rm -rf "$bin" && mv "$bin.partial" "$bin"
echo "control plane built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
