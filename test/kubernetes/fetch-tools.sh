#!/usr/bin/env bash
# Installs what test/integration/kubernetes-manifests.test.ts runs, into test/.venv/k8s (ignored by git):
#   helm            built from its Go module (helm.sh/helm/v4, through the Go module proxy) with the machine's Go;
#   a Python venv   kubernetes-validate (the Kubernetes API's JSON schemas, per version, strict variants) and
#                   cloudcoil-models-prometheus-operator (Prometheus Operator's ServiceMonitor), from PyPI,
#                   pinned in requirements.txt.
# Idempotent: does nothing when the pinned versions are already there. The test runs it first.
set -euo pipefail
cd "$(dirname "$0")"
HELM_VERSION=v4.3.2
dir=../.venv/k8s
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ ! -x "$dir/bin/python" ] || ! cmp -s requirements.txt "$dir/requirements.txt"; then
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps -r requirements.txt
  cp requirements.txt "$dir/requirements.txt"
  echo "k8s tools: $("$dir/bin/pip" --disable-pip-version-check list 2>/dev/null | grep -E '^(kubernetes-validate|cloudcoil) ' | tr -s ' ' | paste -sd, -) in $dir"
fi

if [ "$("$dir/bin/helm" version --template '{{.Version}}' 2>/dev/null || true)" != "$HELM_VERSION" ]; then
  go=$(command -v go || echo /usr/local/go/bin/go)
  [ -n "${HOME:-}" ] || export HOME="$dir"   # Go's module and build caches live under it
  echo "k8s tools: building helm $HELM_VERSION with $("$go" version) (a few minutes the first time)"
  GOBIN="$dir/bin" CGO_ENABLED=0 "$go" install \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  echo "k8s tools: $("$dir/bin/helm" version --short) in $dir/bin"
fi
