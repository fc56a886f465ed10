#!/usr/bin/env bash
# Memory per idle keep-alive client connection: Tiergate's L7 proxy (with the JVM options ./tiergate ships) vs nginx
# (1 worker), each in front of the same nginx origin. A Python client opens N connections, gets one response on each
# and then holds them all idle; the server's resident memory (VmRSS of its whole process tree, from /proc) is read
# before and after, and for Tiergate the heap in use (jcmd GC.heap_info) and the top of the class histogram too.
# "After" is read once a second for SETTLE seconds (default 15) once all connections are held: the figure is the last
# reading, the peak is printed beside it. A JVM settles after a burst: its compilers' scratch memory goes back to
# malloc on a 5 s cleaner and to the kernel on the next native trim (-XX:TrimNativeHeapInterval), ~15 MB here, so a
# single reading taken a few seconds in lands before or after that at random.
# Needs: nginx java jcmd python3 curl, and the fat jar (mvn -B -o -pl deploy -am package -DskipTests).
# Usage: bench/idle-memory.sh [connections=10000]   TIERGATE_JAVA_OPTS overrides the JVM options, JAR the jar,
#   SKIP_NGINX=1 measures Tiergate only, SETTLE=seconds the settle window.
set -euo pipefail
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=${JAR:-$ROOT/deploy/target/tiergate.jar}
. "$ROOT/bench/lib/cost.sh"
for t in nginx java jcmd python3 curl; do command -v $t >/dev/null || { echo "missing $t"; exit 2; }; done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
JOPTS=${TIERGATE_JAVA_OPTS-$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((N + 200)) ] || { echo "open files limit $(ulimit -n) is below $N connections + 200"; exit 2; }
W=$(mktemp -d /tmp/idle-memory.XXXXXX); PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in $W/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 0.5; [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
O=18380; TG=18381; NG=18382
cat > $W/origin.conf <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$O; location / { return 200 "hello from origin\n"; } } }
C
cat > $W/nginx.conf <<C
worker_processes 1; pid $W/n.pid; error_log $W/n.err; daemon on; worker_rlimit_nofile $(ulimit -n);
events { worker_connections $((N + 1000)); }
http { access_log off; upstream o { server 127.0.0.1:$O; keepalive 128; }
  server { listen 127.0.0.1:$NG backlog=4096; keepalive_timeout 600s; keepalive_requests 1000000;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
cat > $W/proxy.yaml <<C
proxy:
  access_log: {format: off}
  admin: 127.0.0.1:0   # ephemeral: two proxies (or another bench) must not clash on 9181
  timeouts: {keepalive: 600s}
  listeners: [{address: 127.0.0.1:$TG}]
  upstreams: {o: {servers: [{address: 127.0.0.1:$O}]}}
  servers: [{default: true, locations: [{prefix: /, upstream: o}]}]
C
rss_kb() { # pid -> VmRSS summed over the process tree, KiB
  local t=0 p v; for p in $(tree_pids "$1"); do v=$(awk '/^VmRSS:/ {print $2}' /proc/$p/status 2>/dev/null); t=$((t + ${v:-0})); done; echo $t
}
heap() { # pid -> "used committed" KiB of the Java heap (all generations or regions)
  jcmd "$1" GC.heap_info 2>/dev/null | awk '/total [0-9]+K, used [0-9]+K/ { for (i=1;i<=NF;i++) {
    if ($i=="used") { v=$(i+1); sub("K,?","",v); u+=v } if ($i=="total") { v=$(i+1); sub("K,?","",v); c+=v } } }
    END { print u+0, c+0 }'
}
nginx -c $W/origin.conf -p $W
measure_idle() { # name port pid
  local name=$1 port=$2 pid=$3
  for i in $(seq 1 150); do curl -fs http://127.0.0.1:$port/ >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS http://127.0.0.1:$port/ >/dev/null || { echo "$name does not answer on $port:"; tail -5 $W/t.err; exit 3; }
  for i in $(seq 1 200); do curl -fs http://127.0.0.1:$port/ >/dev/null; done; sleep 2
  local r0 h0= r1 h1=; r0=$(rss_kb $pid); [[ $name == tiergate ]] && h0=$(heap $pid)
  python3 "$ROOT/bench/lib/hold-idle.py" 127.0.0.1 $port $N > $W/hold.$name & local holder=$!; PIDS+=($holder)
  for i in $(seq 1 600); do grep -qE 'ready|failed' $W/hold.$name 2>/dev/null && break; sleep 0.2; done
  grep -q ready $W/hold.$name || { echo "$name: $(cat $W/hold.$name)"; exit 3; }
  local peak=0 first= s
  for s in $(seq 1 "${SETTLE:-15}"); do
    sleep 1; r1=$(rss_kb $pid); [ -n "$first" ] || first=$r1; [ "$r1" -le "$peak" ] || peak=$r1
  done
  if [[ $name == tiergate ]]; then
    h1=$(heap $pid)
    jcmd $pid GC.class_histogram > $W/histo.txt 2>/dev/null || true
  fi
  printf '%-9s %5d idle connections: RSS %6.1f MB -> %6.1f MB after %ss (1 s in %.1f, peak %.1f)   %5.2f KB per connection' \
    $name $N "$(awk -v v=$r0 'BEGIN{print v/1024}')" "$(awk -v v=$r1 'BEGIN{print v/1024}')" "${SETTLE:-15}" \
    "$(awk -v v=$first 'BEGIN{print v/1024}')" "$(awk -v v=$peak 'BEGIN{print v/1024}')" \
    "$(awk -v a=$r0 -v b=$r1 -v n=$N 'BEGIN{print (b-a)/n}')"
  [[ $name == tiergate ]] && awk -v a="$h0" -v b="$h1" 'BEGIN { split(a,x," "); split(b,y," ");
    printf "   heap in use %.1f MB -> %.1f MB (committed %.1f -> %.1f MB)", x[1]/1024, y[1]/1024, x[2]/1024, y[2]/1024 }'
  echo
  kill $holder; wait $holder 2>/dev/null || true
}
echo "$(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tiergate: $JAR ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)), JVM options: ${JOPTS:-(none)}"
# Started as systemd or Docker start it: a background job of this script would inherit SIGINT ignored, and the proxy
# would then load its libc binding to un-ignore it (~300 classes a service never loads). exec keeps the PID.
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  java $JOPTS -jar "$JAR" proxy -c $W/proxy.yaml --watch-interval 0 >$W/t.out 2>$W/t.err & TGPID=$!; PIDS+=($TGPID)
measure_idle tiergate $TG $TGPID
echo "tiergate, largest classes on the heap with $N idle connections (jcmd GC.class_histogram):"
sed -n '4,18p' $W/histo.txt
kill $TGPID; wait $TGPID 2>/dev/null || true; [ -z "${SKIP_NGINX:-}" ] || exit 0
nginx -c $W/nginx.conf -p $W
measure_idle nginx $NG "$(cat $W/n.pid)"
