#!/usr/bin/env bash
# Where a proxied request's heap allocations come from: bytes allocated per request in total and by allocation site
# (the allocated class and the frames that allocated it), for Tiergate's L7 proxy or for the bare Netty floor
# (bench/lib/NettyFloor.java), measured with async-profiler's allocation sampler over one wrk run. Allocation per
# request is a figure that does not move with the host's speed or its neighbours, unlike CPU time: a change that
# allocates less shows here at once, in one run.
#
#   bench/alloc-sites.sh [tiergate|floor] [connections=1000] [seconds=8] [sites=30] [frames=4]
#   EVENT=cpu bench/alloc-sites.sh [tiergate|floor] [connections=1000] [seconds=8] [methods=30]
#   CLOSE=1 (either event): every request sends "Connection: close", a new TCP connection per request.
#
# Same stage as bench/efficiency.sh: the server on CPU 0 with the JVM options ./tiergate ships, wrk (-t1) and an nginx
# origin (1 worker, an 18-byte `return 200`) on CPU 1, Tiergate's upstream at max_connections_per_server: 1024. The
# JVM warms up (10 s, then three 5-s runs with fresh connections) before the profiler is attached with
# `jcmd PID JVMTI.agent_load`; it samples every 16 KB allocated and reports the total bytes by site.
# JAR=/path/to/tiergate.jar measures another build.
# EVENT=cpu answers the other question, where a request's CPU time goes: async-profiler's CPU sampler (a sample per
# 1 ms of a thread's CPU) over the run, printed in microseconds per request by thread (event loop, JIT compilers, the
# collector's VM thread), the event loop's kernel and user time, its user time by owner (the nearest Tiergate, Vert.x
# or Netty frame above each sample: whose code ran, or called what ran) and the top methods by that count. A first
# profiling session is thrown away: attaching deoptimizes compiled code, and the JIT's recompiling is not the request's.
# The profiler (tools.profiler:async-profiler:4.1, linux-x64) is copied with mvn dependency:copy from the local Maven
# repository or Maven Central.
# Needs: nginx wrk taskset java jcmd curl mvn python3.
set -euo pipefail
WHO=${1:-tiergate}; C=${2:-1000}; SECS=${3:-8}; SITES=${4:-30}; FRAMES=${5:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=${JAR:-$ROOT/deploy/target/tiergate.jar}
case $WHO in tiergate|floor) ;; *) echo "first argument: tiergate or floor, not '$WHO'"; exit 2 ;; esac
WX=(); if [ -n "${CLOSE:-}" ]; then WX=(-H "Connection: close"); fi
for t in nginx wrk taskset java jcmd curl mvn python3; do
  command -v $t >/dev/null || { echo "missing $t"; exit 2; }
done
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
SHIPPED=$(sed -n 's/^jvm_defaults="\(.*\)"$/\1/p' "$ROOT/tiergate")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
W=$(mktemp -d /tmp/alloc-sites.XXXXXX); chmod 755 "$W"; SPID=
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  [ -f "$W/o.pid" ] && kill "$(cat "$W/o.pid")" 2>/dev/null || true
  sleep 0.3; [ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
(cd "$ROOT" && mvn -B -q dependency:copy -Dartifact=tools.profiler:async-profiler:4.1:jar:linux-x64 \
  -DoutputDirectory="$W" >/dev/null 2>&1) || { echo "could not fetch async-profiler 4.1 (linux-x64)"; exit 2; }
(cd "$W" && unzip -q -o async-profiler-4.1-linux-x64.jar linux-x64/libasyncProfiler.so)
AP=$W/linux-x64/libasyncProfiler.so
O=19580; P=19581
cat > "$W/origin.conf" <<C
worker_processes 1; pid $W/o.pid; error_log $W/o.err; daemon on;
events { worker_connections 8192; }
http { access_log off; server { listen 127.0.0.1:$O backlog=4096; keepalive_requests 1000000; keepalive_timeout 300s;
  location / { return 200 "hello from origin\n"; } } }
C
taskset -c 1 nginx -c "$W/origin.conf" -p "$W"
if [ "$WHO" = tiergate ]; then
  cat > "$W/t.yaml" <<C
proxy:
  access_log: {format: off}
  admin: 127.0.0.1:0
  listeners: [{address: 127.0.0.1:$P}]
  upstreams: {o: {servers: [{address: 127.0.0.1:$O}], max_connections_per_server: 1024}}
  servers: [{default: true, locations: [{prefix: /, upstream: o}]}]
C
  # shellcheck disable=SC2086
  taskset -c 0 java $SHIPPED -jar "$JAR" proxy -c "$W/t.yaml" --watch-interval 0 >"$W/server.out" 2>&1 &
else
  mkdir -p "$W/floor"
  javac -nowarn -cp "$JAR" -d "$W/floor" "$ROOT/bench/lib/NettyFloor.java" 2>&1 | grep -v '^Note:' >&2 || true
  # shellcheck disable=SC2086
  taskset -c 0 java $SHIPPED -cp "$JAR:$W/floor" NettyFloor $P $O 1 >"$W/server.out" 2>&1 &
fi
SPID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$P/" && break; sleep 0.2; done
curl -s -o /dev/null "http://127.0.0.1:$P/" || { echo "$WHO did not start:"; cat "$W/server.out"; exit 1; }
taskset -c 1 wrk -t1 -c"$C" -d10s "${WX[@]}" "http://127.0.0.1:$P/" >/dev/null
for _ in 1 2 3; do taskset -c 1 wrk -t1 -c"$C" -d5s "${WX[@]}" "http://127.0.0.1:$P/" >/dev/null; done
OPT=",total"; START="start,event=alloc,alloc=16k"
if [ "${EVENT:-alloc}" = cpu ]; then OPT=; START="start,event=cpu,interval=1ms,threads"; fi
profile() { # start|stop FILE. jcmd reads name=value words as its own options: the agent's string goes in quotes.
  local what=$START; [ "$1" = stop ] && what=stop
  jcmd "$SPID" JVMTI.agent_load "$AP" "\"$what,file=$2,collapsed$OPT\"" >"$W/jcmd.out"
  grep -q "return code: 0" "$W/jcmd.out" || { echo "async-profiler did not $1:"; cat "$W/jcmd.out"; exit 1; }
}
if [ "${EVENT:-alloc}" = cpu ]; then # attaching deoptimizes: a first session takes that, then the JIT settles
  profile start "$W/settle.txt"; taskset -c 1 wrk -t1 -c"$C" -d8s "${WX[@]}" "http://127.0.0.1:$P/" >/dev/null
  profile stop "$W/settle.txt"
fi
profile start "$W/sites.txt"
taskset -c 1 wrk -t1 -c"$C" -d"${SECS}s" "${WX[@]}" "http://127.0.0.1:$P/" >"$W/wrk.out"
profile stop "$W/sites.txt"
N=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$W/wrk.out")
echo "$WHO, $C connections, $N requests in ${SECS}s ($(sed -n 's/Requests\/sec: *//p' "$W/wrk.out") req/s); jar $JAR"
if [ "${EVENT:-alloc}" = cpu ]; then
  python3 - "$W/sites.txt" "$N" "$SITES" <<'PY'
import collections, re, sys
path, requests, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def us(samples):  # one sample per 1 ms of one thread's CPU time
    return samples * 1000.0 / requests
threads, split, owners, methods = (collections.Counter() for _ in range(4))
OWNERS = (('io/tiergate/', 'Tiergate'), ('io/vertx/', 'Vert.x'), ('io/netty/', 'Netty'))
for line in open(path):
    stack, _, value = line.rstrip().rpartition(' ')
    frames, n = stack.split(';'), int(value)
    name = re.sub(r'\d+', 'N', re.sub(r' tid=\d+', '', frames[0]).strip('[]'))
    loop = 'eventloop' in name or 'IoEventLoop' in name
    group = 'event loop' if loop else 'JIT compilers' if 'Compiler' in name else \
        'collector (VM Thread)' if name == 'VM Thread' else 'other: ' + name
    threads[group] += n
    if not loop:
        continue
    if frames[-1].endswith('_[k]'):
        split['kernel'] += n
        continue
    split['user'] += n
    owner = next((f for f in reversed(frames[1:]) if f.startswith(tuple(p for p, _ in OWNERS))), None)
    owners[next((o for p, o in OWNERS if owner and owner.startswith(p)), 'JVM, libc, other')] += n
    if owner:
        methods[owner] += n
print(f"CPU per request, us (a sample per 1 ms of CPU): {us(sum(threads.values())):.2f} in all threads")
for k, v in threads.most_common(6):
    print(f"  {us(v):6.2f}  {k}")
print("event loop: " + ', '.join(f"{k} {us(v):.2f}" for k, v in split.most_common()))
print("event loop user time by owner (the nearest Tiergate, Vert.x or Netty frame above each sample):")
for k, v in owners.most_common():
    print(f"  {us(v):6.2f}  {k}")
print(f"top {top} owner methods (their own code and what they call outside those three):")
for k, v in methods.most_common(top):
    print(f"  {us(v):6.3f}  {k}")
PY
  exit 0
fi
python3 - "$W/sites.txt" "$N" "$SITES" "$FRAMES" <<'PY'
import collections, sys
path, requests, top, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sites = collections.Counter()
for line in open(path):
    stack, _, value = line.rstrip().rpartition(' ')
    names = [f.split('/')[-1] for f in stack.split(';')]
    sites[' <- '.join(reversed(names[-frames:]))] += int(value)
total = sum(sites.values())
print(f"allocated: {total / requests:.0f} bytes per request (sampled every 16 KB; the top {top} sites below)")
for site, v in sites.most_common(top):
    print(f"{v / requests:7.0f} B  {site[:220]}")
PY
