#!/usr/bin/env bash
# Requests per second through the nft DR VIP of a running `tiergate director` vs straight to one real server, in the
# same run. Everything lives in network namespaces this script creates and removes (client, director, two real
# servers running nginx, and a bridge namespace); nothing on the host is touched. Root only.
#
#   sudo bench/director-dr.sh [SECONDS]        (default 10 per measurement)
#
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

measure() { # name url tool
  local out
  if [[ $3 == wrk ]]; then
    out=$(ip netns exec $CL wrk -t2 -c64 -d${secs}s "$2" | awk '/Requests\/sec/{print $2}')
  else
    out=$(ip netns exec $CL ab -q -n 1000000 -t "$secs" -c 32 "$2" 2>/dev/null | awk '/Requests per second/{print $4}')
  fi
  echo "$out"
}
echo "# $(date -u +%FT%TZ) $(uname -r), ${secs}s each, client/director/real servers in namespaces on one bridge"
for tool in wrk ab; do
  d=$(measure direct http://10.79.0.11/ $tool)
  v=$(measure vip http://$VIP/ $tool)
  d2=$(measure direct http://10.79.0.11/ $tool)
  awk -v t=$tool -v d="$d" -v v="$v" -v d2="$d2" 'BEGIN {
    m = (d + d2) / 2
    printf "%-3s  direct %8.0f / %8.0f req/s   via DR VIP %8.0f req/s   ratio %.2f\n", t, d, d2, v, v / m }'
done
echo "# wrk: -t2 -c64 keep-alive; ab: -c32, a new connection per request"
