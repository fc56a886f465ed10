package io.tiergate.director.dataplane.nft;

import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.model.FlowTable;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Golden tests of the generated nft text: no root, no kernel. */
class NftRulesetTest {
    static final ServiceKey WEB = ServiceKey.of(Protocol.TCP, "10.0.0.100", 80);
    final NftRuleset nft = new NftRuleset("eth0", 0x5eed, 1021);

    static DataplaneService svc(ServiceKey k, Scheduler s, ForwardingMethod m, Destination... d) {
        return new DataplaneService(k, s, m, Persistence.NONE, false, List.of(d));
    }

    @Test
    void drWeightedRoundRobinHashesTheFlowIntoWeightedSlots() {
        String text = nft.upsert(svc(WEB, Scheduler.WEIGHTED_ROUND_ROBIN, ForwardingMethod.DIRECT_ROUTE,
                new Destination("10.0.0.11", 80, 1), new Destination("10.0.0.12", 80, 3),
                new Destination("10.0.0.13", 80, 0)), "00000000000000ff");
        assertThat(text).isEqualTo("""
                add chain netdev tiergate s_tcp_10_0_0_100_80
                flush chain netdev tiergate s_tcp_10_0_0_100_80
                add map netdev tiergate m_tcp_10_0_0_100_80 { typeof numgen inc mod 4 : ip daddr; }
                flush map netdev tiergate m_tcp_10_0_0_100_80
                add element netdev tiergate m_tcp_10_0_0_100_80 { 0 : 10.0.0.11, 1 : 10.0.0.12, 2 : 10.0.0.12, 3 : 10.0.0.12 }
                add map netdev tiergate d_tcp_10_0_0_100_80 { type ipv4_addr : counter; }
                flush map netdev tiergate d_tcp_10_0_0_100_80
                add counter netdev tiergate c_tcp_10_0_0_100_80_10_0_0_11
                add counter netdev tiergate c_tcp_10_0_0_100_80_10_0_0_12
                add counter netdev tiergate c_tcp_10_0_0_100_80_10_0_0_13
                add element netdev tiergate d_tcp_10_0_0_100_80 { 10.0.0.11 : "c_tcp_10_0_0_100_80_10_0_0_11", 10.0.0.12 : "c_tcp_10_0_0_100_80_10_0_0_12", 10.0.0.13 : "c_tcp_10_0_0_100_80_10_0_0_13" }
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr set jhash ip saddr . tcp sport mod 4 seed 0x5eed map @m_tcp_10_0_0_100_80
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr != 10.0.0.100 counter name ip daddr map @d_tcp_10_0_0_100_80 ip daddr set 10.0.0.100 fwd ip to jhash ip saddr . tcp sport mod 4 seed 0x5eed map @m_tcp_10_0_0_100_80 device "eth0"
                add rule netdev tiergate s_tcp_10_0_0_100_80 drop comment "tg tcp/10.0.0.100:80 fp=00000000000000ff ft=0/300s"
                add element netdev tiergate services { 10.0.0.100 . tcp . 80 : goto s_tcp_10_0_0_100_80 }
                """);
    }

    @Test
    void tunnelForwardsEachRealServerIntoItsOwnIpipDeviceInsteadOfTheLanDevice() {
        NftRuleset pinned = new NftRuleset("eth0", 0x5eed, 1021, new FlowTable(65536, Duration.ofMinutes(5)));
        String text = pinned.upsert(svc(WEB, Scheduler.WEIGHTED_ROUND_ROBIN, ForwardingMethod.TUNNEL,
                new Destination("10.1.0.11", 80, 1), new Destination("192.168.7.12", 80, 2)), "00000000000000ff");
        assertThat(text).as("pinned and stateless paths both end in fwd ip to <server> device tgt-<hex address>")
                .isEqualTo("""
                add chain netdev tiergate s_tcp_10_0_0_100_80
                flush chain netdev tiergate s_tcp_10_0_0_100_80
                add map netdev tiergate m_tcp_10_0_0_100_80 { typeof numgen inc mod 3 : ip daddr; }
                flush map netdev tiergate m_tcp_10_0_0_100_80
                add element netdev tiergate m_tcp_10_0_0_100_80 { 0 : 10.1.0.11, 1 : 192.168.7.12, 2 : 192.168.7.12 }
                add map netdev tiergate d_tcp_10_0_0_100_80 { type ipv4_addr : counter; }
                flush map netdev tiergate d_tcp_10_0_0_100_80
                add counter netdev tiergate c_tcp_10_0_0_100_80_10_1_0_11
                add counter netdev tiergate c_tcp_10_0_0_100_80_192_168_7_12
                add element netdev tiergate d_tcp_10_0_0_100_80 { 10.1.0.11 : "c_tcp_10_0_0_100_80_10_1_0_11", 192.168.7.12 : "c_tcp_10_0_0_100_80_192_168_7_12" }
                add map netdev tiergate f_tcp_10_0_0_100_80 { typeof ip saddr . tcp sport : ip daddr; size 65536; flags dynamic,timeout; timeout 300s; }
                add rule netdev tiergate s_tcp_10_0_0_100_80 tcp flags & (syn | ack) != syn ip daddr set ip saddr . tcp sport map @f_tcp_10_0_0_100_80
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr 10.1.0.11 counter name "c_tcp_10_0_0_100_80_10_1_0_11" ip daddr set 10.0.0.100 fwd ip to 10.1.0.11 device "tgt-0a01000b"
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr 192.168.7.12 counter name "c_tcp_10_0_0_100_80_192_168_7_12" ip daddr set 10.0.0.100 fwd ip to 192.168.7.12 device "tgt-c0a8070c"
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr != 10.0.0.100 ip daddr set 10.0.0.100
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr set jhash ip saddr . tcp sport mod 3 seed 0x5eed map @m_tcp_10_0_0_100_80
                add rule netdev tiergate s_tcp_10_0_0_100_80 tcp flags & (syn | ack) == syn ip daddr != 10.0.0.100 delete @f_tcp_10_0_0_100_80 { ip saddr . tcp sport : ip daddr }
                add rule netdev tiergate s_tcp_10_0_0_100_80 tcp flags & (syn | ack) == syn ip daddr != 10.0.0.100 add @f_tcp_10_0_0_100_80 { ip saddr . tcp sport : ip daddr }
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr 10.1.0.11 counter name "c_tcp_10_0_0_100_80_10_1_0_11" ip daddr set 10.0.0.100 fwd ip to 10.1.0.11 device "tgt-0a01000b"
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr 192.168.7.12 counter name "c_tcp_10_0_0_100_80_192_168_7_12" ip daddr set 10.0.0.100 fwd ip to 192.168.7.12 device "tgt-c0a8070c"
                add rule netdev tiergate s_tcp_10_0_0_100_80 drop comment "tg tcp/10.0.0.100:80 fp=00000000000000ff ft=65536/300s"
                add element netdev tiergate services { 10.0.0.100 . tcp . 80 : goto s_tcp_10_0_0_100_80 }
                """);
        assertThat(NftRuleset.tunnelDevices(text)).containsExactly("tgt-0a01000b", "tgt-c0a8070c");
        assertThat(NftRuleset.tunnelDevice("255.255.255.255")).hasSize(12).isEqualTo("tgt-ffffffff");
    }

    @Test
    void drWithAFlowTablePinsOnSynAndHonoursPinsOnlyForMembers() {
        NftRuleset pinned = new NftRuleset("eth0", 0x5eed, 1021, new FlowTable(65536, Duration.ofMinutes(5)));
        String text = pinned.upsert(svc(WEB, Scheduler.WEIGHTED_ROUND_ROBIN, ForwardingMethod.DIRECT_ROUTE,
                new Destination("10.0.0.11", 80, 1), new Destination("10.0.0.12", 80, 0)), "00000000000000ff");
        assertThat(text).isEqualTo("""
                add chain netdev tiergate s_tcp_10_0_0_100_80
                flush chain netdev tiergate s_tcp_10_0_0_100_80
                add map netdev tiergate m_tcp_10_0_0_100_80 { typeof numgen inc mod 1 : ip daddr; }
                flush map netdev tiergate m_tcp_10_0_0_100_80
                add element netdev tiergate m_tcp_10_0_0_100_80 { 0 : 10.0.0.11 }
                add map netdev tiergate d_tcp_10_0_0_100_80 { type ipv4_addr : counter; }
                flush map netdev tiergate d_tcp_10_0_0_100_80
                add counter netdev tiergate c_tcp_10_0_0_100_80_10_0_0_11
                add counter netdev tiergate c_tcp_10_0_0_100_80_10_0_0_12
                add element netdev tiergate d_tcp_10_0_0_100_80 { 10.0.0.11 : "c_tcp_10_0_0_100_80_10_0_0_11", 10.0.0.12 : "c_tcp_10_0_0_100_80_10_0_0_12" }
                add map netdev tiergate f_tcp_10_0_0_100_80 { typeof ip saddr . tcp sport : ip daddr; size 65536; flags dynamic,timeout; timeout 300s; }
                add rule netdev tiergate s_tcp_10_0_0_100_80 tcp flags & (syn | ack) != syn ip daddr set ip saddr . tcp sport map @f_tcp_10_0_0_100_80
                add rule netdev tiergate s_tcp_10_0_0_100_80 counter name ip daddr map @d_tcp_10_0_0_100_80 ip daddr set 10.0.0.100 fwd ip to ip saddr . tcp sport map @f_tcp_10_0_0_100_80 device "eth0"
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr != 10.0.0.100 ip daddr set 10.0.0.100
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr set jhash ip saddr . tcp sport mod 1 seed 0x5eed map @m_tcp_10_0_0_100_80
                add rule netdev tiergate s_tcp_10_0_0_100_80 tcp flags & (syn | ack) == syn ip daddr != 10.0.0.100 delete @f_tcp_10_0_0_100_80 { ip saddr . tcp sport : ip daddr }
                add rule netdev tiergate s_tcp_10_0_0_100_80 tcp flags & (syn | ack) == syn ip daddr != 10.0.0.100 add @f_tcp_10_0_0_100_80 { ip saddr . tcp sport : ip daddr }
                add rule netdev tiergate s_tcp_10_0_0_100_80 ip daddr != 10.0.0.100 counter name ip daddr map @d_tcp_10_0_0_100_80 ip daddr set 10.0.0.100 fwd ip to jhash ip saddr . tcp sport mod 1 seed 0x5eed map @m_tcp_10_0_0_100_80 device "eth0"
                add rule netdev tiergate s_tcp_10_0_0_100_80 drop comment "tg tcp/10.0.0.100:80 fp=00000000000000ff ft=65536/300s"
                add element netdev tiergate services { 10.0.0.100 . tcp . 80 : goto s_tcp_10_0_0_100_80 }
                """);
        assertThat(pinned.upsert(svc(WEB, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE,
                new Destination("10.0.0.11", 80, 1)), "00000000000000ff", true))
                .as("a changed size or timeout redeclares the flow map, after the chain that uses it is flushed")
                .startsWith("add chain netdev tiergate s_tcp_10_0_0_100_80\nflush chain netdev tiergate s_tcp_10_0_0_100_80\n"
                        + "delete map netdev tiergate f_tcp_10_0_0_100_80\n");
        assertThat(pinned.upsert(svc(ServiceKey.of(Protocol.UDP, "10.0.0.100", 53), Scheduler.MAGLEV,
                ForwardingMethod.DIRECT_ROUTE, new Destination("10.0.0.11", 53, 1)), "00000000000000ff"))
                .as("udp has no SYN: its first packet pins the flow, every packet follows its pin")
                .contains("ip daddr != 10.0.0.100 add @f_udp_10_0_0_100_53 { ip saddr . udp sport : ip daddr }")
                .contains(" s_udp_10_0_0_100_53 ip daddr set ip saddr . udp sport map @f_udp_10_0_0_100_53\n")
                .doesNotContain("delete @f_");
    }

    static final ServiceKey WEB6 = ServiceKey.of(Protocol.TCP, "fd77::100", 80);

    @Test
    void drOverIpv6ForwardsWithFwdIp6AndPinsInOneSetPerRealServer() {
        NftRuleset pinned = new NftRuleset("eth0", 0x5eed, 1021, new FlowTable(65536, Duration.ofMinutes(5)));
        String text = pinned.upsert(svc(WEB6, Scheduler.WEIGHTED_ROUND_ROBIN, ForwardingMethod.DIRECT_ROUTE,
                new Destination("fd77::11", 80, 1), new Destination("fd77::12", 80, 2),
                new Destination("fd77::13", 80, 0)), "00000000000000ff");
        assertThat(text).isEqualTo("""
                add chain netdev tiergate s_tcp_fd77__100_80
                flush chain netdev tiergate s_tcp_fd77__100_80
                add map netdev tiergate m_tcp_fd77__100_80 { typeof numgen inc mod 3 : ip6 daddr; }
                flush map netdev tiergate m_tcp_fd77__100_80
                add element netdev tiergate m_tcp_fd77__100_80 { 0 : fd77::11, 1 : fd77::12, 2 : fd77::12 }
                add map netdev tiergate d_tcp_fd77__100_80 { type ipv6_addr : counter; }
                flush map netdev tiergate d_tcp_fd77__100_80
                add counter netdev tiergate c_tcp_fd77__100_80_fd77__11
                add counter netdev tiergate c_tcp_fd77__100_80_fd77__12
                add counter netdev tiergate c_tcp_fd77__100_80_fd77__13
                add element netdev tiergate d_tcp_fd77__100_80 { fd77::11 : "c_tcp_fd77__100_80_fd77__11", fd77::12 : "c_tcp_fd77__100_80_fd77__12", fd77::13 : "c_tcp_fd77__100_80_fd77__13" }
                add set netdev tiergate p_tcp_fd77__100_80_fd77__11 { typeof ip6 saddr . tcp sport; size 65536; flags dynamic,timeout; timeout 300s; }
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) != syn ip6 saddr . tcp sport @p_tcp_fd77__100_80_fd77__11 counter name "c_tcp_fd77__100_80_fd77__11" fwd ip6 to fd77::11 device "eth0"
                add set netdev tiergate p_tcp_fd77__100_80_fd77__12 { typeof ip6 saddr . tcp sport; size 65536; flags dynamic,timeout; timeout 300s; }
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) != syn ip6 saddr . tcp sport @p_tcp_fd77__100_80_fd77__12 counter name "c_tcp_fd77__100_80_fd77__12" fwd ip6 to fd77::12 device "eth0"
                add set netdev tiergate p_tcp_fd77__100_80_fd77__13 { typeof ip6 saddr . tcp sport; size 65536; flags dynamic,timeout; timeout 300s; }
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) != syn ip6 saddr . tcp sport @p_tcp_fd77__100_80_fd77__13 counter name "c_tcp_fd77__100_80_fd77__13" fwd ip6 to fd77::13 device "eth0"
                add rule netdev tiergate s_tcp_fd77__100_80 ip6 daddr set jhash ip6 saddr . tcp sport mod 3 seed 0x5eed map @m_tcp_fd77__100_80
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) == syn delete @p_tcp_fd77__100_80_fd77__11 { ip6 saddr . tcp sport }
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) == syn delete @p_tcp_fd77__100_80_fd77__12 { ip6 saddr . tcp sport }
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) == syn delete @p_tcp_fd77__100_80_fd77__13 { ip6 saddr . tcp sport }
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) == syn ip6 daddr fd77::11 add @p_tcp_fd77__100_80_fd77__11 { ip6 saddr . tcp sport }
                add rule netdev tiergate s_tcp_fd77__100_80 tcp flags & (syn | ack) == syn ip6 daddr fd77::12 add @p_tcp_fd77__100_80_fd77__12 { ip6 saddr . tcp sport }
                add rule netdev tiergate s_tcp_fd77__100_80 ip6 daddr != fd77::100 counter name ip6 daddr map @d_tcp_fd77__100_80 ip6 daddr set fd77::100 fwd ip6 to jhash ip6 saddr . tcp sport mod 3 seed 0x5eed map @m_tcp_fd77__100_80 device "eth0"
                add rule netdev tiergate s_tcp_fd77__100_80 drop comment "tg tcp/[fd77::100]:80 fp=00000000000000ff ft=65536/300s"
                add element netdev tiergate services6 { fd77::100 . tcp . 80 : goto s_tcp_fd77__100_80 }
                """);
    }

    @Test
    void ipv6DrDeletesThePinSetsOfRealServersThatLeftAfterFlushingTheChain() {
        NftRuleset pinned = new NftRuleset("eth0", 0x5eed, 1021, new FlowTable(65536, Duration.ofMinutes(5)));
        java.util.Set<String> held = java.util.Set.of("set p_tcp_fd77__100_80_fd77__11", "set p_tcp_fd77__100_80_fd77__12",
                "set p_tcp_fd77__100_8080_fd77__12", "map m_tcp_fd77__100_80");
        DataplaneService one = svc(WEB6, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE, new Destination("fd77::11", 80, 1));
        assertThat(pinned.upsert(one, "00000000000000ff", false, held))
                .as("rs fd77::12 left: its set goes, after the chain that used it is flushed; another service's stays")
                .startsWith("add chain netdev tiergate s_tcp_fd77__100_80\nflush chain netdev tiergate s_tcp_fd77__100_80\n"
                        + "delete set netdev tiergate p_tcp_fd77__100_80_fd77__12\nadd map ")
                .doesNotContain("delete set netdev tiergate p_tcp_fd77__100_80_fd77__11")
                .doesNotContain("p_tcp_fd77__100_8080_fd77__12");
        assertThat(pinned.upsert(one, "00000000000000ff", true, held))
                .as("a changed size or timeout redeclares every pin set")
                .contains("delete set netdev tiergate p_tcp_fd77__100_80_fd77__11\ndelete set netdev tiergate p_tcp_fd77__100_80_fd77__12\n")
                .contains("add set netdev tiergate p_tcp_fd77__100_80_fd77__11 {");
        assertThat(nft.upsert(one, "00000000000000ff", false, held)).as("flow_table: off drops all pin sets")
                .contains("delete set netdev tiergate p_tcp_fd77__100_80_fd77__11\n").doesNotContain("add set");
        assertThat(nft.delete(WEB6, ForwardingMethod.DIRECT_ROUTE, held)).isEqualTo("""
                delete element netdev tiergate services6 { fd77::100 . tcp . 80 }
                flush chain netdev tiergate s_tcp_fd77__100_80
                delete chain netdev tiergate s_tcp_fd77__100_80
                delete map netdev tiergate m_tcp_fd77__100_80
                delete set netdev tiergate p_tcp_fd77__100_80_fd77__11
                delete set netdev tiergate p_tcp_fd77__100_80_fd77__12
                """);
    }

    @Test
    void aHostNameResolvingToBothFamiliesKeepsOnlyTheVipsFamily() {
        DataplaneService both = svc(WEB6, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE,
                new Destination("fd77::11", 80, 1), new Destination("10.0.0.11", 80, 1));
        assertThat(NftRuleset.sameFamily(both).destinations()).containsExactly(new Destination("fd77::11", 80, 1));
        DataplaneService v4 = svc(WEB, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE, new Destination("10.0.0.11", 80, 1));
        assertThat(NftRuleset.sameFamily(v4)).as("nothing to leave out: the same service").isSameAs(v4);
    }

    @Test
    void natOverIpv6LivesInItsOwnIp6TableAndLeavesIpv4Alone() {
        DataplaneService s = new DataplaneService(ServiceKey.of(Protocol.TCP, "fd77::100", 80), Scheduler.MAGLEV,
                ForwardingMethod.NAT, new Persistence(Duration.ofMinutes(5), 32), false,
                List.of(new Destination("fd77::21", 8080, 1), new Destination("fd77::22", 80, 1)));
        String text = nft.upsert(s, "0123456789abcdef");
        assertThat(text).startsWith("add chain ip6 tiergate_nat6 s_tcp_fd77__100_80\n")
                .contains("add map ip6 tiergate_nat6 m_tcp_fd77__100_80 { typeof numgen inc mod 1021 : ip6 daddr . tcp dport; }")
                .contains(" : fd77::21 . 8080")
                .contains("add rule ip6 tiergate_nat6 s_tcp_fd77__100_80 meta l4proto tcp dnat ip6 to jhash ip6 saddr mod 1021 seed 0x5eed map @m_tcp_fd77__100_80\n")
                .endsWith("add rule ip6 tiergate_nat6 s_tcp_fd77__100_80 drop comment \"tg tcp/[fd77::100]:80 fp=0123456789abcdef\"\n"
                        + "add element ip6 tiergate_nat6 services { fd77::100 . tcp . 80 : goto s_tcp_fd77__100_80 }\n");
    }

    @Test
    void theSkeletonKeepsTheIpv4RulesAndAddsTheIpv6IngressRule() {
        assertThat(nft.skeleton(true, true, true)).isEqualTo("""
                add table netdev tiergate
                add chain netdev tiergate ingress { type filter hook ingress device "eth0" priority -500; policy accept; }
                add map netdev tiergate services { typeof ip daddr . meta l4proto . th dport : verdict; }
                flush chain netdev tiergate ingress
                add rule netdev tiergate ingress meta pkttype host ip daddr . meta l4proto . th dport vmap @services
                add map netdev tiergate services6 { typeof ip6 daddr . meta l4proto . th dport : verdict; }
                add rule netdev tiergate ingress meta pkttype host ip6 daddr . meta l4proto . th dport vmap @services6
                add table ip tiergate_nat
                add chain ip tiergate_nat prerouting { type nat hook prerouting priority dstnat; policy accept; }
                add map ip tiergate_nat services { typeof ip daddr . meta l4proto . th dport : verdict; }
                flush chain ip tiergate_nat prerouting
                add rule ip tiergate_nat prerouting ip daddr . meta l4proto . th dport vmap @services
                add table ip6 tiergate_nat6
                add chain ip6 tiergate_nat6 prerouting { type nat hook prerouting priority dstnat; policy accept; }
                add map ip6 tiergate_nat6 services { typeof ip6 daddr . meta l4proto . th dport : verdict; }
                flush chain ip6 tiergate_nat6 prerouting
                add rule ip6 tiergate_nat6 prerouting ip6 daddr . meta l4proto . th dport vmap @services
                add chain ip6 tiergate_nat6 output { type filter hook output priority filter; policy accept; }
                flush chain ip6 tiergate_nat6 output
                add rule ip6 tiergate_nat6 output icmpv6 type nd-redirect drop
                """);
        assertThat(nft.skeleton(true, true)).as("the two-argument form, as before IPv6: no IPv6 NAT table")
                .doesNotContain("tiergate_nat6");
    }

    @Test
    void ipv6PinsAreCountedPerPinSet() {
        assertThat(NftRuleset.pinnedInSet("""
                table netdev tiergate {
                	set p_tcp_fd77__100_80_fd77__11 {
                		typeof ip6 saddr . tcp sport
                		size 65536
                		flags dynamic,timeout
                		timeout 5m
                		elements = { fd77:1::2 . 40000 timeout 5m expires 4m59s, fd77:1::2 . 40002 timeout 5m expires 4m58s }
                	}
                }
                """)).isEqualTo(2);
    }

    @Test
    void natRoundRobinUsesNumgenAndTranslatesThePort() {
        String text = nft.upsert(svc(ServiceKey.of(Protocol.UDP, "10.0.0.100", 53), Scheduler.ROUND_ROBIN,
                ForwardingMethod.NAT, new Destination("10.0.0.21", 5353, 1), new Destination("10.0.0.22", 53, 9)), "0123456789abcdef");
        assertThat(text).contains("add map ip tiergate_nat m_udp_10_0_0_100_53 { typeof numgen inc mod 2 : ip daddr . udp dport; }")
                .contains("{ 0 : 10.0.0.21 . 5353, 1 : 10.0.0.22 . 53 }")
                .as("NAT may rotate per connection: conntrack pins the flow after its first packet")
                .contains("meta l4proto udp dnat ip to numgen inc mod 2 map @m_udp_10_0_0_100_53");
    }

    @Test
    void maglevSlotsFollowWeightsAndUseTheConfiguredSeed() {
        DataplaneService s = svc(WEB, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE,
                new Destination("10.0.0.11", 80, 1), new Destination("10.0.0.12", 80, 1), new Destination("10.0.0.13", 80, 2));
        NftRuleset.Slots slots = nft.slots(s);
        assertThat(slots.modulus()).as("a prime >= maglev_size").isEqualTo(1021);
        Map<String, Integer> owned = new HashMap<>();
        for (NftRuleset.Range r : slots.ranges()) {
            owned.merge(r.dest().address(), r.to() - r.from() + 1, Integer::sum);
        }
        assertThat(owned.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(1021);
        assertThat(owned.get("10.0.0.13")).as("weight 2 of 4 owns about half the slots").isBetween(490, 530);
        assertThat(nft.upsert(s, "00000000000000ff")).contains("jhash ip saddr . tcp sport mod 1021 seed 0x5eed");
        assertThat(nft.upsert(s, "00000000000000ff")).as("the same input gives the same text on every director")
                .isEqualTo(new NftRuleset("eth0", 0x5eed, 1021).upsert(s, "00000000000000ff"));
    }

    @Test
    void persistenceAndSourceHashHashTheClientAddressOnly() {
        DataplaneService s = new DataplaneService(WEB, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE,
                new Persistence(Duration.ofMinutes(5), 32), false, List.of(new Destination("10.0.0.11", 80, 1)));
        assertThat(nft.upsert(s, "00000000000000ff")).contains("jhash ip saddr mod 1021 seed 0x5eed");
    }

    @Test
    void aServiceWithoutUsableServersDropsInsteadOfFallingThrough() {
        String text = nft.upsert(svc(WEB, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE,
                new Destination("10.0.0.11", 80, 0)), "00000000000000ff");
        assertThat(text).doesNotContain("fwd").doesNotContain("add element netdev tiergate m_")
                .contains("drop comment \"tg tcp/10.0.0.100:80 fp=00000000000000ff ft=0/300s\"");
    }

    @Test
    void deleteRemovesTheServiceAndItsObjects() {
        assertThat(nft.delete(WEB, ForwardingMethod.DIRECT_ROUTE, java.util.Set.of("map m_tcp_10_0_0_100_80",
                "map d_tcp_10_0_0_100_80", "map f_tcp_10_0_0_100_80", "counter c_tcp_10_0_0_100_80_10_0_0_11",
                "counter c_tcp_10_0_0_100_81_10_0_0_11"))).isEqualTo("""
                delete element netdev tiergate services { 10.0.0.100 . tcp . 80 }
                flush chain netdev tiergate s_tcp_10_0_0_100_80
                delete chain netdev tiergate s_tcp_10_0_0_100_80
                delete map netdev tiergate m_tcp_10_0_0_100_80
                delete map netdev tiergate d_tcp_10_0_0_100_80
                delete map netdev tiergate f_tcp_10_0_0_100_80
                delete counter netdev tiergate c_tcp_10_0_0_100_80_10_0_0_11
                """);
    }

    @Test
    void fingerprintsAreReadBackFromAListingOnlyForRoutedServices() {
        String listing = """
                table netdev tiergate {
                	map services {
                		typeof ip daddr . meta l4proto . th dport : verdict
                		elements = { 10.0.0.100 . tcp . 80 : goto s_tcp_10_0_0_100_80 }
                	}
                	map services6 {
                		typeof ip6 daddr . meta l4proto . th dport : verdict
                		elements = { fd77::100 . tcp . 80 : goto s_tcp_fd77__100_80 }
                	}
                	map d_tcp_fd77__100_80 {
                		type ipv6_addr : counter
                		elements = { fd77::11 : "c_tcp_fd77__100_80_fd77__11",
                			     fd77::12 : "c_tcp_fd77__100_80_fd77__12" }
                	}
                	counter c_tcp_10_0_0_100_80_10_0_0_11 {
                		packets 12 bytes 3400
                	}
                	chain s_tcp_10_0_0_100_80 {
                		tcp flags syn / syn,ack ip daddr != 10.0.0.100 add @f_tcp_10_0_0_100_80 { ip saddr . tcp sport : ip daddr }
                		fwd ip to jhash ip saddr . tcp sport mod 7 seed 0x5eed map @m_tcp_10_0_0_100_80 device "eth0"
                		drop comment "tg tcp/10.0.0.100:80 fp=0123456789abcdef ft=65536/300s"
                	}
                	chain s_tcp_10_0_0_100_81 {
                		drop comment "tg tcp/10.0.0.100:81 fp=00000000000000ff"
                	}
                	chain s_tcp_fd77__100_80 {
                		drop comment "tg tcp/[fd77::100]:80 fp=fedcba9876543210 ft=65536/300s"
                	}
                }
                """;
        assertThat(NftRuleset.fingerprints(listing))
                .as("a chain the services map no longer routes to counts as missing, so it is repaired; IPv6 services "
                        + "are routed by services6")
                .containsExactly(Map.entry("tcp/10.0.0.100:80", "0123456789abcdef"),
                        Map.entry("tcp/[fd77::100]:80", "fedcba9876543210"));
        assertThat(NftRuleset.parseKey("tcp/[fd77::100]:80")).isEqualTo(WEB6);
        assertThat(NftRuleset.counterMembers(listing)).as("IPv6 members, wrapped over lines as nft prints them")
                .containsExactly(Map.entry("fd77::11", "c_tcp_fd77__100_80_fd77__11"),
                        Map.entry("fd77::12", "c_tcp_fd77__100_80_fd77__12"));
        assertThat(NftRuleset.flowTables(listing)).containsOnly(Map.entry("tcp/10.0.0.100:80", "65536/300s"),
                Map.entry("tcp/[fd77::100]:80", "65536/300s"));
        assertThat(NftRuleset.objects(listing)).contains("map services", "counter c_tcp_10_0_0_100_80_10_0_0_11");
        assertThat(NftRuleset.counterValues(listing).get("c_tcp_10_0_0_100_80_10_0_0_11")).containsExactly(12, 3400);
        assertThat(NftRuleset.parseKey("tcp/10.0.0.100:80")).isEqualTo(WEB);
    }

    @Test
    void pinnedFlowsAreCountedPerRealServerFromTheFlowMapListing() {
        String listing = """
                table netdev tiergate {
                	map f_tcp_10_0_0_100_80 {
                		typeof ip saddr . tcp sport : ip daddr
                		size 65536
                		flags dynamic,timeout
                		timeout 5m
                		elements = { 10.78.0.2 . 40000 timeout 5m expires 4m59s : 10.0.0.11, 10.78.0.2 . 40002 timeout 5m expires 4m58s : 10.0.0.12,
                			     10.78.0.2 . 40004 timeout 5m expires 4m50s : 10.0.0.11 }
                	}
                }
                """;
        assertThat(NftRuleset.pinnedPerServer(listing)).containsExactlyInAnyOrderEntriesOf(
                Map.of("10.0.0.11", 2L, "10.0.0.12", 1L));
    }
}
