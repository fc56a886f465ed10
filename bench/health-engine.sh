#!/usr/bin/env bash
# Health-engine benchmark: N TCP targets probed by one HealthEngine on the cores in ENGINE_CPUS
# (taskset -c, default 0) with `loops` event loops; the listeners run in a child JVM on core 1.
# Prints the engine JVM's CPU share, the probe rate it sustains and the time from closing a
# listener to its targets' DOWN transitions.
# Usage: [ENGINE_CPUS=0] bench/health-engine.sh [targets=10000] [ports=300] [intervalMs=100] [seconds=30] [loops=1]
set -euo pipefail
cd "$(dirname "$0")/.."
MVN_ARGS=${MVN_ARGS:--q -B}
mvn $MVN_ARGS -pl shared -DskipTests test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
CP="shared/target/test-classes:shared/target/classes:$(cat shared/target/bench.classpath)"
exec taskset -c "${ENGINE_CPUS:-0}" java -Xms256m -Xmx512m -cp "$CP" io.tiergate.shared.health.HealthEngineBench "$@"
