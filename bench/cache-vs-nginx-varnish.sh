#!/usr/bin/env bash
# Cache hits: Tiergate's proxy cache vs nginx proxy_cache (1 worker) vs Varnish 7.1, all in front of the same nginx
# origin serving one 1 KiB object with Cache-Control: max-age=3600, measured with wrk in one run on this machine.
# Beside req/s and p99, each server's CPU time per hit: utime+stime of its whole process tree (every JVM thread; nginx
# master + worker; varnishd manager + child) over the run / requests (bench/lib/cost.sh), so the figure holds even
# when wrk's CPU, not the server's, limits req/s (each line says when it did).
# Each cache is warmed and checked to answer from cache before it is measured.
# Debian packages: nginx-light (or nginx), varnish, wrk (+ util-linux for taskset, curl, a JDK 17+).
#   apt-get install nginx-light varnish wrk
# The fat jar: mvn -B -o -pl deploy -am package -DskipTests
# Usage: bench/cache-vs-nginx-varnish.sh [duration=10s] [connections=64] [threads=2] [rounds=3]
#   The three are measured in turn, `rounds` times (interleaved, so a burst of load from other processes hits them
#   alike); each round's numbers are printed, and the median round per target is used for the ratios.
#   TG_JFR=1 also records a JFR profile of Tiergate's run (path printed at the end).
set -euo pipefail
DUR=${1:-10s}; CONNS=${2:-64}; THREADS=${3:-2}; ROUNDS=${4:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=${JAR:-$ROOT/deploy/target/tiergate.jar}
. "$ROOT/bench/lib/cost.sh"
JOPTS=${TIERGATE_JAVA_OPTS-$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")}   # the shipped JVM settings
for t in nginx varnishd wrk taskset java curl; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install nginx-light varnish wrk)"; exit 2; }
done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
NCPU=$(nproc); SERVER_CPUS=0; LOAD_CPUS=$((NCPU > 1 ? 1 : 0))
W=$(mktemp -d /tmp/cache-bench.XXXXXX); chmod 755 $W
TG_PID=; VARNISH_PID=
cleanup() {
  [ -n "$TG_PID" ] && kill $TG_PID 2>/dev/null || true
  [ -n "$VARNISH_PID" ] && kill $VARNISH_PID 2>/dev/null || true
  for p in o n; do [ -f $W/$p.pid ] && kill $(cat $W/$p.pid) 2>/dev/null || true; done
  sleep 0.5; [ -n "${KEEP:-}" ] || rm -rf $W
}
trap cleanup EXIT
O=18180; N=18181; V=18182; T=18183
BODY=$(head -c 1024 /dev/zero | tr '\0' 'x')
cat > $W/origin.conf <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 4096; }
http { access_log off; default_type text/plain;
  server { listen 127.0.0.1:$O; keepalive_requests 100000;
    location / { add_header Cache-Control "max-age=3600"; return 200 "$BODY"; } } }
C
cat > $W/nginx.conf <<C
worker_processes 1; pid $W/n.pid; error_log $W/n.err; daemon on;
events { worker_connections 4096; }
http { access_log off;
  proxy_cache_path $W/nginx-cache levels=1:2 keys_zone=c:10m max_size=64m inactive=1h use_temp_path=off;
  upstream o { server 127.0.0.1:$O; keepalive 128; }
  server { listen 127.0.0.1:$N; keepalive_requests 100000;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache c; add_header X-Cache \$upstream_cache_status; } } }
C
cat > $W/default.vcl <<C
vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "$O"; }
C
cat > $W/tiergate.yaml <<C
proxy:
  access_log: {format: off}
  admin: 127.0.0.1:0   # ephemeral: two proxies (or another bench) must not clash on 9181
  listeners: [{address: 127.0.0.1:$T}]
  upstreams: {o: {servers: [{address: 127.0.0.1:$O}]}}
  cache: {max_size: 64m}
  servers: [{default: true, locations: [{prefix: /, upstream: o, cache: on}]}]
C
JFR_OPT=; [ -n "${TG_JFR:-}" ] && JFR_OPT="-XX:StartFlightRecording=filename=$W/tiergate.jfr,settings=profile,delay=8s,duration=${DUR}"
taskset -c $LOAD_CPUS nginx -c $W/origin.conf -p $W
taskset -c $SERVER_CPUS nginx -c $W/nginx.conf -p $W
taskset -c $SERVER_CPUS varnishd -F -a 127.0.0.1:$V -f $W/default.vcl -n $W/varnish -s malloc,64m \
  -p thread_pool_min=50 >$W/v.out 2>&1 & VARNISH_PID=$!
taskset -c $SERVER_CPUS java $JOPTS $JFR_OPT -jar "$JAR" proxy -c $W/tiergate.yaml \
  --watch-interval 0 >$W/t.out 2>$W/t.err & TG_PID=$!
for port in $T $V; do
  for i in $(seq 1 150); do curl -fs http://127.0.0.1:$port/obj >/dev/null 2>&1 && break; sleep 0.2; done
done
check() { # name port header-regex: the object must come from the cache
  local h; h=$(curl -fsS -D - -o /dev/null http://127.0.0.1:$2/obj)
  grep -Eiq "$3" <<<"$h" || { echo "$1 does not answer /obj from its cache:"; echo "$h"; exit 3; }
}
for p in $T $N $V; do curl -fs http://127.0.0.1:$p/obj >/dev/null; curl -fs http://127.0.0.1:$p/obj >/dev/null; done
check tiergate $T '^Cache-Status: .*hit'; check nginx $N '^X-Cache: HIT'; check varnish $V '^Age: '
WARM=
run() { # name port pid -> "rps p99_ms us_per_hit ..." (bench/lib/cost.sh measure); prints the round's line
  # once before the first round: pools and caches, and for the JVM 10 s of JIT compilation (as bench/efficiency.sh)
  [ -n "$WARM" ] || taskset -c $LOAD_CPUS wrk -t$THREADS -c$CONNS -d$([ "$1" = tiergate ] && echo 10 || echo 3)s \
    http://127.0.0.1:$2/obj >/dev/null
  measure "$1" http://127.0.0.1:$2/obj "$3" $LOAD_CPUS $SERVER_CPUS -t$THREADS -c$CONNS -d$DUR
}
echo "cache hits, 1 KiB object; servers on cpu $SERVER_CPUS, wrk+origin on cpu $LOAD_CPUS; wrk -t$THREADS -c$CONNS -d$DUR; $ROUNDS rounds" >&2
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: > $W/a; : > $W/b; : > $W/c
for r in $(seq 1 $ROUNDS); do
  echo "round $r" >&2
  run tiergate $T $TG_PID >> $W/a; run nginx $N "$(cat $W/n.pid)" >> $W/b; run varnish $V $VARNISH_PID >> $W/c; WARM=1
done
A=$(cut -d' ' -f1 $W/a | median); B=$(cut -d' ' -f1 $W/b | median); C=$(cut -d' ' -f1 $W/c | median)
AU=$(cut -d' ' -f3 $W/a | median); BU=$(cut -d' ' -f3 $W/b | median); CU=$(cut -d' ' -f3 $W/c | median)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "median req/s: tiergate $A   nginx $B   varnish $C" >&2
awk -v a="$A" -v b="$B" -v c="$C" 'BEGIN { f = b > c ? b : c; who = b > c ? "nginx" : "varnish";
  printf "tiergate/nginx %.2f   tiergate/varnish %.2f   tiergate vs the faster peer (%s): %.2fx\n", a/b, a/c, who, a/f }'
echo "median CPU per hit: tiergate $AU us   nginx $BU us   varnish $CU us" >&2
awk -v a="$AU" -v b="$BU" -v c="$CU" 'BEGIN { printf "CPU per hit, tiergate / nginx: %.2f   tiergate / varnish: %.2f   (nginx cost / tiergate cost: %.2fx)\n", a/b, a/c, b/a }'
if [ -n "${TG_JFR:-}" ]; then sleep 1; KEEP=1; echo "JFR: $W/tiergate.jfr"; fi
