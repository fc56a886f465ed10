#!/usr/bin/env bash
# Director HA failover benchmark: Tiergate VRRP (50 ms adverts) vs Debian's keepalived (VRRPv3, 100 ms and 50 ms
# adverts), same harness, same run. Two speakers A (priority 200) and B (priority 100, or 254 and 250 for a
# near-zero Skew_Time) and a client on one bridge,
# each in its own network namespace. For each trial: make A master, then either SIGKILL it (keepalived: SIGSTOP
# the parent, SIGKILL the VRRP child — killing the parent alone is a clean stop with priority 0) or take its
# switch port down; failover time = from the fault to the first ARP for the VIP from B's MAC that tcpdump sees on
# the client. Prints median and max per scenario.
#
# usage: sudo bench/vrrp-failover.sh   (TRIALS=20, ONLY="tgb100 tgb250 ka100b100 ka50b100 ka50b250" to pick,
#        KEEP=1 keeps the work dir with every log; needs keepalived, tcpdump, java, a built tree)
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${TRIALS:-20}
VIP=10.88.0.100
P=tgb$$                         # namespace prefix of this run; only these are deleted
WORK=$(mktemp -d /tmp/vrrp-bench.XXXX)
PIDS=()

for t in ip tcpdump keepalived java; do
  command -v $t >/dev/null || { echo "vrrp-failover: needs '$t'" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || { echo "vrrp-failover: needs root (namespaces, raw sockets)" >&2; exit 2; }

if [[ ! -d l4-director/target/classes/io/tiergate/director/ha ]]; then
  mvn -q -B -o -pl l4-director -am compile
fi
mvn -q -B -o -pl l4-director -am dependency:build-classpath -Dmdep.outputFile="$WORK/cp" >/dev/null
CP="l4-director/target/classes:shared/target/classes:$(cat "$WORK/cp")"

cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [[ -n ${SWB_PID:-} ]] && kill -9 "$SWB_PID" 2>/dev/null || true
  for h in sw a b c; do ip netns del $P$h 2>/dev/null || true; done
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add ${P}sw
ip -n ${P}sw link add br0 type bridge
ip -n ${P}sw link set br0 up
n=1
for h in a b c; do
  ip netns add $P$h
  ip netns exec $P$h sysctl -qw net.ipv4.ip_forward=0
  ip -n $P$h link set lo up
  ip link add eth0 netns $P$h type veth peer name p$h netns ${P}sw
  ip -n ${P}sw link set p$h master br0 up
  ip -n $P$h addr add 10.88.0.$n/24 dev eth0
  ip -n $P$h link set eth0 up
  n=$((n + 1))
done
MAC_B=$(ip -n ${P}b -br link show eth0 | awk '{print tolower($3)}')
# Failure injection through an already-running ip: starting one under load took up to 640 ms.
coproc SWB { ip -n ${P}sw -force -batch - >/dev/null 2>&1; }
ip netns exec ${P}c tcpdump -l -n -e -tt --immediate-mode -i eth0 arp >"$WORK/arp.txt" 2>"$WORK/tcpdump.err" &
PIDS+=($!)
until grep -qs "listening on" "$WORK/tcpdump.err"; do sleep 0.05; done

now() { date +%s.%N; }
has_vip() { ip -n $P$1 -br addr show eth0 | grep -q "$VIP/"; }
wait_a_master() {   # A holds the VIP and B does not, then let a few adverts pass
  local end=$((SECONDS + 30))
  until has_vip a && ! has_vip b; do
    ((SECONDS < end)) || { echo "A did not become master" >&2; return 1; }
    sleep 0.05
  done
  sleep 0.5
}
# first ARP about the VIP from B after time $1 (epoch seconds); prints the delay in ms, or "lost"
delay_since() {
  local t0=$1 end=$((SECONDS + 3))
  while ((SECONDS < end)); do
    local t1
    t1=$(awk -v t0="$t0" -v mac="$MAC_B" -v vip="$VIP" '$1 >= t0 && tolower($2) == mac && index($0, vip) { print $1; exit }' "$WORK/arp.txt")
    if [[ -n $t1 ]]; then awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; return; fi
    sleep 0.05
  done
  echo lost
}
summary() {   # name, file of delays
  [[ -f $2 ]] || return 0
  sort -n "$2" | awk -v name="$1" '
    $1 == "lost" { lost++; next }
    { v[n++] = $1 }
    END { if (n == 0) { printf "%-46s no takeover seen\n", name; exit }
          med = (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
          printf "%-46s n=%d median %.1f ms  min %.1f ms  max %.1f ms%s\n", name, n, med, v[0], v[n - 1], lost ? "  (" lost " lost)" : "" }'
}

# ---- Tiergate ----------------------------------------------------------------------------------------------
tiergate_yaml() {  # host priority
  cat >"$WORK/$1.yaml" <<YAML
director:
  vrrp:
    interface: eth0
    vrid: 42
    priority: $2
    advert_interval: 50ms
    virtual_addresses: [$VIP/24]
YAML
}
start_tiergate() {  # host priority
  tiergate_yaml "$1" "$2"
  ip netns exec $P$1 java -Xmx64m -XX:+UseSerialGC -cp "$CP" io.tiergate.director.ha.VrrpStandalone "$WORK/$1.yaml" \
    >>"$WORK/tiergate-$1.log" 2>&1 &
  TG_PID=$!
  PIDS+=($TG_PID)
}

run_tiergate() {  # backup priority, tag, master priority
  : >"$WORK/tg$2-kill.txt"; : >"$WORK/tg$2-link.txt"
  start_tiergate b "$1"; TG_B=$TG_PID
  start_tiergate a "$3"; TG_A=$TG_PID
  for ((i = 1; i <= TRIALS; i++)); do
    wait_a_master
    t0=$(now); kill -9 $TG_A
    delay_since "$t0" >>"$WORK/tg$2-kill.txt"
    start_tiergate a "$3"; TG_A=$TG_PID
  done
  for ((i = 1; i <= TRIALS; i++)); do
    wait_a_master
    t0=$(now); echo "link set pa down" >&"${SWB[1]}"
    delay_since "$t0" >>"$WORK/tg$2-link.txt"
    echo "link set pa up" >&"${SWB[1]}"
  done
  kill $TG_A $TG_B; wait $TG_A $TG_B 2>/dev/null || true
}

# ---- keepalived --------------------------------------------------------------------------------------------
start_keepalived() {  # host priority advert
  cat >"$WORK/ka-$1.conf" <<CONF
global_defs {
  router_id $P$1
  vrrp_version 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 42
  priority $2
  advert_int $3
  virtual_ipaddress {
    $VIP/24
  }
}
CONF
  rm -f "$WORK/ka-$1.vrrp.pid"
  ip netns exec $P$1 keepalived -n -l -P -f "$WORK/ka-$1.conf" -p "$WORK/ka-$1.pid" -r "$WORK/ka-$1.vrrp.pid" \
    -c "$WORK/ka-$1.chk.pid" >>"$WORK/keepalived-$1.log" 2>&1 &
  KA_PID=$!
  PIDS+=($KA_PID)
}
crash_keepalived() {  # parent pid, host; echoes the time of the child's SIGKILL
  local child
  until [[ -s "$WORK/ka-$2.vrrp.pid" ]]; do sleep 0.02; done
  child=$(cat "$WORK/ka-$2.vrrp.pid")
  kill -STOP "$1"
  local t0; t0=$(now); kill -9 "$child"
  kill -9 "$1"; wait "$1" 2>/dev/null || true
  echo "$t0"
}

run_keepalived() {  # advert seconds, backup priority, tag, master priority
  : >"$WORK/ka$3-kill.txt"; : >"$WORK/ka$3-link.txt"
  start_keepalived b "$2" "$1"; KA_B=$KA_PID
  start_keepalived a "$4" "$1"; KA_A=$KA_PID
  for ((i = 1; i <= TRIALS; i++)); do
    wait_a_master
    t0=$(crash_keepalived $KA_A a)
    delay_since "$t0" >>"$WORK/ka$3-kill.txt"
    ip -n ${P}a addr del $VIP/24 dev eth0 2>/dev/null || true   # a crashed host's kernel would not answer either
    start_keepalived a "$4" "$1"; KA_A=$KA_PID
  done
  for ((i = 1; i <= TRIALS; i++)); do
    wait_a_master
    t0=$(now); echo "link set pa down" >&"${SWB[1]}"
    delay_since "$t0" >>"$WORK/ka$3-link.txt"
    echo "link set pa up" >&"${SWB[1]}"
  done
  kill $KA_A $KA_B; wait $KA_A $KA_B 2>/dev/null || true; ip -n ${P}a addr del $VIP/24 dev eth0 2>/dev/null || true
}

echo "vrrp-failover: $TRIALS trials per scenario; A/B priorities 200/100 or 254/250; work dir $WORK"
want() { [[ -z ${ONLY:-} || " $ONLY " == *" $1 "* ]]; }   # ONLY="tgb250 ka100b100" runs a subset
want tgb100    && run_tiergate 100 b100 200
want tgb250    && run_tiergate 250 b250 254
want ka100b100 && run_keepalived 0.1 100 100b100 200
want ka50b100  && run_keepalived 0.05 100 50b100 200
want ka50b250  && run_keepalived 0.05 250 50b250 254
echo
summary "Tiergate 50 ms, 200/100, master SIGKILLed"      "$WORK/tgb100-kill.txt"
summary "Tiergate 50 ms, 200/100, master link down"      "$WORK/tgb100-link.txt"
summary "Tiergate 50 ms, 254/250, master SIGKILLed"          "$WORK/tgb250-kill.txt"
summary "Tiergate 50 ms, 254/250, master link down"          "$WORK/tgb250-link.txt"
summary "keepalived v3 100 ms, 200/100, master crashed"  "$WORK/ka100b100-kill.txt"
summary "keepalived v3 100 ms, 200/100, master link down" "$WORK/ka100b100-link.txt"
summary "keepalived v3 50 ms, 200/100, master crashed"   "$WORK/ka50b100-kill.txt"
summary "keepalived v3 50 ms, 200/100, master link down" "$WORK/ka50b100-link.txt"
summary "keepalived v3 50 ms, 254/250, master crashed"       "$WORK/ka50b250-kill.txt"
summary "keepalived v3 50 ms, 254/250, master link down"     "$WORK/ka50b250-link.txt"
