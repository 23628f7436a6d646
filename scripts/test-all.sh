#!/usr/bin/env bash
# Fresh machine, one command: install what the tests need, then run them all (test/run-all.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
exec bash test/run-all.sh
