#!/usr/bin/env bash
# Time to apply 1,000 services x 10 real servers into an empty nft table (through libnftables, one atomic batch),
# to read them back, and to apply one change into that state. Root; runs in a throwaway network namespace.
# Usage: sudo bench/director-apply.sh [services] [mh|wrr]
set -euo pipefail
cd "$(dirname "$0")/.."
services="${1:-1000}"
scheduler="${2:-mh}"
mvn -q -B -o -pl l4-director -am test -Dtest=NftApplyBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dtiergate.bench=true -Dtiergate.bench.services="$services" -Dtiergate.bench.scheduler="$scheduler" \
  -DargLine="-Dtiergate.bench=true -Dtiergate.bench.services=$services -Dtiergate.bench.scheduler=$scheduler" >/dev/null
grep -h '^\[bench\]' l4-director/target/surefire-reports/*NftApplyBench-output.txt
