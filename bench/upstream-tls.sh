#!/usr/bin/env bash
# TLS to the origin: CPU per proxied request of Tiergate (BoringSSL, its default), Tiergate on the JDK's engine
# (-Dtiergate.tls.engine=jdk) and nginx (1 worker, proxy_pass https:// with keepalive and proxy_ssl_session_reuse),
# in front of the same nginx origin over TLS (ECDSA P-256), plain HTTP from wrk.
#   MODE=keepalive (default): the origin keeps connections open; what a kept-alive TLS upstream costs per request.
#     Tiergate's groups get keepalive_timeout 60s (nginx's upstream default), so rounds of the other contestants
#     do not leave its pool idle long enough to close: otherwise every round starts with new handshakes.
#   MODE=new: the origin closes after every response (keepalive_requests 1), so every request opens a new TLS
#     connection to it, resumed with the session of an earlier one: what reconnecting costs.
# Servers on CPU 0; wrk and the origin on CPU 1. CPU per request = utime+stime of the server's process tree over the
# run / requests. Contestants alternate within each round; medians of the rounds.
# Usage: bench/upstream-tls.sh [duration=5s] [rounds=3] [connections=64]
set -euo pipefail
DUR=${1:-5s}; ROUNDS=${2:-3}; C=${3:-64}; MODE=${MODE:-keepalive}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=${JAR:-$ROOT/deploy/target/tiergate.jar}
. "$ROOT/bench/lib/cost.sh"
for t in nginx wrk openssl taskset java curl; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install nginx-light wrk openssl)"; exit 2; }
done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
case $MODE in keepalive) OKR=1000000;; new) OKR=1;; *) echo "MODE is keepalive or new"; exit 2;; esac
JOPTS=${TIERGATE_JAVA_OPTS-$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")}
W=$(mktemp -d /tmp/upstream-tls.XXXXXX); PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in $W/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 0.5; [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $W/key.pem -out $W/cert.pem \
  -days 2 -subj /CN=localhost 2>/dev/null
O=18480; TG=18481; TJ=18482; NG=18483
cat > $W/origin.conf <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on; worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http { access_log off;
  server { listen 127.0.0.1:$O ssl backlog=4096; ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3; keepalive_requests $OKR; keepalive_timeout 300s;
    location / { return 200 "hello from origin\n"; } } }
C
cat > $W/nginx.conf <<C
worker_processes 1; pid $W/n.pid; error_log $W/n.err; daemon on; worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http { access_log off;
  upstream o { server 127.0.0.1:$O; keepalive 1024; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$NG backlog=4096; keepalive_requests 1000000; keepalive_timeout 300s;
    location / { proxy_pass https://o; proxy_http_version 1.1; proxy_set_header Connection "";
    proxy_ssl_session_reuse on; proxy_ssl_protocols TLSv1.2 TLSv1.3;
    # the header work Tiergate does by default, as in bench/efficiency.sh
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Host \$host; proxy_set_header Forwarded "for=\$remote_addr;proto=\$scheme;host=\$host";
    proxy_set_header Via "1.1 nginx"; proxy_set_header X-Request-Id \$request_id;
    add_header Via "1.1 nginx"; add_header X-Request-Id \$request_id; } } }
C
proxy_yaml() { # port
  cat <<C
proxy:
  access_log: {format: off}
  admin: 127.0.0.1:0
  listeners: [{address: 127.0.0.1:$1}]
  upstreams: {o: {max_connections_per_server: 1024, keepalive_timeout: 60s, tls: {verify: false},
                  servers: [{address: 127.0.0.1:$O}]}}
  servers: [{default: true, locations: [{prefix: /, upstream: o}]}]
C
}
proxy_yaml $TG > $W/tg.yaml; proxy_yaml $TJ > $W/tj.yaml
taskset -c 1 nginx -c $W/origin.conf -p $W
declare -A PORT PID
start() { # name port command...
  local n=$1 p=$2; shift 2
  taskset -c 0 "$@" >$W/$n.out 2>$W/$n.err & PID[$n]=$!; PORT[$n]=$p; PIDS+=($!)
}
start tiergate-boringssl $TG java $JOPTS -jar "$JAR" proxy -c $W/tg.yaml --watch-interval 0
start tiergate-jdk $TJ java $JOPTS -Dtiergate.tls.engine=jdk -jar "$JAR" proxy -c $W/tj.yaml --watch-interval 0
taskset -c 0 nginx -c $W/nginx.conf -p $W; PID[nginx]=$(cat $W/n.pid); PORT[nginx]=$NG
NAMES="tiergate-boringssl tiergate-jdk nginx"
for n in $NAMES; do
  for i in $(seq 1 150); do curl -fs http://127.0.0.1:${PORT[$n]}/ >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS http://127.0.0.1:${PORT[$n]}/ >/dev/null || { echo "$n does not answer on ${PORT[$n]}:"; cat $W/$n.err; exit 3; }
done
echo "machine: $(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); $(java -version 2>&1 | head -1)" >&2
echo "$(nginx -v 2>&1); MODE=$MODE (origin keepalive_requests $OKR); wrk -t1 -c$C -d$DUR" >&2
for n in tiergate-boringssl tiergate-jdk; do
  echo "$n: $(grep -ho 'TLS engine: .*' $W/$n.out $W/$n.err | head -1)" >&2
done
# Warm-up: the JVMs' TLS client paths take tens of seconds to compile (their first 15 s cost 5-15x more per request).
for n in $NAMES; do
  if [[ $n == tiergate* ]]; then d=40s; else d=5s; fi
  taskset -c 1 wrk -t1 -c$C -d$d http://127.0.0.1:${PORT[$n]}/ >/dev/null
done
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r" >&2
  for n in $NAMES; do
    measure "$n" http://127.0.0.1:${PORT[$n]}/ "${PID[$n]}" 1 0 -t1 -c$C -d$DUR >> $W/res.$n
  done
done
echo
echo "medians of $ROUNDS rounds, MODE=$MODE, $C connections (CPU/req = server process tree utime+stime / requests)"
printf '%-20s %9s %9s %9s\n' server "req/s" "p99 ms" "us/req"
for n in $NAMES; do
  printf '%-20s %9.0f %9s %9s\n' $n "$(cut -d' ' -f1 $W/res.$n | median)" "$(cut -d' ' -f2 $W/res.$n | median)" \
    "$(cut -d' ' -f3 $W/res.$n | median)"
done
