#!/usr/bin/env bash
# Bursts of new connections at a busy server: how long they wait in the kernel's accept queue, and whether any request
# waits over 2 s (wrk's timeout). Each run is `wrk -t1 -cN -d5s`, which opens its N connections at once while the
# server still has the previous run's traffic in its loop; the listening socket's accept queue (`ss -ltn`, Recv-Q) is
# read every 100 ms for the first 3 s of the run.
#
#   bench/accept-burst.sh [runs=5] [connections=1000]
#
# Contestants, one after the other (each on CPU 0 after a 10-s warm-up at N connections; wrk and the origin, nginx with
# 1 worker and an 18-byte `return 200`, on CPU 1): Tiergate's proxy as shipped (the first event loop accepts, up to 64
# connections per wake-up), the same with -Dtiergate.acceptor=thread (Vert.x's acceptor thread), nginx (1 worker,
# upstream keepalive). BASE_JAR=old.jar [BASE_JAVA_OPTS=...] adds an older build. Per run: timeouts, p99, the accept
# queue's peak and how long until it was empty ("-" when it never was within the 3 s). Summary per contestant.
# Needs: nginx wrk taskset java curl ss.
set -euo pipefail
RUNS=${1:-5}; C=${2:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=${JAR:-$ROOT/deploy/target/tiergate.jar}
for t in nginx wrk taskset java curl ss; do command -v $t >/dev/null || { echo "missing $t"; exit 2; }; done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
SHIPPED=$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
W=$(mktemp -d /tmp/accept-burst.XXXXXX); chmod 755 "$W"; SPID=
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  for f in "$W/o.pid" "$W/n.pid"; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT
O=19680; P=19681
cat > "$W/origin.conf" <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 8192; }
http { access_log off; server { listen 127.0.0.1:$O backlog=4096; keepalive_requests 1000000; keepalive_timeout 300s;
  location / { return 200 "hello from origin\n"; } } }
C
cat > "$W/nginx.conf" <<C
worker_processes 1; pid $W/n.pid; error_log $W/n.err; daemon on;
events { worker_connections 8192; }
http { access_log off; upstream o { server 127.0.0.1:$O; keepalive 1024; }
  server { listen 127.0.0.1:$P backlog=4096; keepalive_requests 1000000;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
cat > "$W/t.yaml" <<C
proxy:
  access_log: {format: off}
  admin: 127.0.0.1:0
  listeners: [{address: 127.0.0.1:$P}]
  upstreams: {o: {max_connections_per_server: 1024, servers: [{address: 127.0.0.1:$O}]}}
  servers: [{default: true, locations: [{prefix: /, upstream: o}]}]
C
taskset -c 1 nginx -c "$W/origin.conf" -p "$W"
CONTESTANTS=("tiergate|$JAR|$SHIPPED" "tiergate-thread|$JAR|$SHIPPED -Dtiergate.acceptor=thread" "nginx||")
if [ -n "${BASE_JAR:-}" ]; then CONTESTANTS+=("base|$BASE_JAR|${BASE_JAVA_OPTS:-$SHIPPED}"); fi
echo "machine: $(nproc) CPUs, $(uname -r); $(java -version 2>&1 | head -1); $(nginx -v 2>&1)"
echo "$RUNS runs of wrk -t1 -c$C -d5s per contestant, each opening $C connections at once; server on CPU 0"
for spec in "${CONTESTANTS[@]}"; do
  IFS='|' read -r name jar opts <<<"$spec"
  if [ "$name" = nginx ]; then
    taskset -c 0 nginx -c "$W/nginx.conf" -p "$W"; SPID=
  else
    # shellcheck disable=SC2086
    taskset -c 0 java $opts -jar "$jar" proxy -c "$W/t.yaml" --watch-interval 0 >"$W/$name.out" 2>&1 &
    SPID=$!
  fi
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$P/" && break; sleep 0.2; done
  curl -fs -o /dev/null "http://127.0.0.1:$P/" || { echo "$name did not start"; cat "$W/$name.out" 2>/dev/null; exit 1; }
  taskset -c 1 wrk -t1 -c"$C" -d10s "http://127.0.0.1:$P/" >/dev/null
  for r in $(seq "$RUNS"); do
    (for _ in $(seq 30); do ss -ltnH "sport = :$P" | awk '{printf "%s ", $2}'; sleep 0.1; done) > "$W/q" &
    QP=$!
    taskset -c 1 wrk -t1 -c"$C" -d5s --latency "http://127.0.0.1:$P/" > "$W/w"
    wait $QP
    to=$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$W/w"); to=${to:-0}
    p99=$(awk '/ 99%/ {print $2}' "$W/w")
    read -r peak empty < <(awk '{ m=0; e="-"; for (i=1;i<=NF;i++) { if ($i+0>m) m=$i+0; if (m>0 && $i==0 && e=="-") e=(i-1)*100 "ms" }
      print m, (m==0 ? "0ms" : e) }' "$W/q")
    printf "%-16s run %d  timeouts %5d  p99 %10s  accept queue peak %5d, empty after %s\n" "$name" "$r" "$to" "$p99" "$peak" "$empty"
  done | tee -a "$W/res"
  if [ "$name" = nginx ]; then kill "$(cat "$W/n.pid")"; rm -f "$W/n.pid"; else kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=; fi
  sleep 1
done
echo
echo "per contestant: runs with timeouts, timeouts in all, p99 range"
awk '{ n=$1; runs[n]++; if ($5>0) bad[n]++; t[n]+=$5; p=$7; v=p+0; if (p ~ /us$/) v/=1000; else if (p ~ /ms$/) v=v; else if (p ~ /s$/) v*=1000;
  if (!(n in lo) || v<lo[n]) lo[n]=v; if (v>hi[n]) hi[n]=v; order[n]=order[n] ? order[n] : ++k; names[k]=n }
  END { for (i=1;i<=k;i++) { n=names[i]; printf "%-16s %d of %d runs, %d timeouts, p99 %.0f-%.0f ms\n", n, bad[n]+0, runs[n], t[n], lo[n], hi[n] } }' "$W/res"
