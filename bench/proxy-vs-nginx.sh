#!/usr/bin/env bash
# Tiergate's L7 proxy vs Debian's nginx (2 workers, upstream keepalive, the same forwarding headers as Tiergate's
# defaults) in front of the same nginx origin (`return 200`), measured with wrk in one run. Installs nothing. Needs: nginx wrk taskset java, and the fat jar
# (mvn -B -o -pl deploy -am package -DskipTests).   apt-get install nginx-light wrk
# Usage: bench/proxy-vs-nginx.sh [duration=10s] [connections=64] [rounds=3]
# Rounds alternate tiergate/nginx so background noise hits both; the median of each is compared.
set -euo pipefail
DUR=${1:-10s}; CONNS=${2:-64}; ROUNDS=${3:-3}; JAVA=${JAVA:-java}   # JAVA=/path/to/bin/java: another JDK
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=$ROOT/deploy/target/tiergate.jar
for t in nginx wrk taskset java; do command -v $t >/dev/null || { echo "missing $t (apt-get install nginx-light wrk)"; exit 2; }; done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
# The proxy under test always gets CPU 0 alone; every other CPU goes to wrk and the origin (on 2 CPUs: both on CPU 1,
# which then limits what can be measured; 4+ CPUs give the load side room to show a proxy faster than nginx).
NCPU=$(nproc); PROXY_CPUS=0; LOADN=$((NCPU > 1 ? NCPU - 1 : 1))
LOAD_CPUS=$((NCPU > 1 ? 1 : 0)); [ "$NCPU" -gt 2 ] && LOAD_CPUS="1-$((NCPU - 1))"; ORIGIN_CPUS=$LOAD_CPUS
WRK_T=$((LOADN > 1 ? LOADN - 1 : 1)); ORIGIN_W=$((LOADN > WRK_T ? LOADN - WRK_T : 1))
W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; [ -f $W/o.pid ] && kill $(cat $W/o.pid) 2>/dev/null; [ -f $W/n.pid ] && kill $(cat $W/n.pid) 2>/dev/null; rm -rf $W' EXIT
O=18080; N=18081; T=18082; R=18083; RA=18084
cat > $W/origin.conf <<C
worker_processes $ORIGIN_W; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$O; keepalive_requests 100000; location / { return 200 "hello from origin\n"; } } }
C
cat > $W/nginx.conf <<C
worker_processes 2; pid $W/n.pid; error_log $W/n.err; daemon on;
events { worker_connections 4096; }
http { access_log off;
  upstream o { server 127.0.0.1:$O; keepalive 128; }
  server { listen 127.0.0.1:$N; location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection "";
    # The same header work Tiergate does by default (docs/proxy.md, forwarding): X-Forwarded-*, Forwarded, Via and
    # X-Request-Id to the upstream; Via and X-Request-Id on the response.
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Host \$host; proxy_set_header Forwarded "for=\$remote_addr;proto=\$scheme;host=\$host";
    proxy_set_header Via "1.1 nginx"; proxy_set_header X-Request-Id \$request_id;
    add_header Via "1.1 nginx"; add_header X-Request-Id \$request_id; } } }
C
cat > $W/tiergate.yaml <<C
proxy:
  access_log: {format: off}
  listeners: [{address: 127.0.0.1:$T}]
  upstreams: {o: {servers: [{address: 127.0.0.1:$O}]}}
  servers: [{default: true, locations: [{prefix: /, upstream: o}]}]
C
# The ceiling: Tiergate's L4 userspace dataplane is a byte relay on the same JVM and Netty transport that does no HTTP
# work at all. No HTTP proxy on this JVM can beat it, so its ratio to nginx bounds what the L7 ratio can reach here.
cat > $W/relay.yaml <<C
director:
  dataplane: userspace
  admin: 127.0.0.1:$RA
  services: {relay: {vip: 127.0.0.1:$R, protocol: tcp, scheduler: rr, method: nat, health: {type: none}, real_servers: [127.0.0.1:$O]}}
C
taskset -c $ORIGIN_CPUS nginx -c $W/origin.conf -p $W
taskset -c $PROXY_CPUS nginx -c $W/nginx.conf -p $W
taskset -c $PROXY_CPUS $JAVA -XX:+UseParallelGC -Xms512m -Xmx512m ${TIERGATE_JAVA_OPTS:-} -jar "$JAR" proxy -c $W/tiergate.yaml --watch-interval 0 2>$W/t.err &
taskset -c $PROXY_CPUS $JAVA -XX:+UseParallelGC -Xms512m -Xmx512m ${TIERGATE_JAVA_OPTS:-} -jar "$JAR" director -c $W/relay.yaml >$W/r.out 2>$W/r.err &
for p in $T $R; do for i in $(seq 1 100); do curl -fs http://127.0.0.1:$p/ >/dev/null 2>&1 && break; sleep 0.2; done; done
for p in $T $R; do taskset -c $LOAD_CPUS wrk -t$WRK_T -c$CONNS -d10s http://127.0.0.1:$p/ >/dev/null; done   # JVM warm-up (JIT), once
# busy jiffies and total jiffies of a CPU list like 0 or 1-3, from /proc/stat
jiffies() { local lo=${1%-*} hi=${1#*-}; awk -v lo="$lo" -v hi="$hi" '$1 ~ /^cpu[0-9]+$/ { n=substr($1,4)+0;
  if (n>=lo && n<=hi) { t=0; for (i=2;i<=NF;i++) t+=$i; b+=t-$5-$6; a+=t } } END { print b, a }' /proc/stat; }
busy() { # before after -> percent busy
  awk -v a="$1" -v b="$2" 'BEGIN { split(a,x," "); split(b,y," "); printf "%.0f", 100*(y[1]-x[1])/(y[2]-x[2]) }'; }
run() { # name port -> "rps p99 proxy_busy% load_busy%"
  taskset -c $LOAD_CPUS wrk -t$WRK_T -c$CONNS -d2s --latency http://127.0.0.1:$2/ >/dev/null   # warm-up (pools)
  local p0 l0 p1 l1 out; p0=$(jiffies $PROXY_CPUS); l0=$(jiffies $LOAD_CPUS)
  out=$(taskset -c $LOAD_CPUS wrk -t$WRK_T -c$CONNS -d$DUR --latency http://127.0.0.1:$2/)
  p1=$(jiffies $PROXY_CPUS); l1=$(jiffies $LOAD_CPUS)
  local rps p99 pb lb; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  pb=$(busy "$p0" "$p1"); lb=$(busy "$l0" "$l1")
  local errs; errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  printf '%-10s %10s req/s   p99 %8s   cpu busy: proxy %3s%%  load+origin %3s%%   %s\n' "$1" "$rps" "$p99" "$pb" "$lb" "$errs" >&2
  echo "$rps $p99 $pb $lb"
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "cpus: proxy=$PROXY_CPUS load+origin=$LOAD_CPUS  wrk -t$WRK_T -c$CONNS -d$DUR  rounds=$ROUNDS" >&2
: > $W/a; : > $W/b
: > $W/c
for r in $(seq 1 $ROUNDS); do run tiergate $T >> $W/a; run nginx $N >> $W/b; run l4-relay $R >> $W/c; done
A=$(cut -d' ' -f1 $W/a | median); B=$(cut -d' ' -f1 $W/b | median)
echo "median req/s: tiergate $A  nginx $B"
awk -v a="$A" -v b="$B" 'BEGIN { printf "ratio tiergate/nginx req/s: %.2f\n", a/b }'
# Requests per second of proxy-CPU time: the capacity per core, which is what the ratio means only while the proxy's
# core (not the load generator's) is the one that is full. When load+origin is ~100% busy, req/s is capped by it.
AE=$(awk '{print $1*100/($3>0?$3:1)}' $W/a | median); BE=$(awk '{print $1*100/($3>0?$3:1)}' $W/b | median)
echo "median req/s per busy proxy core: tiergate ${AE%.*}  nginx ${BE%.*}"
awk -v a="$AE" -v b="$BE" 'BEGIN { printf "ratio tiergate/nginx per proxy core: %.2f\n", a/b }'
C=$(cut -d' ' -f1 $W/c | median)
awk -v c="$C" -v b="$B" 'BEGIN { printf "ceiling: tiergate L4 relay (no HTTP work) %.0f req/s = %.2f x nginx\n", c, c/b }'
LB=$(awk '{print $4}' $W/b | median)
[ "${LB:-0}" -ge 95 ] && echo "note: load+origin CPU was ${LB}% busy during the nginx runs: nginx's req/s is capped by the load side on this machine" || true
