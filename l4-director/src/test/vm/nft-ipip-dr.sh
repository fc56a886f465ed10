#!/usr/bin/env bash
# Runs inside the VM (NftIpipVmTest, via run-in-vm.sh; the host kernel has no IPIP): can the nft DR path reach a
# real server beyond the director's segment through an IPIP tunnel, LVS-TUN style?
#   client ── director ── real server       (one bridge here; the tunnel makes the segment irrelevant)
# The director takes VIP:80 at netdev ingress and forwards it with `fwd ip to RS device "<ipip device>"`: the
# kernel's ipip device adds the outer header. (`fwd to "<ipip device>"` does NOT work: it encapsulates the Ethernet
# header too.) The real server decapsulates on tunl0, owns the VIP there and answers the client directly.
# Prints "HTTP 200" and "replies via director: 0" and exits 0 when all holds.
set -u
p=tgtun-
cleanup() { for n in c d r sw; do ip netns del $p$n 2>/dev/null; done; }
trap cleanup EXIT
for n in c d r sw; do ip netns add $p$n; ip -n $p$n link set lo up; done
ip -n ${p}sw link add br0 type bridge && ip -n ${p}sw link set br0 up
i=0
for n in c d r; do
  ip -n $p$n link add eth0 type veth peer name p$i netns ${p}sw
  ip -n ${p}sw link set p$i master br0 && ip -n ${p}sw link set p$i up && ip -n $p$n link set eth0 up
  i=$((i + 1))
done
ip -n ${p}c addr add 10.0.0.2/24 dev eth0
ip -n ${p}d addr add 10.0.0.1/24 dev eth0
ip -n ${p}r addr add 10.0.0.3/24 dev eth0
ip -n ${p}c route add 10.9.9.9/32 via 10.0.0.1

# Director: one ipip device per real server.
ip -n ${p}d link add tgt-rs1 type ipip local 10.0.0.1 remote 10.0.0.3 || exit 3
ip -n ${p}d link set tgt-rs1 up
ip netns exec ${p}d nft -f - <<'NFT' || exit 4
table netdev tiergate_tun {
  chain ingress {
    type filter hook ingress device "eth0" priority -500; policy accept;
    ip daddr 10.9.9.9 tcp dport 80 counter fwd ip to 10.0.0.3 device "tgt-rs1"
    ip daddr 10.9.9.9 drop
  }
}
NFT

# Real server: tunl0 (created by the ipip module in every namespace) decapsulates; the VIP lives on it; rp_filter
# off (the inner source arrives on tunl0 but routes back via eth0); no ARP for the VIP.
ip -n ${p}r link set tunl0 up
ip -n ${p}r addr add 10.9.9.9/32 dev tunl0
ip netns exec ${p}r sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
  net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
ip netns exec ${p}r python3 -m http.server 80 --bind 10.9.9.9 >/dev/null 2>&1 &
for _ in $(seq 60); do ip netns exec ${p}r ss -ltn | grep -q '10.9.9.9:80' && break; sleep 1; done

# Count what leaves the director from the VIP (a DR reply must not).
ip netns exec ${p}d tcpdump -nli eth0 --immediate-mode -w /tmp/tgtun-d.pcap 'src host 10.9.9.9' >/dev/null 2>&1 &
td=$!
sleep 2
ok=0
for _ in 1 2 3; do
  code=$(ip netns exec ${p}c curl -s -m 10 -o /dev/null -w '%{http_code}' http://10.9.9.9/)
  echo "HTTP $code"
  [[ $code == 200 ]] && ok=$((ok + 1))
done
sleep 1
kill $td; wait $td 2>/dev/null
via=$(tcpdump -nr /tmp/tgtun-d.pcap 2>/dev/null | wc -l)
echo "replies via director: $via"
ip netns exec ${p}d nft list chain netdev tiergate_tun ingress | grep counter
ip -n ${p}r -s link show tunl0 | sed -n '3,4p'
[[ $ok == 3 && $via == 0 ]]
