#!/usr/bin/env bash
# Runs inside the VM (NftTunnelVmTest, via run-in-vm.sh; the host kernel has no IPIP): the real director, on the
# nft dataplane with method tunnel, serving real servers on two OTHER subnets, reached only through a router:
#
#   client 10.0.0.2 ─┐                 ┌─ rt eth1 10.1.0.1 ── r1 10.1.0.11 (VIP on tunl0)
#   director 10.0.0.1┼─ bridge ── rt ──┤
#                    └ rt eth0 10.0.0.254 └─ rt eth2 10.2.0.1 ── r2 10.2.0.12 (VIP on tunl0)
#
# usage: nft-tunnel-director.sh JAVA CLASSPATH. Prints one "CHECK <name> ok|FAIL <detail>" line per check and
# exits 0 only when all pass.
set -u
java=$1 cp=$2
p=tgtd-
vip=10.9.9.9
work=$(mktemp -d /tmp/tgtd.XXXXXX)
pids=()
cleanup() {
  exec 3>&- 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for n in c d rt r1 r2 sw; do ip netns del $p$n 2>/dev/null; done
}
trap cleanup EXIT
fails=0
check() { # name, condition result (0 = ok), detail
  if [[ $2 == 0 ]]; then echo "CHECK $1 ok $3"; else echo "CHECK $1 FAIL $3"; fails=$((fails + 1)); fi
}

for n in c d rt r1 r2 sw; do
  ip netns add $p$n; ip -n $p$n link set lo up
  ip netns exec $p$n sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip -n ${p}sw link add br0 type bridge && ip -n ${p}sw link set br0 up
i=0
for n in c d rt; do
  ip -n $p$n link add eth0 type veth peer name p$i netns ${p}sw
  ip -n ${p}sw link set p$i master br0 && ip -n ${p}sw link set p$i up && ip -n $p$n link set eth0 up
  i=$((i + 1))
done
ip -n ${p}c addr add 10.0.0.2/24 dev eth0
ip -n ${p}c route add $vip/32 via 10.0.0.1
ip -n ${p}d addr add 10.0.0.1/24 dev eth0
ip -n ${p}d route add 10.1.0.0/16 via 10.0.0.254
ip -n ${p}d route add 10.2.0.0/16 via 10.0.0.254
ip -n ${p}rt addr add 10.0.0.254/24 dev eth0
ip netns exec ${p}rt sysctl -qw net.ipv4.ip_forward=1
for k in 1 2; do
  r=${p}r$k
  ip -n ${p}rt link add eth$k type veth peer name eth0 netns $r
  ip -n ${p}rt addr add 10.$k.0.1/24 dev eth$k && ip -n ${p}rt link set eth$k up
  ip -n $r addr add 10.$k.0.1$k/24 dev eth0 && ip -n $r link set eth0 up
  ip -n $r route add default via 10.$k.0.1
  # The real-server side of the tunnel method (what `tiergate proxy` dr: mode tunnel sets up): tunl0 decapsulates,
  # the VIP lives on it, rp_filter off (the inner source arrives on tunl0 but routes back via eth0), no ARP for it.
  ip -n $r link set tunl0 up
  ip -n $r addr add $vip/32 dev tunl0
  ip netns exec $r sysctl -qw net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.arp_ignore=1 \
    net.ipv4.conf.all.arp_announce=2
done

# Each real server: GET / (names itself), GET /big (300,000 bytes), POST (answers length and sha256 of the body).
head -c 300000 /dev/urandom > $work/big
cat > $work/server.py <<'PY'
import hashlib, http.server, sys
name, big = sys.argv[1], open(sys.argv[2], 'rb').read()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def reply(self, body):
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.reply(big if self.path == '/big' else name.encode())
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.reply(('%d %s' % (len(body), hashlib.sha256(body).hexdigest())).encode())
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(('0.0.0.0', 80), H).serve_forever()
PY
for k in 1 2; do
  ip netns exec ${p}r$k python3 $work/server.py r$k $work/big 2>/dev/null & pids+=($!)
done

cfg() { # the real servers to list
  cat <<YAML
director:
  dataplane: nft
  interface: eth0
  admin: off
  services:
    web:
      vip: $vip:80
      scheduler: mh
      method: tunnel
      health: {type: tcp, interval: 500ms, timeout: 500ms, fall: 2, rise: 1}
      real_servers: [$1]
YAML
}
cfg "10.1.0.11, 10.2.0.12" > $work/both.yaml
cfg "10.1.0.11" > $work/one.yaml
mkfifo $work/ctl
exec 3<>$work/ctl
ip netns exec ${p}d "$java" -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$cp" \
  io.tiergate.director.dataplane.nft.TunnelDirectorMain $work/both.yaml <&3 > $work/director.log 2>&1 & dpid=$!
pids+=($dpid)
t0=$SECONDS
for _ in $(seq 180); do grep -q READY $work/director.log || ! kill -0 $dpid 2>/dev/null && break; sleep 0.5; done
grep -q READY $work/director.log; check director-started $? "after $((SECONDS - t0)) s"
if ! grep -q READY $work/director.log; then
  echo "director log:"; sed 's/^/  /' $work/director.log | tail -30
  echo "TUNNEL CHECKS: the director did not start"; exit 1
fi

links=$(ip -n ${p}d -o link show type ipip)
echo "$links" | grep -q 'tgt-0a01000b@NONE.* mtu 1480 ' && echo "$links" | grep -q 'tgt-0a02000c@NONE.* mtu 1480 '
check tunnel-devices $? "$(echo "$links" | awk '{print $2, $4, $5}' | tr '\n' ' ')"

ip netns exec ${p}d tcpdump -nli eth0 --immediate-mode -w $work/d.pcap "src host $vip" >/dev/null 2>&1 & td=$!
pids+=($td)
sleep 1
served=""
for port in $(seq 40001 40012); do
  served+="$(ip netns exec ${p}c curl -s -m 5 --local-port $port http://$vip/) "
done
n1=$(grep -o r1 <<< "$served" | wc -l); n2=$(grep -o r2 <<< "$served" | wc -l)
[[ $((n1 + n2)) == 12 && $n1 -gt 0 && $n2 -gt 0 ]]; check spread $? "12 requests: r1 $n1, r2 $n2"

want=$(sha256sum < $work/big | cut -d' ' -f1)
got=$(ip netns exec ${p}c curl -s -m 10 http://$vip/big | sha256sum | cut -d' ' -f1)
[[ $got == "$want" ]]; check big-response $? "300000 bytes GET"

# A request bigger than the tunnel MTU: the client sends full 1500-byte segments (the real server advertised MSS
# 1460 from its own 1500-byte route), and 1500 + 20 does not fit the tunnel. Without a clamp on the real server the
# director's ipip device drops them and, forwarding from ingress with no route attached, sends no ICMP back.
head -c 200000 /dev/urandom > $work/up
upwant="200000 $(sha256sum < $work/up | cut -d' ' -f1)"
up() { ip netns exec ${p}c curl -s -m "$1" --data-binary @$work/up -H 'Content-Type: application/octet-stream' http://$vip/; }
unclamped=$(up 6)
echo "upload without the MSS clamp: $([[ $unclamped == "$upwant" ]] && echo arrived || echo 'black-holed (as expected)')"
for k in 1 2; do
  ip netns exec ${p}r$k nft -f - <<NFT
table inet tiergate_rs {
  chain output {
    type filter hook output priority mangle; policy accept;
    ip saddr $vip tcp flags & (syn | ack) == syn | ack tcp option maxseg size > 1440 tcp option maxseg size set 1440
  }
}
NFT
done
clamped=$(up 15)
[[ $clamped == "$upwant" ]]; check big-request $? "200000 bytes POST with MSS 1440 advertised by the real servers: ${clamped:0:20}"

sleep 1
kill $td; wait $td 2>/dev/null
via=$(tcpdump -nr $work/d.pcap 2>/dev/null | wc -l)
[[ $via == 0 ]]; check replies-bypass-director $? "$via packets from the VIP left the director"
ip netns exec ${p}d nft list counters table netdev tiergate | grep -A1 'counter c_' | tr -s ' \n\t' ' '; echo

echo "reload $work/one.yaml" >&3
for _ in $(seq 60); do grep -q RELOADED $work/director.log && break; sleep 0.5; done
links=$(ip -n ${p}d -o link show type ipip)
echo "$links" | grep -q tgt-0a01000b && ! echo "$links" | grep -q tgt-0a02000c
check device-removed $? "$(grep RELOADED $work/director.log); left: $(echo "$links" | awk '{print $2}' | tr '\n' ' ')"
served=""
for port in $(seq 40101 40106); do
  served+="$(ip netns exec ${p}c curl -s -m 5 --local-port $port http://$vip/) "
done
[[ $(grep -o r1 <<< "$served" | wc -l) == 6 ]]; check after-removal $? "$served"

echo quit >&3
sleep 2
echo "director log:"; sed 's/^/  /' $work/director.log | tail -15
echo "TUNNEL CHECKS: $fails failed"
[[ $fails == 0 ]]
