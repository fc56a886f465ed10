#!/usr/bin/env bash
# What a Prometheus scrape of /metrics does to the traffic of a proxy with many routes. The proxy gets 200 locations
# over 20 upstreams of 5 servers each (~4,500 metric lines per scrape) plus `/` to a local origin (nginx, 1 worker, an
# 18-byte `return 200`). Per build: `wrk -t1 -c8 -d10s` through the proxy with no scrapes, then again while /metrics
# is scraped every 0.5 s; prints wrk's p99 and max latency of each.
#
#   bench/scrape-stall.sh [rounds=2] [JAR...]      (default JAR: deploy/target/tiergate.jar)
#
# Several JARs are measured in turn, `rounds` times each, alternating. Needs: nginx wrk java curl.
set -euo pipefail
ROUNDS=${1:-2}; shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JARS=("$@"); [ ${#JARS[@]} -gt 0 ] || JARS=("$ROOT/deploy/target/tiergate.jar")
for t in nginx wrk java curl; do command -v $t >/dev/null || { echo "missing $t"; exit 2; }; done
for j in "${JARS[@]}"; do [ -f "$j" ] || { echo "missing $j: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }; done
SHIPPED=$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")
W=$(mktemp -d /tmp/scrape-stall.XXXXXX); chmod 755 "$W"; PP=
cleanup() {
  [ -n "$PP" ] && kill "$PP" 2>/dev/null || true
  [ -f "$W/o.pid" ] && kill "$(cat "$W/o.pid")" 2>/dev/null || true
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT
O=19690; P=19691; A=19692
cat > "$W/origin.conf" <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$O; keepalive_requests 1000000; keepalive_timeout 300s;
  location / { return 200 "hello from origin\n"; } } }
C
nginx -c "$W/origin.conf"
{
  echo "proxy:"
  echo "  admin: 127.0.0.1:$A"
  echo "  access_log: {format: off}"
  echo "  listeners: [{address: 127.0.0.1:$P}]"
  echo "  upstreams:"
  echo "    o: {servers: [{address: 127.0.0.1:$O}]}"
  for u in $(seq 0 19); do
    s=""; for j in 0 1 2 3 4; do s="$s${s:+, }{address: 127.0.0.2:$((2000 + u * 5 + j))}"; done
    echo "    u$u: {servers: [$s]}"
  done
  l="{prefix: /, upstream: o}"; for i in $(seq 0 199); do l="$l, {prefix: /r$i/, upstream: u$((i % 20))}"; done
  echo "  servers: [{default: true, locations: [$l]}]"
} > "$W/proxy.yaml"
latency() { wrk -t1 -c8 -d10s --latency "http://127.0.0.1:$P/" | awk '/Latency  /{mx=$4} / 99%/{p=$2} END{print "p99 " p ", max " mx}'; }
echo "proxy with 201 locations, origin nginx, wrk -t1 -c8 -d10s; JVM options: $SHIPPED"
for r in $(seq 1 "$ROUNDS"); do
  for JAR in "${JARS[@]}"; do
    # shellcheck disable=SC2086
    java $SHIPPED -jar "$JAR" proxy -c "$W/proxy.yaml" --watch-interval 0 > "$W/proxy.out" 2>&1 &
    PP=$!
    for _ in $(seq 1 150); do curl -sf -o /dev/null "http://127.0.0.1:$A/readyz" && break; sleep 0.2; done
    wrk -t1 -c8 -d5s "http://127.0.0.1:$P/" > /dev/null # warm-up
    lines=$(curl -s "http://127.0.0.1:$A/metrics" | wc -l)
    quiet=$(latency)
    ( for _ in $(seq 1 20); do curl -s -o /dev/null "http://127.0.0.1:$A/metrics"; sleep 0.5; done ) &
    S=$!
    scraped=$(latency)
    wait $S
    kill "$PP"; wait "$PP" 2>/dev/null || true; PP=; sleep 1
    printf '%-28s round %d  %5d lines  no scrapes: %-24s a scrape every 0.5 s: %s\n' "$(basename "$JAR")" "$r" \
      "$lines" "$quiet" "$scraped"
  done
done
