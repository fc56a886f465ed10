#!/usr/bin/env bash
# Server CPU per TLS connection, full handshake against resumed session, TLS 1.3 and 1.2: Tiergate on BoringSSL (its
# default), Tiergate on the JDK's engine (-Dtiergate.tls.engine=jdk), nginx (1 worker) and HAProxy (1 thread), each
# terminating TLS (the same ECDSA P-256 certificate) in front of the same nginx origin.
# The load is `openssl s_time -new|-reuse -www /`: one client, connections one after another, each a handshake, one
# GET, its response and a close. -www matters: a TLS 1.3 session ticket comes after the handshake, so a client that
# reads nothing (s_time without -www, s_client closing at once) never gets one and cannot resume. s_time prints a
# character per connection, "r" when the session was resumed; the bench counts them and says so.
# CPU per connection = utime+stime of the server's process tree over the run / connections made in it. Servers on
# CPU 0, s_time and the origin on CPU 1; contestants alternate within every round; medians of the rounds.
# Usage: bench/tls-resume.sh [seconds per run=4] [rounds=3]
set -euo pipefail
SECS=${1:-4}; ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=${JAR:-$ROOT/deploy/target/tiergate.jar}
. "$ROOT/bench/lib/cost.sh"
for t in nginx haproxy openssl taskset java curl; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install nginx-light haproxy openssl)"; exit 2; }
done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
JOPTS=${TIERGATE_JAVA_OPTS-$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")}
W=$(mktemp -d /tmp/tls-resume.XXXXXX); PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in $W/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 0.5; [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $W/key.pem -out $W/cert.pem \
  -days 2 -subj /CN=localhost 2>/dev/null
cat $W/cert.pem $W/key.pem > $W/haproxy.pem
O=18380; TG=18381; TJ=18382; NG=18383; HH=18384
cat > $W/origin.conf <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$O backlog=4096; keepalive_requests 1000000; keepalive_timeout 300s;
  location / { return 200 "hello from origin\n"; } } }
C
# nginx's defaults for sessions: tickets on (a key made at start), no shared session cache. TLS 1.3 named because
# nginx before 1.23.4 leaves it out by default.
cat > $W/nginx.conf <<C
worker_processes 1; pid $W/n.pid; error_log $W/n.err; daemon on;
events { worker_connections 4096; }
http { access_log off;
  upstream o { server 127.0.0.1:$O; keepalive 64; }
  server { listen 127.0.0.1:$NG ssl backlog=4096; ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
cat > $W/haproxy.cfg <<C
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:$HH ssl crt $W/haproxy.pem
  default_backend o
backend o
  http-reuse always
  server o 127.0.0.1:$O
C
proxy_yaml() { # port
  cat <<C
proxy:
  access_log: {format: off}
  admin: 127.0.0.1:0
  listeners: [{address: 127.0.0.1:$1, tls: {certificates: [{cert: $W/cert.pem, key: $W/key.pem}], http2: false}}]
  upstreams: {o: {servers: [{address: 127.0.0.1:$O}]}}
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
start haproxy $HH haproxy -db -f $W/haproxy.cfg
NAMES="tiergate-boringssl tiergate-jdk nginx haproxy"
for n in $NAMES; do
  for i in $(seq 1 150); do curl -kfs https://127.0.0.1:${PORT[$n]}/ >/dev/null 2>&1 && break; sleep 0.2; done
  curl -kfsS https://127.0.0.1:${PORT[$n]}/ >/dev/null || { echo "$n does not answer on ${PORT[$n]}:"; cat $W/$n.err; exit 3; }
done
for n in tiergate-boringssl tiergate-jdk; do
  echo "$n: $(grep -ho 'TLS engine: .*' $W/$n.out $W/$n.err | head -1)" >&2
done
echo "machine: $(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); $(java -version 2>&1 | head -1)" >&2
echo "$(nginx -v 2>&1), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(openssl version); s_time -time $SECS" >&2
# run NAME MODE(new|reuse) VERSION(tls1_3|tls1_2) -> "us_per_connection connections reused"
run() {
  local t0 t1 out n r a b c d
  t0=$(tree_times "${PID[$1]}")
  out=$(taskset -c 1 openssl s_time -connect 127.0.0.1:${PORT[$1]} -$2 -$3 -www / -time "$SECS" 2>&1 || true)
  t1=$(tree_times "${PID[$1]}")
  n=$(awk '/connections in .* real seconds/ {print $1}' <<<"$out" | tail -1)
  r=$(grep -E '^[*r]+$' <<<"$out" | tr -cd 'r' | wc -c || true)
  read -r a b <<<"$t0"; read -r c d <<<"$t1"
  awk -v t=$((c + d - a - b)) -v n="${n:-0}" -v hz="$CLK_TCK" -v r="$r" \
    'BEGIN { printf "%.0f %d %d\n", (n>0 ? t*1e6/hz/n : 0), n, r }'
}
# Warm-up: the JVMs compile the handshake paths of both engines and versions.
for n in $NAMES; do for v in tls1_3 tls1_2; do for m in new reuse; do
  if [[ $n == tiergate* ]]; then for _ in 1 2 3; do run $n $m $v >/dev/null; done; else run $n $m $v >/dev/null; fi
done; done; done
for r in $(seq 1 "$ROUNDS"); do
  for v in tls1_3 tls1_2; do for m in new reuse; do for n in $NAMES; do
    res=$(run $n $m $v); echo "$res" >> $W/res.$n.$v.$m
    set -- $res
    printf '  round %s %-6s %-5s %-20s %6s us/connection  %5s connections, %5s resumed\n' $r $v $m $n $1 $2 $3 >&2
  done; done; done
done
echo
echo "medians of $ROUNDS rounds: server CPU per connection (us), and how many of the connections were resumed"
printf '%-20s %16s %16s %16s %16s\n' server "TLS 1.3 full" "TLS 1.3 reuse" "TLS 1.2 full" "TLS 1.2 reuse"
for n in $NAMES; do
  line=$(printf '%-20s' $n)
  for v in tls1_3 tls1_2; do for m in new reuse; do
    f=$W/res.$n.$v.$m
    line+=$(printf ' %7s (%3s%%r)' "$(cut -d' ' -f1 $f | median)" \
      "$(awk '{c+=$2; r+=$3} END {printf "%.0f", (c>0 ? 100*r/c : 0)}' $f)")
  done; done
  echo "$line"
done
