package io.tiergate.cli.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scale-out as a user runs it ({@code tiergate lab up --directors 3 --bgp}, from the packaged jar): a router namespace
 * running BIRD with ECMP spreads flows over three nft-DR directors that announce the VIP over BGP with BFD
 * (100 ms x 3). Long-lived keep-alive connections stream through all directors while directors crash, come back,
 * drain, stop and lose their real servers; each test prints its numbers (docs/scale-out.md quotes them).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ScaleOutIT {
    private static final Path JAR = Path.of("target/tiergate.jar").toAbsolutePath();
    private static final String PREFIX = "tgso" + ProcessHandle.current().pid() % 100000 + "-";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String VIP = ScaleOutLab.VIP;
    private static Path state;
    private static ScaleOutLab lab;
    private static String javaBin;

    @BeforeAll
    static void up() throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "scale-out tests skipped: " + why);
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libnftables.so.1")),
                "scale-out tests skipped: needs libnftables1 (apt-get install libnftables1)");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/bird")),
                "scale-out tests skipped: needs BIRD 2 (apt-get install bird2)");
        Assumptions.assumeTrue(Files.isRegularFile(JAR), "scale-out tests skipped: " + JAR + " missing (run mvn verify)");
        javaBin = ProcessHandle.current().info().command().orElse("java");
        state = Files.createTempDirectory("tg-scaleout");
        lab = new ScaleOutLab(PREFIX, state, JAR, javaBin, 3);
        lab.up("nft", Duration.ofSeconds(90));
    }

    @AfterAll
    static void down() {
        if (lab != null) {
            lab.down();
            assertThat(Netns.list()).as("the lab removes every namespace it made").noneMatch(n -> n.startsWith(PREFIX));
        }
    }

    private record Flows(long longCount, long longBroken, long newOk, long newFailed, Set<Integer> longPorts, String text) {
    }

    private static Process flows(int longLived, double seconds, double rate, Path out) throws IOException {
        return Netns.spawn(lab.ns("client"), out, List.of(javaBin, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp",
                JAR.toString(), FlowGen.class.getName(), VIP, "80", String.valueOf(longLived), String.valueOf(seconds),
                String.valueOf(rate)));
    }

    private static Flows finish(Process p, Path out) throws Exception {
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("the flow generator ends on its own").isTrue();
        String text = Files.readString(out, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("RESULT long=(\\d+) longBroken=(\\d+) newOk=(\\d+) newFailed=(\\d+)").matcher(text);
        assertThat(m.find()).as("flow generator printed no result:\n" + text).isTrue();
        Set<Integer> ports = new TreeSet<>();
        Matcher pm = Pattern.compile("LONG port=(\\d+)").matcher(text);
        while (pm.find()) {
            ports.add(Integer.parseInt(pm.group(1)));
        }
        return new Flows(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                Long.parseLong(m.group(4)), ports, text);
    }

    private static JsonNode status(String director) throws IOException {
        Netns.Result r = Netns.runResult("ip", "netns", "exec", lab.ns(director), "curl", "-s", "-m", "2",
                "http://127.0.0.1:9180/api/status");
        return JSON.readTree(r.output().isBlank() ? "{}" : r.output());
    }

    /** Packets this director forwarded to any real server (its nft counters). */
    private static long packets(String director) throws IOException {
        long sum = 0;
        for (JsonNode svc : status(director).path("services")) {
            for (JsonNode rs : svc.path("realServers")) {
                sum += Math.max(0, rs.path("packetsIn").asLong());
            }
        }
        return sum;
    }

    /** Client ports of the flows this director pinned on their SYN (its nft flow map). */
    private static Set<Integer> pinnedPorts(String director) {
        String rules = Netns.runResult("ip", "netns", "exec", lab.ns(director), "nft", "list", "table", "netdev",
                "tiergate").output();
        Set<Integer> out = new TreeSet<>();
        Matcher m = Pattern.compile(Pattern.quote(ScaleOutLab.CLIENT_NET + "2") + " \\. (\\d+)").matcher(rules);
        while (m.find()) {
            out.add(Integer.parseInt(m.group(1)));
        }
        return out;
    }

    private static void director(String dir, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", lab.ns(dir), javaBin, "-jar", JAR.toString(),
                "director"));
        cmd.addAll(List.of(args));
        Netns.Result r = Netns.runResult(cmd.toArray(String[]::new));
        assertThat(r.exit()).as("tiergate director " + String.join(" ", args) + " on " + dir + ":\n" + r.output()).isZero();
    }

    private static String hop(String director) {
        return lab.hosts().get(director);
    }

    /** Waits until the router's next hops for the VIP satisfy {@code cond}; returns the milliseconds it took. */
    private static long waitHops(String what, Duration timeout, java.util.function.Predicate<List<String>> cond)
            throws InterruptedException {
        long t0 = System.nanoTime();
        long end = t0 + timeout.toNanos();
        List<String> hops = lab.nextHops();
        while (!cond.test(hops)) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting until " + what
                        + " (router next hops now: " + hops + "; logs in " + state + ")");
            }
            Thread.sleep(10);
            hops = lab.nextHops();
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** All three in the router's route, their sessions Established with BFD Up, and still so a second later. */
    private static void allThreeAnnounce() throws Exception {
        waitHops("all three directors announce the VIP", Duration.ofSeconds(60), h -> h.size() == 3);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            boolean ok = lab.nextHops().size() == 3;
            for (String d : lab.directorNames()) {
                JsonNode session = status(d).path("bgp").path("sessions").path(0);
                ok &= session.path("state").asText().equals("Established") && session.path("bfd").asText().equals("Up");
            }
            if (ok) {
                Thread.sleep(1000);
                if (lab.nextHops().size() == 3) {
                    return;
                }
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("the three BGP sessions did not settle within 60 s (logs in " + state + ")");
            }
            Thread.sleep(200);
        }
    }

    @Test
    @Order(1)
    void newConnectionsSpreadOverEveryDirectorAndAllSucceed() throws Exception {
        allThreeAnnounce();
        Map<String, Long> before = new LinkedHashMap<>();
        for (String d : lab.directorNames()) {
            before.put(d, packets(d));
        }
        Path out = state.resolve("flows-spread.txt");
        Flows f = finish(flows(0, 6, 40, out), out);
        Map<String, Long> share = new LinkedHashMap<>();
        long total = 0;
        for (String d : lab.directorNames()) {
            long delta = packets(d) - before.get(d);
            share.put(d, delta);
            total += delta;
        }
        System.out.println("[spread] new connections ok=" + f.newOk() + " failed=" + f.newFailed()
                + "; packets forwarded per director " + share + " of " + total);
        assertThat(f.newFailed()).as("every new connection succeeds:\n" + f.text()).isZero();
        assertThat(f.newOk()).isGreaterThan(150);
        for (String d : lab.directorNames()) {
            JsonNode session = status(d).path("bgp").path("sessions").get(0);
            assertThat(session.path("state").asText()).as(d + "'s BGP session as director status shows it").isEqualTo("Established");
            assertThat(session.path("bfd").asText()).isEqualTo("Up");
            assertThat(session.path("exported").asLong()).isEqualTo(1);
            assertThat(share.get(d)).as(d + " forwards a share of the new connections (ECMP spreads them): " + share)
                    .isGreaterThan(total / 10);
        }
    }

    @Test
    @Order(2)
    void aCrashedDirectorsFlowsContinueThroughTheOthersAndItIsOutWithinTheBfdTime() throws Exception {
        allThreeAnnounce();
        Path out = state.resolve("flows-crash.txt");
        Process p = flows(30, 16, 20, out);
        Thread.sleep(5000);
        Set<Integer> victimPins = pinnedPorts("dir2");
        // A crashed machine: its link goes silent (no FIN, no BGP Cease can leave) and the director process dies.
        long t0 = System.nanoTime();
        Netns.run("ip", "-n", lab.ns("dir2"), "link", "set", "eth0", "down");
        lab.kill("dir2");
        waitHops("the router drops dir2", Duration.ofSeconds(5), h -> !h.contains(hop("dir2")));
        long detectMs = (System.nanoTime() - t0) / 1_000_000; // from the link going silent
        Flows f = finish(p, out);
        victimPins.retainAll(f.longPorts());
        System.out.println("[crash] dir2 out of the router's ECMP route after " + detectMs + " ms (BFD 100 ms x 3); "
                + "long-lived connections " + f.longCount() + ", of them pinned at dir2 " + victimPins.size()
                + ", broken " + f.longBroken() + "; new connections ok=" + f.newOk() + " failed=" + f.newFailed());
        assertThat(detectMs).as("new connections stop reaching the dead director within the detection time")
                .isLessThan(5000);
        assertThat(victimPins).as("some long-lived connections went through dir2 (else this test proves nothing)")
                .isNotEmpty();
        assertThat(f.longBroken()).as("no established connection is lost, those of the dead director included:\n"
                + f.text()).isZero();
        assertThat(f.newFailed()).as("new connections succeed (a SYN lost in the detection window is retransmitted):\n"
                + f.text()).isZero();
    }

    @Test
    @Order(3)
    void addingADirectorBackAndDrainingAnotherBreaksNoEstablishedConnection() throws Exception {
        Path out = state.resolve("flows-rejoin.txt");
        Process p = flows(30, 25, 20, out);
        Thread.sleep(3000);
        Netns.run("ip", "-n", lab.ns("dir2"), "link", "set", "eth0", "up");
        lab.restart("dir2");
        long rejoinMs = waitHops("dir2 announces again", Duration.ofSeconds(40), h -> h.contains(hop("dir2")));
        Thread.sleep(2000);
        long t0 = System.nanoTime();
        director("dir1", "drain", "--all");
        waitHops("the router drops drained dir1", Duration.ofSeconds(10), h -> !h.contains(hop("dir1")));
        long drainMs = (System.nanoTime() - t0) / 1_000_000;
        JsonNode bgp = status("dir1").path("bgp");
        Flows f = finish(p, out);
        System.out.println("[rejoin+drain] dir2 back in the ECMP route " + rejoinMs + " ms after its restart began; "
                + "dir1 out " + drainMs + " ms after 'drain --all' was started (JVM start included); long-lived broken "
                + f.longBroken() + " of " + f.longCount() + "; new ok=" + f.newOk() + " failed=" + f.newFailed());
        assertThat(bgp.path("drained").asBoolean()).isTrue();
        assertThat(bgp.path("vips").get(0).path("announced").asBoolean()).isFalse();
        assertThat(f.longBroken()).as("a director joining and one draining move flows but break none:\n" + f.text())
                .isZero();
        assertThat(f.newFailed()).as(f.text()).isZero();
        director("dir1", "enable", "--all");
        allThreeAnnounce();
    }

    @Test
    @Order(4)
    void aDirectorThatLosesAllItsRealServersWithdrawsAndTheOthersKeepServing() throws Exception {
        allThreeAnnounce();
        Path out = state.resolve("flows-lost-rs.txt");
        Process p = flows(30, 14, 20, out);
        Thread.sleep(4000);
        // dir3 can no longer reach any real server (its health checks fail); dir1 and dir2 still can.
        Path block = state.resolve("block.nft");
        Files.writeString(block, "table ip tgso_block {\n chain out {\n  type filter hook output priority 0; policy accept;\n"
                + "  ip daddr " + ScaleOutLab.SUBNET + "0/24 tcp dport 80 drop\n }\n}\n");
        long t0 = System.nanoTime();
        Netns.run("ip", "netns", "exec", lab.ns("dir3"), "nft", "-f", block.toString());
        long withdrawMs;
        try {
            waitHops("dir3 withdraws", Duration.ofSeconds(10), h -> !h.contains(hop("dir3")));
            withdrawMs = (System.nanoTime() - t0) / 1_000_000;
            JsonNode vip = status("dir3").path("bgp").path("vips").get(0);
            assertThat(vip.path("announced").asBoolean()).isFalse();
            assertThat(vip.path("reason").asText()).contains("real server");
        } finally {
            Netns.runResult("ip", "netns", "exec", lab.ns("dir3"), "nft", "delete", "table", "ip", "tgso_block");
        }
        long back = waitHops("dir3 announces again once its real servers are back", Duration.ofSeconds(20),
                h -> h.contains(hop("dir3")));
        Flows f = finish(p, out);
        System.out.println("[lost real servers] dir3 withdrew " + withdrawMs + " ms after its checks began failing "
                + "(fall 2 x 100 ms); back " + back + " ms after they recovered; long-lived broken " + f.longBroken()
                + " of " + f.longCount() + "; new ok=" + f.newOk() + " failed=" + f.newFailed());
        assertThat(withdrawMs).isLessThan(5000);
        assertThat(f.newFailed()).as("the other directors keep serving new connections:\n" + f.text()).isZero();
        assertThat(f.longBroken()).as("dir3's established flows move to directors that can reach the real servers:\n"
                + f.text()).isZero();
    }

    @Test
    @Order(5)
    void sigtermWithdrawsFirstAndExitsAfterTheConvergenceDelay() throws Exception {
        allThreeAnnounce();
        Path out = state.resolve("flows-sigterm.txt");
        Process p = flows(30, 10, 20, out);
        Thread.sleep(3000);
        ProcessHandle dir3 = ProcessHandle.of(lab.pid("dir3")).orElseThrow();
        long t0 = System.nanoTime();
        dir3.destroy();
        long withdrawMs = waitHops("dir3 withdraws on SIGTERM", Duration.ofSeconds(10), h -> !h.contains(hop("dir3")));
        boolean aliveAtWithdrawal = dir3.isAlive();
        dir3.onExit().get(20, TimeUnit.SECONDS);
        long exitMs = (System.nanoTime() - t0) / 1_000_000;
        Flows f = finish(p, out);
        System.out.println("[sigterm] dir3 withdrawn after " + withdrawMs + " ms, exited after " + exitMs
                + " ms (convergence_delay 1s); long-lived broken " + f.longBroken() + " of " + f.longCount()
                + "; new failed " + f.newFailed());
        assertThat(aliveAtWithdrawal).as("the routes go before the director does").isTrue();
        assertThat(exitMs).isGreaterThanOrEqualTo(1000);
        assertThat(f.longBroken()).as(f.text()).isZero();
        assertThat(f.newFailed()).as(f.text()).isZero();
        lab.restart("dir3");
        allThreeAnnounce();
    }
}
