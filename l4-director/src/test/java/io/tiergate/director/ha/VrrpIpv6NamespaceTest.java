package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * VRRPv3 over IPv6 between Tiergate and Debian's keepalived 2.2.7 ({@code vrrp_version 3}, {@code native_ipv6},
 * 50 ms adverts, multicast to ff02::12 from the link-local addresses), in both roles. A client namespace on the
 * same segment holds a neighbour entry for the VIP fd88::100 and connects to it: after each failover the new
 * master's unsolicited Neighbor Advertisement must reach the client (tcpdump), move its neighbour entry to the new
 * master's MAC without the client asking, and the client's next connection to the VIP must land on the new master.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@VrrpNeedsNamespaces(tools = {"keepalived", "curl", "python3"})
class VrrpIpv6NamespaceTest {
    private static final Duration START = Duration.ofSeconds(20);
    private static final String VIP6 = "fd88::100";
    private static final String NA = "icmp6 and ip6[40] == 136";
    /** Answers every TCP connection on port 8080 with a one-line HTTP response naming the host. */
    private static final String RESPONDER = """
            import socket, sys
            s = socket.socket(socket.AF_INET6)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::", 8080))
            s.listen(16)
            body = sys.argv[1].encode()
            while True:
                c, _ = s.accept()
                c.recv(4096)
                c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(body), body))
                c.close()
            """;

    /** The segment with IPv6 on every host: fd88::N/64 and a link-local address that has left DAD. */
    private static VrrpLab lab(String... hosts) throws Exception {
        VrrpLab lab = VrrpLab.withPrefix("tg6", hosts);
        try {
            // No MLD querier on this bridge: snooping off, so ff02::12 and ff02::1 reach every port as on a switch.
            VrrpLab.run("ip", "-n", lab.switchNamespace(), "link", "set", "br0", "type", "bridge", "mcast_snooping", "0");
            for (int i = 0; i < hosts.length; i++) {
                lab.ip(hosts[i], "-6", "addr", "add", "fd88::" + (i + 1) + "/64", "dev", "eth0", "nodad");
            }
            for (String h : hosts) {
                long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (lab.ip(h, "-6", "addr", "show", "dev", "eth0", "tentative").contains("inet6")) {
                    if (System.nanoTime() > end) {
                        throw new IllegalStateException("link-local address of " + h + " still tentative after 10 s");
                    }
                    Thread.sleep(50);
                }
            }
            return lab;
        } catch (Exception e) {
            lab.close();
            throw e;
        }
    }

    private static String tiergateYaml(int priority) {
        return VrrpLab.yaml(VrrpLab.VRID, priority, "\"" + VIP6 + "/64\"", "");
    }

    private static String keepalivedConf(VrrpLab lab, String host, int priority) {
        return """
                global_defs {
                  router_id %s
                  vrrp_version 3
                }
                vrrp_instance VI_6 {
                  state BACKUP
                  interface eth0
                  virtual_router_id %d
                  priority %d
                  advert_int 0.05
                  native_ipv6
                  virtual_ipaddress {
                    %s/64
                  }
                }
                """.formatted(lab.ns(host), VrrpLab.VRID, priority, VIP6);
    }

    /** Who answers a new connection from the client to the VIP (the responder's name), or the error. */
    private static String whoAnswers(VrrpLab lab) throws Exception {
        try {
            return VrrpLab.run("ip", "netns", "exec", lab.ns("client"), "curl", "-s", "-m", "3", "-g",
                    "http://[" + VIP6 + "]:8080/");
        } catch (IllegalStateException e) {
            return "no answer (" + e.getMessage().trim() + ")";
        }
    }

    /** The MAC in the client's neighbour entry for the VIP ("" when it has none). */
    private static String neighbourMac(VrrpLab lab) throws Exception {
        String line = lab.ip("client", "-6", "neigh", "show", VIP6, "dev", "eth0");
        int i = line.indexOf("lladdr ");
        return i < 0 ? "" : line.substring(i + 7).split("\\s+")[0];
    }

    /** Waits until the client's entry names {@code mac}; the client sends nothing meanwhile. */
    private static void awaitNeighbour(VrrpLab lab, String mac, Duration within) throws Exception {
        long end = System.nanoTime() + within.toNanos();
        String seen = "";
        while (System.nanoTime() < end) {
            seen = neighbourMac(lab);
            if (seen.equals(mac)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the client's neighbour entry for " + VIP6 + " still says " + seen + ", expected "
                + mac + " (log in " + lab.dir + ")");
    }

    /**
     * Waits until {@code s} has been {@code state} for a whole second (at most 15 s) and checks that it dropped no
     * advert for a bad checksum or hop limit. A backup that dropped the master's adverts would take over and stay
     * master; a takeover that ends with the next advert is the master starved for 3 × 50 ms by the load on the
     * test machine (printed, not failed: load averages above 20 on 2 cores happen here).
     */
    private static void awaitSettled(VrrpLab.Speaker s, String state) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        long since = -1;
        int changes = 0;
        while (System.nanoTime() < end) {
            while (s.states.poll() != null) {
                changes++;
                since = -1;
            }
            long now = System.nanoTime();
            if (!s.last.equals(state)) {
                since = -1;
            } else if (since < 0) {
                since = now;
            } else if (now - since >= Duration.ofSeconds(1).toNanos()) {
                if (changes > 0) {
                    System.out.printf("IPv6: %s settled as %s after %d role changes (load)%n", s.host, state, changes);
                }
                assertThat(s.logged("bad checksum")).as("adverts dropped for their checksum").isFalse();
                assertThat(s.logged("instead of 255")).as("adverts dropped for their hop limit").isFalse();
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError(s.host + " did not stay " + state + " for a second within 15 s; it is " + s.last);
    }

    /** keepalived's role after waiting a second: the last "Entering ... STATE" line of its log. */
    private static String keepalivedState(VrrpLab.Keepalived ka) throws Exception {
        Thread.sleep(1_000);
        String log = Files.readString(ka.log);
        int i = log.lastIndexOf("Entering ");
        return i < 0 ? "" : log.substring(i + 9).split(" ")[0];
    }

    private static void responders(VrrpLab lab, String... hosts) throws Exception {
        for (String h : hosts) {
            lab.background(h, "python3", "-c", RESPONDER, h);
        }
    }

    @Test
    void tiergateBacksUpAKeepalivedMasterOverIpv6AndTakesOverWhenItCrashes() throws Exception {
        try (VrrpLab lab = lab("ka", "tg", "client")) {
            responders(lab, "ka", "tg");
            VrrpLab.ArpWatch na = lab.watch("client", NA);
            VrrpLab.Keepalived ka = lab.keepalivedWith("ka", keepalivedConf(lab, "ka", 200));
            ka.awaitLog("Entering MASTER STATE", START);
            VrrpLab.Speaker tg = lab.tiergateWith("tg", "tg.yaml", tiergateYaml(100));
            tg.awaitState("BACKUP", START);
            awaitSettled(tg, "BACKUP"); // keepalived's adverts pass our checksum/hop-limit checks, or we'd stay master
            assertThat(lab.hasAddress("tg", VIP6)).isFalse();
            assertThat(tg.status()).as("status names the master by its link-local address").contains("master=fe80::");
            assertThat(whoAnswers(lab)).isEqualTo("ka");
            assertThat(neighbourMac(lab)).isEqualTo(lab.mac("ka"));

            long crashed = ka.crash();
            long announced = na.firstFrom(lab.mac("tg"), VIP6, crashed, Duration.ofSeconds(2));
            System.out.printf("IPv6: Tiergate's Neighbor Advertisement reached the client %.1f ms after keepalived "
                    + "crashed%n", VrrpLab.ms(announced - crashed));
            tg.awaitState("MASTER", Duration.ofSeconds(1));
            awaitNeighbour(lab, lab.mac("tg"), Duration.ofSeconds(1));
            assertThat(lab.hasAddress("tg", VIP6)).isTrue();
            assertThat(lab.ip("tg", "-6", "addr", "show", "dev", "eth0", "to", VIP6 + "/128"))
                    .as("usable at once (nodad), never a source address (preferred_lft 0)")
                    .contains("deprecated").doesNotContain("tentative");
            assertThat(whoAnswers(lab)).as("the client's next connection to the VIP").isEqualTo("tg");
        }
    }

    @Test
    void keepalivedBacksUpATiergateMasterOverIpv6AndTakesOverWhenItIsKilled() throws Exception {
        try (VrrpLab lab = lab("tg", "ka", "client")) {
            responders(lab, "ka", "tg");
            VrrpLab.ArpWatch na = lab.watch("client", NA);
            long started = System.nanoTime();
            VrrpLab.Speaker tg = lab.tiergateWith("tg", "tg.yaml", tiergateYaml(200));
            tg.awaitState("MASTER", START);
            na.firstFrom(lab.mac("tg"), VIP6, started, Duration.ofSeconds(2));
            VrrpLab.Keepalived ka = lab.keepalivedWith("ka", keepalivedConf(lab, "ka", 100));
            ka.awaitLog("Entering BACKUP STATE", START);
            awaitSettled(tg, "MASTER");
            assertThat(keepalivedState(ka)).as("keepalived accepts Tiergate's IPv6 adverts: backup").isEqualTo("BACKUP");
            assertThat(whoAnswers(lab)).isEqualTo("tg");
            assertThat(neighbourMac(lab)).isEqualTo(lab.mac("tg"));

            long killed = tg.kill();
            long announced = na.firstFrom(lab.mac("ka"), VIP6, killed, Duration.ofSeconds(2));
            System.out.printf("IPv6: keepalived's Neighbor Advertisement reached the client %.1f ms after Tiergate "
                    + "was killed%n", VrrpLab.ms(announced - killed));
            ka.awaitLog("Entering MASTER STATE", Duration.ofSeconds(1));
            awaitNeighbour(lab, lab.mac("ka"), Duration.ofSeconds(1));
            assertThat(whoAnswers(lab)).as("the client's next connection to the VIP").isEqualTo("ka");

            // Tiergate comes back with the higher priority, preempts keepalived and moves the client back.
            VrrpLab.Speaker tg2 = lab.tiergateWith("tg", "tg2.yaml", tiergateYaml(200));
            long restarted = System.nanoTime();
            tg2.awaitState("MASTER", START);
            na.firstFrom(lab.mac("tg"), VIP6, restarted, Duration.ofSeconds(2));
            awaitNeighbour(lab, lab.mac("tg"), Duration.ofSeconds(2));
            long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (lab.hasAddress("ka", VIP6) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(lab.hasAddress("ka", VIP6)).as("keepalived gave the VIP back to the higher-priority Tiergate")
                    .isFalse();
            assertThat(whoAnswers(lab)).isEqualTo("tg");
        }
    }

    /** The host's link-local address on eth0 (without the prefix length). */
    private static String linkLocal(VrrpLab lab, String host) throws Exception {
        String out = lab.ip(host, "-6", "-br", "addr", "show", "dev", "eth0", "scope", "link");
        for (String word : out.trim().split("\\s+")) {
            if (word.startsWith("fe80:")) {
                return word.substring(0, word.indexOf('/'));
            }
        }
        throw new IllegalStateException("no link-local address on " + host + ": " + out);
    }

    /**
     * Unicast over IPv6 (keepalived: unicast_peer with the link-local address, as it checks the source against
     * that list), and the Neighbor Advertisement bursts: the first at takeover, the second garp_master_delay later.
     */
    @Test
    void unicastOverIpv6WithASecondNeighborAdvertisementBurst() throws Exception {
        try (VrrpLab lab = lab("ka", "tg", "client")) {
            String kaLl = linkLocal(lab, "ka");
            String tgLl = linkLocal(lab, "tg");
            VrrpLab.ArpWatch na = lab.watch("client", NA);
            VrrpLab.ArpWatch multicast = lab.watch("client", "ip6 proto 112 and ip6 dst ff02::12");
            VrrpLab.Keepalived ka = lab.keepalivedWith("ka", keepalivedConf(lab, "ka", 200)
                    .replace("native_ipv6", "native_ipv6\n  unicast_peer {\n    " + tgLl + "\n  }"));
            ka.awaitLog("Entering MASTER STATE", START);
            VrrpLab.Speaker tg = lab.tiergateWith("tg", "tg.yaml", VrrpLab.yaml(VrrpLab.VRID, 100,
                    "\"" + VIP6 + "/64\"", "unicast_peers: [\"" + kaLl + "\"]\ngarp_count: 3\ngarp_master_delay: 1s\n"));
            tg.awaitState("BACKUP", START);
            awaitSettled(tg, "BACKUP");

            long crashed = ka.crash();
            tg.awaitState("MASTER", Duration.ofSeconds(2));
            long first = na.firstFrom(lab.mac("tg"), VIP6, crashed, Duration.ofSeconds(2));
            java.util.List<Long> later = new java.util.ArrayList<>();
            long end = first + Duration.ofMillis(2_500).toNanos();
            while (System.nanoTime() < end) {
                VrrpLab.ArpWatch.Line l = na.lines.poll(50, TimeUnit.MILLISECONDS);
                if (l != null && l.text().startsWith(lab.mac("tg")) && l.text().contains(VIP6 + ",")) {
                    later.add(l.nanos() - first);
                }
            }
            System.out.printf("IPv6 unicast: Neighbor Advertisements after the first (ms): %s%n",
                    later.stream().map(n -> String.format("%.0f", VrrpLab.ms(n))).toList());
            assertThat(later.stream().filter(n -> n < 500_000_000L).count())
                    .as("the rest of the first burst (garp_count 3)").isEqualTo(2);
            assertThat(later.stream().filter(n -> n >= 900_000_000L && n < 1_600_000_000L).count())
                    .as("the second burst, garp_master_delay 1s later").isEqualTo(3);
            assertThat(multicast.lines).extracting(VrrpLab.ArpWatch.Line::text).as("unicast only: nothing to ff02::12")
                    .noneMatch(l -> l.contains("ff02::12"));
        }
    }

    /** A keepalived master for our IPv6 VIP under another VRID: both own it, and Tiergate says so at once. */
    @Test
    void aForeignIpv6MasterForOurVipIsASplitBrainError() throws Exception {
        try (VrrpLab lab = lab("ka", "tg")) {
            VrrpLab.Keepalived ka = lab.keepalivedWith("ka", keepalivedConf(lab, "ka", 200)
                    .replace("virtual_router_id " + VrrpLab.VRID, "virtual_router_id 43"));
            ka.awaitLog("Entering MASTER STATE", START);
            VrrpLab.Speaker tg = lab.tiergateWith("tg", "tg.yaml", tiergateYaml(100));
            tg.awaitState("MASTER", START);
            tg.awaitLogged("SPLIT BRAIN", Duration.ofSeconds(2));
            assertThat(tg.output).filteredOn(l -> l.contains("SPLIT BRAIN")).first().asString()
                    .containsPattern("fe80::[0-9a-f:]+ is MASTER for our VIPs fd88::100 under vrid 43 \\(ours: 42\\)")
                    .contains("both answer Neighbor Solicitations for them");
            assertThat(tg.metric("tiergate_director_vrrp_mismatched_adverts_total", "cause=\"vrid\""))
                    .isPositive();
        }
    }
}
