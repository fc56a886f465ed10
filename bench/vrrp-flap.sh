#!/usr/bin/env bash
# False-takeover soak: two healthy Tiergate VRRP speakers (A priority 200, B 100) at ADVERT (default 50ms) for
# DURATION seconds (default 600) while LOAD busy loops (default 2) compete for the CPUs; counts role changes
# after the initial election. Any change is a false takeover (nobody failed).
#
# usage: sudo DURATION=600 LOAD=2 ADVERT=50ms bench/vrrp-flap.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-600}
LOAD=${LOAD:-2}
ADVERT=${ADVERT:-50ms}
P=tgf$$
WORK=$(mktemp -d /tmp/vrrp-flap.XXXX)
PIDS=()
[[ $(id -u) == 0 ]] || { echo "vrrp-flap: needs root" >&2; exit 2; }
if [[ ! -d l4-director/target/classes/io/tiergate/director/ha ]]; then
  mvn -q -B -o -pl l4-director -am compile
fi
mvn -q -B -o -pl l4-director -am dependency:build-classpath -Dmdep.outputFile="$WORK/cp" >/dev/null
CP="l4-director/target/classes:shared/target/classes:$(cat "$WORK/cp")"
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for h in sw a b; do ip netns del $P$h 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add ${P}sw
ip -n ${P}sw link add br0 type bridge
ip -n ${P}sw link set br0 up
n=1
for h in a b; do
  ip netns add $P$h
  ip netns exec $P$h sysctl -qw net.ipv4.ip_forward=0
  ip -n $P$h link set lo up
  ip link add eth0 netns $P$h type veth peer name p$h netns ${P}sw
  ip -n ${P}sw link set p$h master br0 up
  ip -n $P$h addr add 10.88.0.$n/24 dev eth0
  ip -n $P$h link set eth0 up
  n=$((n + 1))
done
for spec in a:200 b:100; do
  h=${spec%:*}; prio=${spec#*:}
  printf 'director:\n  vrrp:\n    interface: eth0\n    vrid: 42\n    priority: %s\n    advert_interval: %s\n    virtual_addresses: [10.88.0.100/24]\n' \
    "$prio" "$ADVERT" >"$WORK/$h.yaml"
  ip netns exec $P$h java -Xmx64m -XX:+UseSerialGC -cp "$CP" io.tiergate.director.ha.VrrpStandalone "$WORK/$h.yaml" \
    >"$WORK/$h.log" 2>&1 &
  PIDS+=($!)
done
end=$((SECONDS + 30))
until grep -qs "STATE MASTER" "$WORK/a.log" && grep -qs "STATE BACKUP" "$WORK/b.log"; do
  ((SECONDS < end)) || { echo "no election within 30 s" >&2; exit 1; }
  sleep 0.1
done
sleep 1
base_a=$(grep -c '^STATE' "$WORK/a.log"); base_b=$(grep -c '^STATE' "$WORK/b.log")
for ((i = 0; i < LOAD; i++)); do
  timeout "$DURATION" sh -c 'while :; do :; done' &
  PIDS+=($!)
done
echo "vrrp-flap: $DURATION s at $ADVERT adverts with $LOAD busy loops on $(nproc) CPUs ..."
sleep "$DURATION"
flaps=$(( $(grep -c '^STATE' "$WORK/a.log") - base_a + $(grep -c '^STATE' "$WORK/b.log") - base_b ))
echo "role changes after the election: $flaps"
if ((flaps > 0)); then grep -h '^STATE' "$WORK/a.log" "$WORK/b.log" | sort -k3 -n | head -20; fi
((flaps == 0))
