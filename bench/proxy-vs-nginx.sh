#!/usr/bin/env bash
# Tiergate's L7 proxy vs Debian's nginx (2 workers, upstream keepalive) in front of the same nginx origin
# (`return 200`), measured with wrk in one run. Installs nothing. Needs: nginx wrk taskset java, and the fat jar
# (mvn -B -o -pl deploy -am package -DskipTests).   apt-get install nginx-light wrk
# Usage: bench/proxy-vs-nginx.sh [duration=10s] [connections=64] [rounds=3]
# Rounds alternate tiergate/nginx so background noise hits both; the median of each is compared.
set -euo pipefail
DUR=${1:-10s}; CONNS=${2:-64}; ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=$ROOT/deploy/target/tiergate.jar
for t in nginx wrk taskset java; do command -v $t >/dev/null || { echo "missing $t (apt-get install nginx-light wrk)"; exit 2; }; done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
NCPU=$(nproc); PROXY_CPUS=0; LOAD_CPUS=$((NCPU > 1 ? 1 : 0)); ORIGIN_CPUS=$LOAD_CPUS
W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; [ -f $W/o.pid ] && kill $(cat $W/o.pid) 2>/dev/null; [ -f $W/n.pid ] && kill $(cat $W/n.pid) 2>/dev/null; rm -rf $W' EXIT
O=18080; N=18081; T=18082
cat > $W/origin.conf <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$O; keepalive_requests 100000; location / { return 200 "hello from origin\n"; } } }
C
cat > $W/nginx.conf <<C
worker_processes 2; pid $W/n.pid; error_log $W/n.err; daemon on;
events { worker_connections 4096; }
http { access_log off;
  upstream o { server 127.0.0.1:$O; keepalive 128; }
  server { listen 127.0.0.1:$N; location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
cat > $W/tiergate.yaml <<C
proxy:
  access_log: {format: off}
  listeners: [{address: 127.0.0.1:$T}]
  upstreams: {o: {servers: [{address: 127.0.0.1:$O}]}}
  servers: [{default: true, locations: [{prefix: /, upstream: o}]}]
C
taskset -c $ORIGIN_CPUS nginx -c $W/origin.conf -p $W
taskset -c $PROXY_CPUS nginx -c $W/nginx.conf -p $W
taskset -c $PROXY_CPUS java -XX:+UseParallelGC -Xms512m -Xmx512m -jar "$JAR" proxy -c $W/tiergate.yaml --watch-interval 0 2>$W/t.err &
for i in $(seq 1 100); do curl -fs http://127.0.0.1:$T/ >/dev/null 2>&1 && break; sleep 0.2; done
taskset -c $LOAD_CPUS wrk -t1 -c$CONNS -d10s http://127.0.0.1:$T/ >/dev/null   # JVM warm-up (JIT), once
run() { # name port -> "rps p99"
  taskset -c $LOAD_CPUS wrk -t1 -c$CONNS -d2s --latency http://127.0.0.1:$2/ >/dev/null   # warm-up (pools)
  local out; out=$(taskset -c $LOAD_CPUS wrk -t1 -c$CONNS -d$DUR --latency http://127.0.0.1:$2/)
  local rps p99; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local errs; errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  printf '%-10s %10s req/s   p99 %8s   %s\n' "$1" "$rps" "$p99" "$errs" >&2; echo "$rps $p99"
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "cpus: proxy=$PROXY_CPUS load+origin=$LOAD_CPUS  wrk -t1 -c$CONNS -d$DUR  rounds=$ROUNDS" >&2
: > $W/a; : > $W/b
for r in $(seq 1 $ROUNDS); do run tiergate $T >> $W/a; run nginx $N >> $W/b; done
A=$(cut -d' ' -f1 $W/a | median); B=$(cut -d' ' -f1 $W/b | median)
echo "median req/s: tiergate $A  nginx $B"
awk -v a="$A" -v b="$B" 'BEGIN { printf "ratio tiergate/nginx req/s: %.2f\n", a/b }'
