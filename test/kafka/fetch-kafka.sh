#!/usr/bin/env bash
# Resolves the Apache Kafka broker jars (version in pom.xml) from Maven Central into test/kafka/lib.
# Idempotent: does nothing when lib/ already holds the jars of that version.
set -euo pipefail
cd "$(dirname "$0")"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' pom.xml)
if [ -f "lib/kafka_2.13-${version}.jar" ] && [ -f lib/.complete ]; then exit 0; fi
rm -rf lib
mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime
touch lib/.complete
echo "kafka ${version}: $(ls lib/*.jar | wc -l) jars in test/kafka/lib"
