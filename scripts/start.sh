#!/usr/bin/env bash
# Fresh machine, one command: install what is missing, then run the all-in-one (agent + pipeline,
# embedded ClickHouse in .data/, no Kafka). Metrics on http://127.0.0.1:9464/metrics. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node pipeline/bin/skystream.js allinone "$@"
