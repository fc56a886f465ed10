#!/usr/bin/env bash
# A/B of two Tiergate proxy builds (or one build with two sets of JVM options), both running at once, measured in
# alternating turns: CPU per proxied request (utime+stime of each JVM over its turn / requests), its user/system
# split, req/s and p99, and what each request allocated (from the collector's log: MB freed by the round's young
# collections / requests), then the median of the rounds per build. For differences too small for bench/efficiency.sh's
# three rounds: a change worth 2-3 % of a request needs 8 or more alternating rounds to show above this machine's noise.
#
#   bench/proxy-ab.sh "A.jar|JVM options" "B.jar|JVM options" [rounds=8] [seconds=4] [connections=64]
#
# Each proxy is pinned to CPU 0 (idle while the other is measured), wrk (-t1) and the origin (nginx, 1 worker, an
# 18-byte `return 200`) to CPU 1. Options empty after the "|": the JVM settings ./tiergate ships.
# A_JAVA / B_JAVA: the java binary that runs that proxy (default: java on the PATH), e.g. B_JAVA=/usr/lib/jvm/X/bin/java.
# A_UPSTREAM / B_UPSTREAM: more settings of that proxy's upstream, e.g. B_UPSTREAM="max_connections_per_server: 1024".
# A_LISTENER / B_LISTENER: more settings of that proxy's listener, e.g. B_LISTENER="h2c: false".
# CACHE=1: a cacheable 1 KiB response and `cache: on`, so every measured request is a cache hit.
# CLOSE=1: every request sends "Connection: close", a new TCP connection per request (upstream connections pooled).
# Needs: nginx wrk taskset java curl.
set -euo pipefail
A=${1:?"A.jar|options"}; B=${2:?"B.jar|options"}; ROUNDS=${3:-8}; SECS=${4:-4}; C=${5:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WX=(); if [ -n "${CLOSE:-}" ]; then WX=(-H "Connection: close"); fi
for t in nginx wrk taskset java curl; do command -v $t >/dev/null || { echo "missing $t"; exit 2; }; done
SHIPPED=$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")
W=$(mktemp -d /tmp/proxy-ab.XXXXXX); chmod 755 "$W"
declare -A PID PORT
cleanup() {
  for n in "${!PID[@]}"; do kill "${PID[$n]}" 2>/dev/null || true; done
  [ -f "$W/o.pid" ] && kill "$(cat "$W/o.pid")" 2>/dev/null || true
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT
O=19380
BODY="hello from origin\n"; HDR=; CACHE_CFG=; CACHE_LOC=
if [ -n "${CACHE:-}" ]; then
  BODY="$(head -c 1024 /dev/zero | tr '\0' 'x')"; HDR='add_header Cache-Control "max-age=3600";'
  CACHE_CFG='cache: {max_size: 64m}'; CACHE_LOC=', cache: on'
fi
cat > "$W/origin.conf" <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 8192; }
http { access_log off; server { listen 127.0.0.1:$O backlog=4096; keepalive_requests 1000000; keepalive_timeout 300s;
  location / { $HDR return 200 "$BODY"; } } }
C
taskset -c 1 nginx -c "$W/origin.conf" -p "$W"
i=0
for n in A B; do
  spec=${!n}; jar=${spec%%|*}; opts=${spec#*|}; [ "$opts" = "$spec" ] && opts=; [ -n "$opts" ] || opts=$SHIPPED
  [ -f "$jar" ] || { echo "missing $jar"; exit 2; }
  port=$((O + 1 + i)); i=$((i + 1))
  cat > "$W/$n.yaml" <<C
proxy:
  access_log: {format: off}
  admin: 127.0.0.1:0
  listeners: [{address: 127.0.0.1:$port$(v=${n}_LISTENER; [ -n "${!v:-}" ] && echo ", ${!v}")}]
  upstreams: {o: {servers: [{address: 127.0.0.1:$O}]$(v=${n}_UPSTREAM; [ -n "${!v:-}" ] && echo ", ${!v}")}}
  $CACHE_CFG
  servers: [{default: true, locations: [{prefix: /, upstream: o$CACHE_LOC}]}]
C
  # shellcheck disable=SC2086
  jv=${n}_JAVA; taskset -c 0 "${!jv:-java}" $opts -Xlog:gc:file="$W/$n.gc" -jar "$jar" proxy -c "$W/$n.yaml" --watch-interval 0 >"$W/$n.out" 2>&1 &
  PID[$n]=$!; PORT[$n]=$port
  echo "$n: $jar  $opts"
done
for n in A B; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:${PORT[$n]}/" >/dev/null && break; sleep 0.2; done
  taskset -c 1 wrk -t1 -c"$C" -d10s "${WX[@]}" "http://127.0.0.1:${PORT[$n]}/" >/dev/null   # JIT warm-up
done
hz=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
  for n in A B; do
    p=${PID[$n]}
    g0=$(wc -l < "$W/$n.gc")
    read -r u0 s0 < <(awk '{print $14, $15}' /proc/$p/stat)
    out=$(taskset -c 1 wrk -t1 -c"$C" -d"${SECS}"s --latency "${WX[@]}" "http://127.0.0.1:${PORT[$n]}/")
    read -r u1 s1 < <(awk '{print $14, $15}' /proc/$p/stat)
    req=$(awk '/requests in/ {print $1}' <<<"$out"); p99=$(awk '/ 99%/ {print $2}' <<<"$out")
    # young collections in the round and the MB they freed: what the requests allocated, read from the collector
    read -r gcs freed < <(tail -n +$((g0 + 1)) "$W/$n.gc" | awk '/Pause Young/ { n++; if (match($0, /[0-9]+M->[0-9]+M/)) {
      split(substr($0, RSTART, RLENGTH), a, "->"); f += a[1] - a[2] } } END { print n + 0, f + 0 }')
    awk -v n=$n -v r=$r -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v q="$req" -v hz="$hz" -v p="$p99" -v t="$SECS" \
      -v g="$gcs" -v f="$freed" \
      'BEGIN {printf "%s round %d  user %.2f sys %.2f total %.2f us/req  %d req/s  p99 %s  young gc %d, ~%.2f KB allocated/req\n",
        n, r, u/hz*1e6/q, s/hz*1e6/q, (u+s)/hz*1e6/q, q/t, p, g, f*1024/q}'
  done
done | tee "$W/res"
for n in A B; do
  awk -v n=$n '$1==n {print $5, $7, $9}' "$W/res" | sort -n -k3 | awk -v n=$n '{u[NR]=$1; s[NR]=$2; t[NR]=$3}
    END {m=int((NR+1)/2); printf "%s median of %d: total %.2f us/req (that round: user %.2f sys %.2f)", n, NR, t[m], u[m], s[m]}'
  awk -v n=$n '$1==n {print $5}' "$W/res" | sort -n | awk '{u[NR]=$1} END {printf "; median user %.2f us/req", u[int((NR+1)/2)]}'
  awk -v n=$n '$1==n {sub("~", "", $(NF-2)); print $(NF-2)}' "$W/res" | sort -n |
    awk '{a[NR]=$1} END {printf "; median allocation %.2f KB/req\n", a[int((NR+1)/2)]}'
done
