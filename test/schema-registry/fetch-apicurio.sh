#!/usr/bin/env bash
# Resolves Apicurio Registry (its server as a Quarkus app: io.apicurio:apicurio-registry-app:<version>,
# classifier "all", a tar.gz of quarkus-app/) from Maven Central into test/schema-registry/dist.
# Runs with `java -jar quarkus-run.jar` on Java 21 or newer; its Confluent-compatible API is /apis/ccompat/v7.
# Idempotent: does nothing when dist/ already holds that version.
set -euo pipefail
cd "$(dirname "$0")"
version=3.3.3
dir="dist/apicurio-registry-${version}"
if [ -f "$dir/quarkus-run.jar" ] && [ -f "$dir/.complete" ]; then exit 0; fi
rm -rf dist
mkdir -p "$dir"
mvn -q -B dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:${version}:tar.gz:all" -DoutputDirectory=dist
tar xzf "dist/apicurio-registry-app-${version}-all.tar.gz" -C "$dir"
rm "dist/apicurio-registry-app-${version}-all.tar.gz"
touch "$dir/.complete"
echo "apicurio registry ${version}: $(ls "$dir"/lib/main/*.jar | wc -l) jars in test/schema-registry/$dir"
