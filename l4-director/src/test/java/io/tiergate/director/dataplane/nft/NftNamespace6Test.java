package io.tiergate.director.dataplane.nft;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.engine.ServiceStatus;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.tiergate.director.dataplane.nft.NftNamespaceTest.installProbe;
import static io.tiergate.director.dataplane.nft.NftNamespaceTest.probeCounter;
import static io.tiergate.director.dataplane.nft.NftNamespaceTest.removeProbe;
import static io.tiergate.director.dataplane.nft.NftNamespaceTest.sh;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link NftNamespaceTest}'s topology over IPv6: client fd78::2, director fd77::3 (VIP fd77::100 on eth0), real
 * servers fd77::11..13 with the VIP on lo, one bridge in its own namespace. Addresses are added without DAD so they
 * work at once. The health checks run in the director's namespace (the event-loop threads inherit it from the engine
 * thread that first uses them). There is no arp_ignore for IPv6, and none is needed: the kernel answers a neighbour solicitation only
 * for addresses on the interface it arrived on, so the real servers stay silent about the VIP on their lo — the
 * first test checks that on the wire. Root only.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NftNamespace6Test {
    static final String P = "t6" + Long.toHexString(System.nanoTime() & 0xfffff);
    static final String CLIENT = P + "c";
    static final String DIR = P + "d";
    static final String SW = P + "sw";
    static final String VIP = "fd77::100";
    static final String[] RS = {P + "r1", P + "r2", P + "r3"};
    static final String[] RS_IP = {"fd77::11", "fd77::12", "fd77::13"};
    static final String CLIENT_IP = "fd78::2";
    static final List<Process> servers = new ArrayList<>();
    static Path work;
    static Vertx vertx;
    static Director director;

    @BeforeAll
    static void topology() throws Exception {
        NftNamespaceTest.assumeRootWithNft();
        work = Files.createTempDirectory(P);
        // accept_dad=0 before eth0 exists, so that its link-local address skips DAD too
        StringBuilder s = NftNamespaceTest.bridge(SW, P + "h", "fd77::254/64 nodad", "sysctl -qw "
                + "net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.forwarding=0",
                CLIENT, DIR, RS[0], RS[1], RS[2]);
        s.append("ip -n ").append(CLIENT).append(" addr add ").append(CLIENT_IP).append("/64 dev eth0 nodad\n");
        s.append("ip -n ").append(CLIENT).append(" route add fd77::/64 dev eth0\n");
        s.append("ip -n ").append(DIR).append(" addr add fd77::3/64 dev eth0 nodad\n");
        // preferred_lft 0: the VIP receives but is never picked as a source address. Without it the kernel prefers
        // the /128 VIP (longest match, capped at the prefix length) over fd77::3/64 for anything the director sends
        // to fd77::/64 — its health checks too, whose replies the real servers then deliver to their own lo.
        s.append("ip -n ").append(DIR).append(" addr add ").append(VIP).append("/128 dev eth0 nodad preferred_lft 0\n");
        s.append("ip -n ").append(DIR).append(" route add fd78::/64 dev eth0\n");
        for (int i = 0; i < 3; i++) {
            s.append("ip -n ").append(RS[i]).append(" addr add ").append(RS_IP[i]).append("/64 dev eth0 nodad\n");
            s.append("ip -n ").append(RS[i]).append(" addr add ").append(VIP).append("/128 dev lo\n");
            s.append("ip -n ").append(RS[i]).append(" route add fd78::/64 dev eth0\n");
        }
        sh(s.toString());
        NftNamespaceTest.writeScripts(work, VIP);
        for (int i = 0; i < 3; i++) {
            servers.add(NftNamespaceTest.startRealServer(work, RS[i], "rs" + (i + 1), "::"));
        }
        vertx = Vertx.vertx();
        director = NftNamespaceTest.startIn(DIR, vertx, config("dr", true));
    }

    @AfterAll
    static void cleanup() throws Exception {
        NftNamespaceTest.teardown(director, vertx, servers, P + "h", SW, CLIENT, DIR, RS[0], RS[1], RS[2]);
    }

    static DirectorConfig config(String method, boolean withRs2) {
        return NftNamespaceTest.config("[" + VIP + "]:80", method, "[" + RS_IP[0] + "]:80",
                withRs2 ? "[" + RS_IP[1] + "]:80" : null, "[" + RS_IP[2] + "]:80");
    }

    static Map<String, Object> spread(int n) throws Exception {
        return NftNamespaceTest.spreadIn(CLIENT, work, n);
    }

    static String mac(String ns) throws Exception {
        return sh("ip netns exec " + ns + " cat /sys/class/net/eth0/address").trim();
    }

    @Test
    @Order(1)
    @SuppressWarnings("unchecked")
    void drOverIpv6SpreadsByWeightRepliesBypassTheDirectorAndOnlyTheDirectorAnswersForTheVip() throws Exception {
        String directorMac = mac(DIR);
        // the VIP's neighbour advertisement, by sender: ND target address at ICMPv6 offset 8
        String naForVip = "icmpv6 type nd-neighbor-advert @th,64,128 0xfd770000000000000000000000000100 ether saddr ";
        Map<String, String> dir = new LinkedHashMap<>();
        dir.put("toVip", "ip6 daddr " + VIP + " tcp dport 80");
        dir.put("fromVip", "ip6 saddr " + VIP + " tcp sport 80");
        installProbe(DIR, dir);
        Map<String, String> client = new LinkedHashMap<>();
        client.put("naDirector", naForVip + directorMac);
        client.put("naOthers", naForVip + "!= " + directorMac);
        installProbe(CLIENT, client);
        try {
            sh("ip -n " + CLIENT + " -6 neigh flush dev eth0"); // the client must solicit the VIP again
            Map<String, Object> r = spread(400);
            Map<String, Integer> counts = (Map<String, Integer>) r.get("counts");
            System.out.println("[measure] IPv6 DR distribution over 400 connections, weights 1:1:2: " + counts);
            assertThat(r.get("errors")).as("every request through the IPv6 DR VIP succeeds").isEqualTo(0);
            assertThat(counts.get("rs3")).as("weight 2 of 4 gets about half the connections").isBetween(150, 250);
            assertThat(counts.get("rs1")).isBetween(60, 140);
            assertThat(counts.get("rs2")).isBetween(60, 140);
            assertThat(r.get("clients")).as("DR: real servers see the client's own address").isEqualTo(List.of(CLIENT_IP));
            long in = probeCounter(DIR, "toVip");
            long out = probeCounter(DIR, "fromVip");
            System.out.println("[measure] director saw " + in + " client->VIP packets and " + out + " VIP->client packets");
            assertThat(in).as("client packets do pass the director").isGreaterThan(400);
            assertThat(out).as("DR replies go from the real servers straight to the client, never via the director")
                    .isZero();
            assertThat(probeCounter(CLIENT, "naDirector")).as("the director answered the client's solicitation")
                    .isGreaterThan(0);
            assertThat(probeCounter(CLIENT, "naOthers"))
                    .as("no real server advertises the VIP it holds on lo").isZero();
            assertThat(sh("ip -n " + CLIENT + " -6 neigh show " + VIP)).as("the client reaches the VIP at the director")
                    .contains(directorMac);
        } finally {
            removeProbe(DIR);
            removeProbe(CLIENT);
        }
        var rows = director.status().services().get(0).realServers();
        System.out.println("[measure] per real server: " + rows.stream().map(x -> x.id() + " packets=" + x.packetsIn()
                + " pinned=" + x.activeConnections()).toList());
        for (var row : rows) {
            assertThat(row.packetsIn()).as(row.id() + ": its nft counter saw forwarded packets").isGreaterThan(0);
            assertThat(row.activeConnections()).as(row.id() + ": its connections are pinned").isGreaterThan(0);
        }
    }

    /** The pin sets' promise, as in IPv4: draining a real server lets its established connections finish. */
    @Test
    @Order(2)
    @SuppressWarnings("unchecked")
    void drainKeepsEstablishedIpv6FlowsOnTheirServerAndSendsNewOnesElsewhere() throws Exception {
        try (NftNamespaceTest.Pins pins = new NftNamespaceTest.Pins(CLIENT, work, 30)) {
            List<String> before = pins.next();
            assertThat(before).as("30 keep-alive connections over all three real servers")
                    .contains("rs1", "rs2", "rs3").allMatch(x -> x.startsWith("rs"));
            director.drain("web", "[" + RS_IP[0] + "]:80");
            assertThat(sh("ip netns exec " + DIR + " nft list map netdev tiergate m_tcp_fd77__100_80"))
                    .as("the drained server owns no slot").doesNotContain(RS_IP[0]);
            assertThat(pins.next()).as("after draining rs1 every established connection answers from the same server")
                    .isEqualTo(before);
            Map<String, Object> fresh = spread(40);
            assertThat(fresh.get("errors")).as("new connections succeed while rs1 drains").isEqualTo(0);
            assertThat((Map<String, Integer>) fresh.get("counts")).as("new connections avoid the drained rs1")
                    .doesNotContainKey("rs1");
        } finally {
            director.enable("web", "[" + RS_IP[0] + "]:80");
        }
    }

    /**
     * As in IPv4: a SYN never follows a pin set; a new connection from the (address, port) of an earlier one, still
     * pinned to a now drained server, is scheduled afresh and its key leaves the old server's pin set.
     */
    @Test
    @Order(3)
    void aNewIpv6ConnectionFromAReusedClientPortAvoidsTheDrainedServerOfItsStalePin() throws Exception {
        String port = "40123";
        String first = NftNamespaceTest.clientIn(CLIENT, work, "port", port);
        assertThat(first).as("a connection from client port " + port).matches("rs[123]");
        int x = Integer.parseInt(first.substring(2)) - 1;
        String oldSet = "ip netns exec " + DIR + " nft list set netdev tiergate "
                + NftRuleset.pinSet(director.status().services().get(0).key(), RS_IP[x]);
        assertThat(sh(oldSet)).as("the closed connection's pin is still there").contains(CLIENT_IP + " . " + port);
        director.drain("web", "[" + RS_IP[x] + "]:80");
        try {
            String again = NftNamespaceTest.clientIn(CLIENT, work, "port", port);
            assertThat(again).as("a new connection from the same client port after draining " + first
                    + " is scheduled afresh, not sent along the old pin").matches("rs[123]").isNotEqualTo(first);
            assertThat(sh(oldSet)).as("the SYN took its key out of the drained server's pin set")
                    .doesNotContain(CLIENT_IP + " . " + port);
        } finally {
            director.enable("web", "[" + RS_IP[x] + "]:80");
        }
    }

    @Test
    @Order(4)
    void aRestartedDirectorLeavesAnIdenticalIpv6TableUntouched() throws Exception {
        String list = "ip netns exec " + DIR + " nft list table netdev tiergate";
        String before = sh(list).replaceAll("expires \\S+", "");
        director.close();
        director = NftNamespaceTest.startIn(DIR, vertx, config("dr", true));
        String after = sh(list).replaceAll("expires \\S+", "");
        assertThat(before).contains("services6", "fwd ip6 to");
        assertThat(after).as("the services6 map and the pin sets are read back and recognised").isEqualTo(before);
    }

    @Test
    @Order(5)
    @SuppressWarnings("unchecked")
    void aKilledIpv6RealServerIsTakenOut() throws Exception {
        long ms = NftNamespaceTest.killAndAwaitOut(director, servers, 1);
        ServiceStatus.RealServerStatus rs2 = director.status().services().get(0).realServers().get(1);
        System.out.println("[measure] killed IPv6 real server out of the nft map after " + ms + " ms (interval 100ms, fall 2)");
        assertThat(rs2.id()).isEqualTo("[" + RS_IP[1] + "]:80");
        assertThat(rs2.effectiveWeight()).as("the health check over IPv6 took rs2 out").isZero();
        assertThat(sh("ip netns exec " + DIR + " nft list map netdev tiergate m_tcp_fd77__100_80"))
                .as("the dead server owns no slot").doesNotContain(RS_IP[1]);
        Map<String, Object> r = spread(100);
        assertThat(r.get("errors")).as("new connections keep succeeding").isEqualTo(0);
        assertThat((Map<String, Integer>) r.get("counts")).doesNotContainKey("rs2");
    }

    @Test
    @Order(6)
    @SuppressWarnings("unchecked")
    void natOverIpv6PreservesTheClientAddressAndIsRepairedWhenRemoved() throws Exception {
        StringBuilder s = new StringBuilder("set -e\nip netns exec " + DIR + " sysctl -qw net.ipv6.conf.all.forwarding=1\n");
        for (String rs : RS) {
            s.append("ip -n ").append(rs).append(" route replace fd78::/64 via fd77::3\n");
            s.append("ip -n ").append(rs).append(" addr del ").append(VIP).append("/128 dev lo\n");
        }
        sh(s.toString());
        director.reload(config("nat", true));
        Map<String, Object> r = spread(50);
        assertThat(r.get("errors")).as("NAT over IPv6 through the director works").isEqualTo(0);
        assertThat((Map<String, Integer>) r.get("counts")).as("every live real server answers through NAT (a server "
                + "that took the director's ICMPv6 redirect would answer the client directly and fail)")
                .containsKeys("rs1", "rs3");
        assertThat(r.get("clients")).as("NAT: the real server sees the client's address, not the director's")
                .isEqualTo(List.of(CLIENT_IP));
        assertThat(sh("ip netns exec " + DIR + " nft list tables")).contains("table ip6 tiergate_nat6");
        assertThat(sh("ip netns exec " + DIR + " nft list map netdev tiergate services6"))
                .as("the DR table no longer routes the VIP").doesNotContain(VIP);

        sh("ip netns exec " + DIR + " nft delete table ip6 tiergate_nat6");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline && !sh("ip netns exec " + DIR + " nft list tables").contains("tiergate_nat6")) {
            Thread.sleep(50);
        }
        assertThat(sh("ip netns exec " + DIR + " nft list tables"))
                .as("the repair tick (1s) puts back the IPv6 NAT table someone deleted").contains("tiergate_nat6");
        assertThat(spread(20).get("errors")).as("NAT over IPv6 works again after the repair").isEqualTo(0);
    }
}
