#!/usr/bin/env bash
# CPU cost per request, beside req/s and p99, of Tiergate against the servers operators compare it with, in one run:
#   l7: Tiergate's L7 proxy vs nginx (1 worker, the same forwarding-header work) vs HAProxy (1 thread, mode http, the
#       same headers), all in front of the same nginx origin (a 18-byte `return 200`), keep-alive on both sides;
#   l4: Tiergate's L4 director, userspace dataplane (a TCP relay) vs HAProxy (1 thread, mode tcp), HTTP keep-alive
#       requests to the same origin through each.
# Every server is pinned to CPU 0; wrk and the origin share CPU 1. CPU per request = utime+stime of the server's whole
# process tree (all JVM threads; nginx master + worker) over the measured run / requests wrk completed in it, so a
# cheaper server shows up even when the load side (CPU 1), not the server, limits req/s; each line says when it did.
# Contestants alternate within every round; the summary takes the median of the rounds per figure.
# Needs: nginx haproxy wrk taskset java curl, and the fat jar (mvn -B -o -pl deploy -am package -DskipTests).
# The JVM runs with the options ./tiergate ships (TIERGATE_JAVA_OPTS overrides them, as for ./tiergate).
# Usage: bench/efficiency.sh [duration=10s] [rounds=3] [connections="64 1000"] [paths="l7 l4"]
#   JAR=/path/to/other/tiergate.jar measures another build; BASE_JAR=/path/to/older/tiergate.jar adds that build as
#   contestants base-l7 and base-l4 (before/after in one run), run with BASE_JAVA_OPTS (default: the same options);
#   BASE_JAR=$JAR with other BASE_JAVA_OPTS compares JVM settings.
#   FLOOR=1 adds netty-floor to l7: bench/lib/NettyFloor.java, a bare Netty proxy doing the same header work and
#   nothing else (same JVM options), to show what Netty on this JVM costs before any of Tiergate's features.
#   ACCESS_LOG=1 turns every server's access log on, to a file in the run's directory, one line per request as each
#   ships it: Tiergate's combined format (nginx's combined plus its own fields), nginx's combined (no buffer=, its
#   default: a write per request), HAProxy's httplog to its stdout (redirected to a file). The relay (l4) logs nothing.
#   TLS=1 puts TLS in front (l7 only, no floor): every server terminates TLS with the same ECDSA P-256 certificate,
#   without HTTP/2 (wrk speaks HTTP/1.1), and wrk connects with https://; TLS=handshake also sends
#   "Connection: close", so every request is a new connection and a full TLS handshake.
#   CLOSE=1 sends "Connection: close" without TLS: a new TCP connection per request (clients without keep-alive).
#   TG_LISTENER="key: value, ..." adds settings to the tiergate-l7 contestant's listener only (not base-l7's), e.g.
#   TG_LISTENER="h2c: false" with BASE_JAR=$JAR measures what accepting HTTP/2 in cleartext costs.
#   FLOOR=io_uring also adds uring-floor: the same floor on Netty's io_uring transport (its two jars, of the jar's Netty
#   version, copied by mvn dependency:copy from the local Maven repository or Maven Central), to show whether another
#   kernel interface moves the floor.
set -euo pipefail
DUR=${1:-10s}; ROUNDS=${2:-3}; CONNS=${3:-64 1000}; PATHS=${4:-l7 l4}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=${JAR:-$ROOT/deploy/target/tiergate.jar}
. "$ROOT/bench/lib/cost.sh"
for t in nginx haproxy wrk taskset java curl; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install nginx-light haproxy wrk)"; exit 2; }
done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
U=http; WX=(); TG_TLS=; NG_TLS=; HH_TLS=
if [ -n "${TLS:-}" ]; then
  [[ " $PATHS " == *" l4 "* || -n "${FLOOR:-}" ]] && { echo "TLS=$TLS measures l7 without a floor: paths \"l7\", no FLOOR"; exit 2; }
  U=https; [ "$TLS" = handshake ] && WX=(-H "Connection: close")
fi
if [ -n "${CLOSE:-}" ]; then WX=(-H "Connection: close"); fi
JOPTS=${TIERGATE_JAVA_OPTS-$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")}; BOPTS=${BASE_JAVA_OPTS-$JOPTS}
NCPU=$(nproc); SCPU=0; LCPU=$((NCPU > 1 ? 1 : 0))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
W=$(mktemp -d /tmp/efficiency.XXXXXX); PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in $W/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 0.5; [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
if [ -n "${TLS:-}" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $W/key.pem -out $W/cert.pem \
    -days 2 -subj /CN=localhost 2>/dev/null
  cat $W/cert.pem $W/key.pem > $W/haproxy.pem
  TG_TLS=", tls: {certificates: [{cert: $W/cert.pem, key: $W/key.pem}], http2: false}"
  NG_TLS=" ssl; ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem"; HH_TLS=" ssl crt $W/haproxy.pem"
fi
O=18280; TG=18281; NG=18282; HH=18283; RL=18284; HT=18285; RA=18286; BTG=18287; BRL=18288; BRA=18289; NF=18279; UF=18278
cat > $W/origin.conf <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 8192; }
http { access_log off; server { listen 127.0.0.1:$O backlog=4096; keepalive_requests 1000000; keepalive_timeout 300s;
  location / { return 200 "hello from origin\n"; } } }
C
cat > $W/nginx.conf <<C
worker_processes 1; pid $W/n.pid; error_log $W/n.err; daemon on; worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http { $([ -n "${ACCESS_LOG:-}" ] && echo "access_log $W/nginx-access.log combined;" || echo "access_log off;")
  # keepalive 1024: an idle upstream connection kept for every client connection of the 1,000-connection runs. With
  # 128, nginx opens and closes upstream connections beyond the 128 it keeps (a third more CPU per request at 1,000).
  upstream o { server 127.0.0.1:$O; keepalive 1024; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$NG backlog=4096$NG_TLS; keepalive_requests 1000000; keepalive_timeout 300s;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection "";
    # The header work Tiergate does by default (docs/proxy.md, forwarding): X-Forwarded-*, Forwarded, Via and
    # X-Request-Id to the upstream; Via and X-Request-Id on the response.
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Host \$host; proxy_set_header Forwarded "for=\$remote_addr;proto=\$scheme;host=\$host";
    proxy_set_header Via "1.1 nginx"; proxy_set_header X-Request-Id \$request_id;
    add_header Via "1.1 nginx"; add_header X-Request-Id \$request_id; } } }
C
cat > $W/haproxy-http.cfg <<C
global
  nbthread 1
  maxconn 8000
$([ -n "${ACCESS_LOG:-}" ] && printf '  log stdout format raw local0\n')
defaults
  mode http
$([ -n "${ACCESS_LOG:-}" ] && printf '  log global\n  option httplog\n')
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
frontend f
  bind 127.0.0.1:$HH$HH_TLS
  # the same header work as nginx's and Tiergate's
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header Forwarded "for=%[src];proto=http;host=%[req.hdr(host)]"
  http-request set-header Via "1.1 haproxy"
  unique-id-format %{+X}o%ci%cp%fp%Ts%rt%pid
  unique-id-header X-Request-Id
  http-response set-header Via "1.1 haproxy"
  http-response set-header X-Request-Id %[unique-id]
  default_backend o
backend o
  http-reuse always
  server o 127.0.0.1:$O
C
cat > $W/haproxy-tcp.cfg <<C
global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
listen t
  bind 127.0.0.1:$HT
  server o 127.0.0.1:$O
C
cat > $W/proxy.yaml <<C
proxy:
  access_log: $([ -n "${ACCESS_LOG:-}" ] && echo "{path: $W/tiergate-access.log, format: combined}" || echo "{format: off}")
  admin: 127.0.0.1:0   # ephemeral: two proxies (or another bench) must not clash on 9181
  listeners: [{address: 127.0.0.1:$TG$TG_TLS}]
  # 1024, as nginx's keepalive above: an upstream connection for every client connection of the 1,000-connection
  # runs (nginx and the floor open as many as they need). With the default 128 the rest wait for one in turn.
  upstreams: {o: {max_connections_per_server: 1024, servers: [{address: 127.0.0.1:$O}]}}
  servers: [{default: true, locations: [{prefix: /, upstream: o}]}]
C
relay_yaml() { # port admin-port
  cat <<C
director:
  dataplane: userspace
  admin: 127.0.0.1:$2
  services: {relay: {vip: 127.0.0.1:$1, protocol: tcp, scheduler: rr, method: nat, health: {type: none}, real_servers: [127.0.0.1:$O]}}
C
}
relay_yaml $RL $RA > $W/relay.yaml; relay_yaml $BRL $BRA > $W/base-relay.yaml
sed -e "s/127.0.0.1:$TG/127.0.0.1:$BTG/" -e "s/tiergate-access.log/base-access.log/" $W/proxy.yaml > $W/base-proxy.yaml
if [ -n "${TG_LISTENER:-}" ]; then sed -i "s/address: 127.0.0.1:$TG\([^}]*\)}/address: 127.0.0.1:$TG\1, $TG_LISTENER}/" $W/proxy.yaml; fi
taskset -c $LCPU nginx -c $W/origin.conf -p $W
declare -A PORT PID
start() { # name port command...: run on the server CPU, remember its pid
  local n=$1 p=$2; shift 2
  taskset -c $SCPU "$@" >$W/$n.out 2>$W/$n.err & PID[$n]=$!; PORT[$n]=$p; PIDS+=($!)
}
[[ " $PATHS " == *" l7 "* ]] && {
  start tiergate-l7 $TG java $JOPTS -jar "$JAR" proxy -c $W/proxy.yaml --watch-interval 0
  taskset -c $SCPU nginx -c $W/nginx.conf -p $W; PID[nginx]=$(cat $W/n.pid); PORT[nginx]=$NG
  start haproxy-http $HH haproxy -db -f $W/haproxy-http.cfg
  if [ -n "${BASE_JAR:-}" ]; then start base-l7 $BTG java $BOPTS -jar "$BASE_JAR" proxy -c $W/base-proxy.yaml --watch-interval 0; fi
  if [ -n "${FLOOR:-}" ]; then
    javac -nowarn -cp "$JAR" -d $W/floor "$ROOT/bench/lib/NettyFloor.java" 2>&1 | grep -v '^Note:' >&2 || true
    start netty-floor $NF java $JOPTS -cp "$JAR:$W/floor" NettyFloor $NF $O 1
    if [ "$FLOOR" = io_uring ]; then
      NV=$(unzip -p "$JAR" META-INF/io.netty.versions.properties | sed -n 's/^netty-common.version=//p' | tr -d '\r')
      for a in netty-transport-classes-io_uring:$NV netty-transport-native-io_uring:$NV:jar:linux-x86_64; do
        (cd "$ROOT" && mvn -B -q dependency:copy -Dartifact=io.netty:$a -DoutputDirectory=$W/uring) >&2 \
          || { echo "cannot get io.netty:$a (Maven Central or the local Maven repository)"; exit 2; }
      done
      UCP=$(printf ':%s' $W/uring/*.jar)
      start uring-floor $UF java $JOPTS -cp "$JAR:$W/floor$UCP" NettyFloor $UF $O 1 io_uring
    fi
  fi
}
[[ " $PATHS " == *" l4 "* ]] && {
  start tiergate-l4 $RL java $JOPTS -jar "$JAR" director -c $W/relay.yaml
  start haproxy-tcp $HT haproxy -db -f $W/haproxy-tcp.cfg
  if [ -n "${BASE_JAR:-}" ]; then start base-l4 $BRL java $BOPTS -jar "$BASE_JAR" director -c $W/base-relay.yaml; fi
}
for n in "${!PORT[@]}"; do
  for i in $(seq 1 150); do curl -kfs $U://127.0.0.1:${PORT[$n]}/ >/dev/null 2>&1 && break; sleep 0.2; done
  curl -kfsS $U://127.0.0.1:${PORT[$n]}/ >/dev/null || { echo "$n does not answer on ${PORT[$n]}:"; cat $W/$n.err 2>/dev/null; exit 3; }
done
declare -A CONTESTANTS=([l7]="tiergate-l7 nginx haproxy-http" [l4]="tiergate-l4 haproxy-tcp")
if [ -n "${BASE_JAR:-}" ]; then CONTESTANTS=([l7]="base-l7 tiergate-l7 nginx haproxy-http" [l4]="base-l4 tiergate-l4 haproxy-tcp"); fi
declare -A ANCHORS=([l7]="nginx haproxy-http" [l4]="haproxy-tcp")
if [ -n "${FLOOR:-}" ]; then CONTESTANTS[l7]+=" netty-floor"; ANCHORS[l7]+=" netty-floor"; fi
if [ "${FLOOR:-}" = io_uring ]; then CONTESTANTS[l7]+=" uring-floor"; ANCHORS[l7]+=" uring-floor"; fi
echo "machine: $NCPU x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r); $(java -version 2>&1 | head -1)" >&2
echo "$(nginx -v 2>&1), $(haproxy -v | head -1 | cut -d' ' -f1-3), wrk -t1 -d$DUR; servers on CPU $SCPU, wrk + origin on CPU $LCPU" >&2
echo "tiergate: $JAR ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)), JVM options: ${JOPTS:-(none)}" >&2
for n in tiergate-l7 tiergate-l4 base-l7 base-l4; do # what each JVM logged at start: epoll, or NIO and why
  t=$(cat $W/$n.out $W/$n.err 2>/dev/null | grep -o 'I/O transport: .*' | head -1 || true)
  if [ -n "$t" ]; then echo "$n: $t" >&2; fi
done
if [ -n "${BASE_JAR:-}" ]; then echo "base: $BASE_JAR, JVM options: ${BOPTS:-(none)}" >&2; fi
if [ -n "${TLS:-}" ]; then echo "TLS in front: ECDSA P-256, HTTP/1.1$([ "$TLS" = handshake ] && echo ", a new connection (full handshake) per request")" >&2; fi
if [ -n "${ACCESS_LOG:-}" ]; then echo "access logs on: a line per request to a file (nginx combined, Tiergate combined, HAProxy httplog)" >&2; fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# Warm-up, once; then 2 s before each measured run at its connection count. A JVM gets 10 s, then three 5-s runs at
# each connection count of the bench, each with fresh connections: its JIT compiles the paths of a connection's
# start and end only when they are hot, and after the 10 s alone the compiler thread still took 0.2-0.65 us of
# every request of the first measured runs (per-thread utime+stime from /proc/PID/task), a cost of starting up
# that nginx and HAProxy do not have and a proxy that runs for days does not pay.
for n in "${!PORT[@]}"; do
  if [[ $n == tiergate* || $n == base* || $n == *-floor ]]; then
    taskset -c $LCPU wrk -t1 -c64 -d10s "${WX[@]}" $U://127.0.0.1:${PORT[$n]}/ >/dev/null
    for c in $CONNS; do for _ in 1 2 3; do
      taskset -c $LCPU wrk -t1 -c$c -d5s "${WX[@]}" $U://127.0.0.1:${PORT[$n]}/ >/dev/null
    done; done
  else
    taskset -c $LCPU wrk -t1 -c64 -d2s "${WX[@]}" $U://127.0.0.1:${PORT[$n]}/ >/dev/null
  fi
done
for c in $CONNS; do
  for r in $(seq 1 $ROUNDS); do
    for p in $PATHS; do
      echo "$p, $c connections, round $r" >&2
      for n in ${CONTESTANTS[$p]}; do
        taskset -c $LCPU wrk -t1 -c$c -d2s "${WX[@]}" $U://127.0.0.1:${PORT[$n]}/ >/dev/null
        measure "$n" $U://127.0.0.1:${PORT[$n]}/ "${PID[$n]}" $LCPU $SCPU -t1 -c$c -d$DUR "${WX[@]}" >> $W/res.$p.$c.$n
      done
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ -n "${ACCESS_LOG:-}" ]; then # every request of every run (warm-ups included) is a line: show that they were written
  for f in tiergate-access.log base-access.log nginx-access.log haproxy-http.out; do
    [ -f $W/$f ] && echo "access log $f: $(wc -l < $W/$f) lines, e.g. $(tail -1 $W/$f | cut -c1-150)" >&2
  done
fi
col() { cut -d' ' -f$1 "$2" | median; }
echo
echo "medians of $ROUNDS rounds (CPU/req = server process tree utime+stime / requests; ratio = anchor CPU/req / Tiergate CPU/req)"
printf '%-4s %6s  %-14s %9s %9s %9s %12s\n' path conns server "req/s" "p99 ms" "us/req" "load-limited"
for p in $PATHS; do for c in $CONNS; do
  tg=$(col 3 $W/res.$p.$c.tiergate-$p)
  for n in ${CONTESTANTS[$p]}; do
    f=$W/res.$p.$c.$n
    printf '%-4s %6s  %-14s %9.0f %9s %9s %9s/%s\n' $p $c $n "$(col 1 $f)" "$(col 2 $f)" "$(col 3 $f)" \
      "$(awk '$5>=95' $f | wc -l)" "$(wc -l <$f)"
  done
  for a in ${ANCHORS[$p]} $([ -n "${BASE_JAR:-}" ] && echo base-$p); do
    awk -v a="$(col 3 $W/res.$p.$c.$a)" -v t="$tg" -v n=$a -v p=$p -v c=$c \
      'BEGIN { printf "%-4s %6s  ratio %s cost / tiergate cost: %.2fx\n", p, c, n, a/t }'
  done
done; done
