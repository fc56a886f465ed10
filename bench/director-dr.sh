#!/usr/bin/env bash
# Requests per second through the nft DR VIP of a running `tiergate director` vs straight to one real server, in the
# same run. Everything lives in network namespaces this script creates and removes (client, director, two real
# servers running nginx, and a bridge namespace); nothing on the host is touched. Root only.
#
#   sudo bench/director-dr.sh [SECONDS]        (default 10 per measurement)
#
# FLOW_TABLE=off: the stateless path only (no pin per SYN), to see what the flow table costs.
# Needs: ip, nft, libnftables1, nginx, wrk, ab, java; deploy/target/tiergate.jar (mvn -pl deploy -am package).
set -euo pipefail
secs=${1:-10}
cd "$(dirname "$0")/.."
jar=deploy/target/tiergate.jar
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces, nft)"; exit 2; }
for t in ip nft nginx wrk ab java; do command -v $t >/dev/null || { echo "missing: $t"; exit 2; }; done
[[ -f $jar ]] || { echo "missing $jar: mvn -q -B -pl deploy -am package -DskipTests"; exit 2; }

P=tgb$$
SW=${P}sw CL=${P}c DIR=${P}d R1=${P}r1 R2=${P}r2
VIP=10.79.0.100
work=$(mktemp -d /tmp/director-dr.XXXXXX)
chmod 755 "$work"   # nginx workers (www-data) read the pages
dpid=
cleanup() {
  set +e
  [[ -n $dpid ]] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  for ns in $R1 $R2; do [[ -f $work/$ns.pid ]] && kill "$(cat "$work/$ns.pid")" 2>/dev/null; done
  sleep 0.3
  for ns in $CL $DIR $R1 $R2 $SW; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add $SW
ip -n $SW link add br0 type bridge; ip -n $SW link set br0 up
i=0
for ns in $CL $DIR $R1 $R2; do
  ip netns add $ns
  ip -n $SW link add ${ns}0 type veth peer name eth0 netns $ns
  ip -n $SW link set ${ns}0 master br0 up
  ip -n $ns link set lo up; ip -n $ns link set eth0 up
done
ip -n $CL addr add 10.80.0.2/24 dev eth0; ip -n $CL route add 10.79.0.0/24 dev eth0
ip -n $DIR addr add 10.79.0.3/24 dev eth0; ip -n $DIR addr add $VIP/32 dev eth0; ip -n $DIR route add 10.80.0.0/24 dev eth0
n=10
for ns in $R1 $R2; do
  n=$((n + 1))
  ip -n $ns addr add 10.79.0.$n/24 dev eth0; ip -n $ns addr add $VIP/32 dev lo
  ip netns exec $ns sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
  ip -n $ns route add 10.80.0.0/24 dev eth0
  mkdir -p "$work/$ns"
  echo "$ns" > "$work/$ns/index.html"
  cat > "$work/$ns/nginx.conf" <<NGX
worker_processes 1;
pid $work/$ns.pid;
error_log $work/$ns/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 80 reuseport backlog=4096; root $work/$ns; }
}
NGX
  ip netns exec $ns nginx -c "$work/$ns/nginx.conf"
done

cat > "$work/director.yaml" <<YAML
director:
  dataplane: nft
  interface: eth0
  admin: off
${FLOW_TABLE:+  flow_table: $FLOW_TABLE}
  services:
    web:
      vip: $VIP:80
      scheduler: mh
      method: dr
      health: {type: tcp, interval: 1s, timeout: 500ms}
      real_servers: [10.79.0.11:80, 10.79.0.12:80]
YAML
ip netns exec $DIR java -jar "$jar" director -c "$work/director.yaml" > "$work/director.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do
  grep -q 'director running' "$work/director.log" && break
  sleep 0.2
done
grep -q 'director running' "$work/director.log" || { cat "$work/director.log"; exit 1; }
ip netns exec $CL curl -sf --max-time 2 http://$VIP/ >/dev/null || { echo "VIP does not answer"; exit 1; }

# Cost, not only throughput: every packet's softirq work runs on the CPU of whoever sent it (veth hands packets to
# the sending CPU's backlog), so on a shared box the director's nft work competes with ab/wrk and nginx and req/s moves
# with that contention. Each measurement therefore also reads the whole machine's busy CPU time (all CPUs, /proc/stat:
# user+nice+system+irq+softirq+steal) over the run ÷ requests: the VIP run's figure minus the direct run's is what the
# director path adds per request (its nft chain, the fwd, one more bridge hop), wherever the kernel ran it.
# SPLIT=1 models a director on a box of its own instead: client and both nginx pinned to CPU 1, RPS on the director's
# eth0 moves its receive path (and what it forwards in the same softirq) to CPU 0.
SPLIT=${SPLIT:-0}
PIN=""
if [[ $SPLIT == 1 ]]; then
  PIN="taskset -c 1"
  ip netns exec $DIR sh -c 'echo 1 > /sys/class/net/eth0/queues/rx-0/rps_cpus'
  for ns in $R1 $R2; do [[ -f $work/$ns.pid ]] && taskset -a -cp 1 "$(cat "$work/$ns.pid")" >/dev/null
    pgrep -P "$(cat "$work/$ns.pid")" | xargs -r -n1 taskset -a -cp 1 >/dev/null; done
  taskset -a -cp 0 "$dpid" >/dev/null
fi
busy() { awk '$1=="cpu" {print $2+$3+$4+$7+$8+$9}' /proc/stat; }   # jiffies (USER_HZ), all CPUs
measure() { # url tool -> "req/s requests busy-jiffies"
  local out s0 s1
  s0=$(busy)
  if [[ $2 == wrk ]]; then
    out=$(ip netns exec $CL $PIN wrk -t2 -c64 -d${secs}s "$1")
    s1=$(busy)
    awk -v j=$((s1 - s0)) '/Requests\/sec/ {r=$2} /requests in/ {n=$1} END {print r, n, j}' <<<"$out"
  else
    out=$(ip netns exec $CL $PIN ab -q -n 1000000 -t "$secs" -c 32 "$1" 2>/dev/null)
    s1=$(busy)
    awk -v j=$((s1 - s0)) '/Requests per second/ {r=$4} /Complete requests/ {n=$3} END {print r, n, j}' <<<"$out"
  fi
}
hz=$(getconf CLK_TCK)
echo "# $(date -u +%FT%TZ) $(uname -r), ${secs}s each, client/director/real servers in namespaces on one bridge," \
  "SPLIT=$SPLIT, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The floor for any director in this topology: the same extra hop without Tiergate. The client reaches rs2 through
# the director's namespace as a plain IP router (kernel forwarding, no nft rule matches), so the packet crosses the
# same veths and bridge as a DR packet does; rs2 answers the client directly, as in DR. "via VIP ÷ via router" is
# then what Tiergate's nft path costs on top of the hop itself.
ip netns exec $DIR sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
ip netns exec $CL sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0
ip -n $CL route add 10.79.0.12/32 via 10.79.0.3 dev eth0
ROUNDS=${ROUNDS:-3}
for tool in wrk ab; do
  for r in $(seq "$ROUNDS"); do
    read -r d dn dj <<<"$(measure http://10.79.0.11/ $tool)"
    read -r v vn vj <<<"$(measure http://$VIP/ $tool)"
    read -r d2 dn2 dj2 <<<"$(measure http://10.79.0.11/ $tool)"
    read -r h hn hj <<<"$(measure http://10.79.0.12/ $tool)"
    awk -v t=$tool -v d="$d" -v v="$v" -v d2="$d2" -v dn="$dn" -v dn2="$dn2" -v vn="$vn" -v dj="$dj" -v dj2="$dj2" \
        -v h="$h" -v hn="$hn" -v hj="$hj" \
        -v vj="$vj" -v hz="$hz" 'BEGIN {
      m = (d + d2) / 2; dc = (dj + dj2) / hz * 1e6 / (dn + dn2); vc = vj / hz * 1e6 / vn
      hc = hj / hz * 1e6 / hn
      printf "%-3s  direct %8.0f / %8.0f req/s   via DR VIP %8.0f req/s   ratio %.2f   via a plain router hop %8.0f req/s   router-ratio %.2f   VIP/router %.2f   machine CPU per request: direct %.1f us, via VIP %.1f us (director path adds %.1f us), via router %.1f us (hop adds %.1f us)\n", t, d, d2, v, v / m, h, h / m, v / h, dc, vc, vc - dc, hc, hc - dc }'
  done | tee "$work/$tool.txt"
  med() { grep -o "$1 [-0-9.]*" "$work/$tool.txt" | awk '{print $2}' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
  echo "$tool  median of $ROUNDS rounds: ratio $(med ratio) (a plain router hop: $(med router-ratio); VIP ÷ router $(med VIP/router)), director path adds $(med adds) us per request"
done
echo "# wrk: -t2 -c64 keep-alive; ab: -c32, a new connection per request; other processes on the machine add to the CPU figures"
