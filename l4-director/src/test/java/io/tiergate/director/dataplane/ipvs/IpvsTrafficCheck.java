package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.dataplane.ipvs.IpvsCodecGoldenTest.addr;
import static io.tiergate.director.dataplane.ipvs.IpvsKernelChecks.ipvsadm;
import static io.tiergate.director.dataplane.ipvs.IpvsKernelChecks.sh;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

/**
 * Real HTTP through IPVS direct routing, inside the VM: the guest's root namespace is the director
 * (VIP on the bridge), a client and two real servers live in namespaces on the same bridge, the
 * real servers hold the VIP on lo and don't answer ARP for it. Requests through the VIP reach both
 * real servers; after one is killed and removed (what the engine does on a health transition),
 * every request succeeds on the other.
 */
final class IpvsTrafficCheck {
    private static final String VIP = "192.168.50.100";

    private IpvsTrafficCheck() {}

    static void run(IpvsClient ipvs) throws Exception {
        sh(String.join("\n",
                "set -e",
                "ip link add tgbr0 type bridge && ip addr add 192.168.50.1/24 dev tgbr0 && ip addr add " + VIP + "/32 dev tgbr0 && ip link set tgbr0 up",
                "for n in cli:10 rs1:11 rs2:12; do",
                "  ns=${n%:*}; ip=${n#*:}",
                "  ip netns add $ns",
                "  ip link add v$ns type veth peer name eth0 netns $ns",
                "  ip link set v$ns master tgbr0 up",
                "  ip -n $ns addr add 192.168.50.$ip/24 dev eth0",
                "  ip -n $ns link set eth0 up; ip -n $ns link set lo up",
                "done",
                "for ns in rs1 rs2; do",
                "  ip -n $ns addr add " + VIP + "/32 dev lo",
                "  ip netns exec $ns sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
                "  mkdir -p /tmp/$ns && echo $ns > /tmp/$ns/index.html",
                "  ip netns exec $ns busybox httpd -p 80 -h /tmp/$ns",
                "done"));
        IpvsService web = IpvsService.tcp(addr(VIP), 80).scheduler("rr").build();
        IpvsDestination rs1 = IpvsDestination.builder(addr("192.168.50.11"), 80).forwarding(IpvsForwarding.ROUTE).build();
        IpvsDestination rs2 = IpvsDestination.builder(addr("192.168.50.12"), 80).forwarding(IpvsForwarding.ROUTE).build();
        try {
            ipvs.newService(web);
            ipvs.newDestination(web, rs1);
            ipvs.newDestination(web, rs2);

            List<String> answers = curl(6);
            assertThat(answers).as("round robin over both real servers through the VIP").contains("rs1", "rs2").doesNotContain("FAILED");

            sh("ip netns exec rs2 busybox pkill -f 'httpd -p 80 -h /tmp/rs2' || ip netns pids rs2 | xargs -r kill 2>/dev/null; true");
            assertThat(curl(4)).as("with rs2 dead but still scheduled, its share fails").contains("FAILED");
            ipvs.delDestination(web, rs2);
            assertThat(curl(6)).as("after removing rs2 every request reaches rs1").containsOnly("rs1");

            // The kernel publishes the connection counters from its estimator timer, every 2 s (Debian 12's 6.1: the
            // per-CPU counters are summed there), so a read right after the requests can miss the last ones (it read
            // 9 of 16 in CI). Read ours and ipvsadm's until the count is in and both agree, within 10 s. 16 requests,
            // each from a port of its own (see curl); 10 leaves room for a request lost to the dead server's timing.
            long conns = -1;
            List<String> listing = List.of();
            for (int i = 0; i < 20; i++) {
                conns = ipvs.service(web).orElseThrow().stats().connections();
                listing = ipvsadm("-Ln", "--stats");
                String prefix = "TCP " + VIP + ":80 " + conns + " ";
                if (conns >= 10 && listing.stream().anyMatch(l -> l.startsWith(prefix))) {
                    break;
                }
                Thread.sleep(500);
            }
            assertThat(conns).as("connections scheduled").isGreaterThanOrEqualTo(10);
            String agreed = "TCP " + VIP + ":80 " + conns + " ";
            assertThat(listing).as("ipvsadm agrees with our connection count").anyMatch(l -> l.startsWith(agreed));
            assertThat(ipvs.destinations(web)).singleElement().satisfies(d -> assertThat(d.stats().connections()).isGreaterThan(0));
        } finally {
            ipvs.flush();
            sh("for ns in cli rs1 rs2; do ip netns pids $ns | xargs -r kill 2>/dev/null; ip netns del $ns; done; ip link del tgbr0");
        }
    }

    /**
     * Each request from its own client port: a port the kernel hands out again while its old connection is still in
     * IPVS's table is not scheduled again, so the count below would depend on the ephemeral port allocator.
     */
    private static final java.util.concurrent.atomic.AtomicInteger PORT = new java.util.concurrent.atomic.AtomicInteger(41000);

    private static List<String> curl(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String r = sh("ip netns exec cli curl -s --max-time 2 --local-port " + PORT.getAndIncrement() + " http://"
                    + VIP + "/ || echo FAILED").trim();
            out.add(r);
        }
        return out;
    }
}
