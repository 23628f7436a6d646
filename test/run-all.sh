#!/usr/bin/env bash
# Runs every test: type check, lint, unit tests beside the code, integration tests in test/integration
# against one real Kafka broker started here (and stopped at the end; its log is printed on failure).
# Assumes installed dependencies: scripts/test-all.sh installs them first.
set -uo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob

echo "== type check"
npx tsc -p . || exit 1
npx tsc -p views || exit 1
npx tsc -p ui || exit 1
echo "== lint"
npx eslint --max-warnings=0 . || exit 1
npx prettier --check --log-level warn . || exit 1

echo "== Grafana panel plugin (dashboards/: type check, lint, build, its tests under node --test + jsdom)"
(cd dashboards && npx tsc --noEmit && npx eslint --max-warnings=0 . && npm run --silent build && node test/run.cjs) || exit 1

echo "== kafka broker"
bash test/kafka/fetch-kafka.sh || exit 1
state=$(mktemp)
npx tsx test/kafka/broker.ts start "$state" || exit 1
TEST_KAFKA_BOOTSTRAP=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$state','utf8')).bootstrap)")
export TEST_KAFKA_BOOTSTRAP
trap 'npx tsx test/kafka/broker.ts stop "$state"' EXIT

echo "== tests"
files=(schemas/src/**/*.test.ts common/src/**/*.test.ts agent/src/**/*.test.ts pipeline/src/**/*.test.ts views/src/**/*.test.ts test/integration/**/*.test.ts)
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
status=$?
if [ "$status" -ne 0 ]; then
  echo "== kafka broker log (last 80 lines)"
  tail -n 80 "$(node -e "console.log(JSON.parse(require('fs').readFileSync('$state','utf8')).logFile)")"
fi
exit "$status"
