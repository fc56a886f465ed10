package io.tiergate.cli.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The product as a user runs it: `tiergate lab` builds client → VIP → director (nft DR) → three proxy nodes → two
 * origins in namespaces, from the packaged jar; the two directors run VRRP (dir1 master, dir2 standby). Load goes
 * from the client namespace through the VIP while nodes
 * fail; each test prints its counts (they are recorded in docs/benchmarks.md).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FullStackIT {
    private static final Path JAR = Path.of("target/tiergate.jar").toAbsolutePath();
    private static final String URL = "http://" + Lab.VIP + "/";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path state;
    private static Lab lab;
    private static String javaBin;

    @BeforeAll
    static void up() throws Exception {
        LabPreconditions.assume("full-stack tests", JAR);
        javaBin = ProcessHandle.current().info().command().orElse("java");
        state = Files.createTempDirectory("tiergate-fullstack");
        lab = new Lab(state, JAR, javaBin);
        lab.up("nft", Duration.ofSeconds(60));
    }

    @AfterAll
    static void down() {
        if (lab != null) {
            lab.down();
            assertThat(Netns.list()).as("the lab removes every namespace it made").noneMatch(n -> n.startsWith(Lab.PREFIX));
        }
    }

    /** Runs LoadGen inside the client namespace in the background. */
    private static Process load(double seconds, int concurrency, int postBytes, Path out) throws IOException {
        return Netns.spawn(Lab.ns("client"), out, List.of(javaBin, "-Xmx128m", "-cp", JAR.toString(),
                LoadGen.class.getName(), URL, String.valueOf(concurrency), String.valueOf(seconds), String.valueOf(postBytes)));
    }

    /**
     * Runs LoadGen until {@code stop} appears (at most 120 s), so the load covers exactly the steps under test however
     * long they take on a loaded machine: a fixed duration either ends before the last step or waits after it. Each
     * worker pauses {@code pauseMs} between requests (see {@link LoadGen.Options}).
     */
    private static Process loadUntilStopped(Path stop, int concurrency, long pauseMs, Path out) throws IOException {
        Files.deleteIfExists(stop);
        return Netns.spawn(Lab.ns("client"), out, List.of(javaBin, "-Xmx128m", "-cp", JAR.toString(),
                LoadGen.class.getName(), URL, String.valueOf(concurrency), "120", "0", "0", stop.toString(),
                String.valueOf(pauseMs)));
    }

    /** Ends a {@link #loadUntilStopped} run and reads its counts. */
    private static Counts stopAndFinish(Process p, Path stop, Path out) throws Exception {
        assertThat(p.isAlive()).as("the load still runs when the steps under test are done (else it did not cover them)")
                .isTrue();
        Files.writeString(stop, "stop");
        return finish(p, out);
    }

    private record Counts(long requests, long ok, long errors, String text) {
    }

    private static Counts finish(Process p, Path out) throws Exception {
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the load generator ends on its own").isTrue();
        String text = Files.readString(out, StandardCharsets.UTF_8);
        String line = text.lines().filter(l -> l.startsWith("RESULT ")).findFirst()
                .orElseThrow(() -> new AssertionError("load generator printed no result:\n" + text));
        String[] f = line.split(" ");
        System.out.println(text);
        return new Counts(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), text);
    }

    private static JsonNode realServer(String director, String address) throws IOException {
        Netns.Result r = Netns.runResult("ip", "netns", "exec", Lab.ns(director), "curl", "-s", "-m", "1",
                "http://127.0.0.1:9180/api/status");
        JsonNode status = JSON.readTree(r.output().isBlank() ? "{}" : r.output());
        for (JsonNode svc : status.path("services")) {
            for (JsonNode rs : svc.path("realServers")) {
                if (rs.path("id").asText().startsWith(address + ":")) {
                    return rs;
                }
            }
        }
        return JSON.createObjectNode();
    }

    private static void director(String dir, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", Lab.ns(dir), javaBin, "-jar", JAR.toString(), "director"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--admin", "127.0.0.1:9180"));
        Netns.Result r = Netns.runResult(cmd.toArray(String[]::new));
        assertThat(r.exit()).as("tiergate director " + String.join(" ", args) + " on " + dir + ":\n" + r.output()).isZero();
    }

    private static void waitUntil(String what, Duration timeout, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    private static boolean up(String address) {
        try {
            return realServer("dir1", address).path("inDataplane").asBoolean(false)
                    && "up".equals(realServer("dir1", address).path("health").asText());
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    @Order(1)
    void everyProxyNodeAnswersThroughTheVip() throws Exception {
        Path out = state.resolve("load-baseline.txt");
        Counts c = finish(load(3, 8, 0, out), out);
        assertThat(c.errors()).as("no errors with every node healthy:\n" + c.text()).isZero();
        assertThat(c.ok()).isGreaterThan(50);
        assertThat(c.text()).contains("origin1").contains("origin2");
        // Keep-alive load uses only 8 connections; new connections show the director spreading over every node.
        java.util.Set<String> nodes = new java.util.TreeSet<>();
        for (int i = 0; i < 30; i++) {
            Netns.Result r = Netns.runResult("ip", "netns", "exec", Lab.ns("client"), "curl", "-s", "-m", "2", "-D", "-",
                    "-o", "/dev/null", URL);
            r.output().lines().filter(l -> l.toLowerCase().startsWith("x-tiergate-node:"))
                    .forEach(l -> nodes.add(l.substring(l.indexOf(':') + 1).trim()));
        }
        assertThat(nodes).as("30 new connections through the VIP reach every proxy node").containsExactly("proxy1", "proxy2", "proxy3");
    }

    @Test
    @Order(2)
    void anOriginKilledUnderLoadCausesNoClientErrorsForGetOrPost() throws Exception {
        Path out = state.resolve("load-origin-get.txt");
        Process p = load(6, 8, 0, out);
        Thread.sleep(2000);
        lab.kill("origin1");
        Counts get = finish(p, out);
        System.out.println("[origin killed, GET] requests=" + get.requests() + " errors=" + get.errors());
        assertThat(get.errors()).as("GETs are re-sent by the proxies when an origin dies:\n" + get.text()).isZero();
        lab.restart("origin1");
        Thread.sleep(2500); // the proxies' fail_timeout (2s) lets origin1 back in

        Path outPost = state.resolve("load-origin-post.txt");
        Process pp = load(6, 8, 32 * 1024, outPost);
        Thread.sleep(2000);
        lab.kill("origin2");
        Counts post = finish(pp, outPost);
        System.out.println("[origin killed, POST 32 KiB] requests=" + post.requests() + " errors=" + post.errors());
        assertThat(post.errors()).as("POSTs with a body are re-sent whole when an origin dies:\n" + post.text()).isZero();
        assertThat(post.ok()).isGreaterThan(20);
        lab.restart("origin2");
        Thread.sleep(2500);
    }

    @Test
    @Order(3)
    void aRollingRestartOfEveryProxyThroughDrainCausesNoClientErrors() throws Exception {
        Path out = state.resolve("load-rolling.txt");
        Path stop = state.resolve("load-rolling.stop");
        // Paced (8 connections, 10 ms between a connection's requests): back-to-back load takes both CPUs of a small
        // machine, and each restarted JVM then needs tens of seconds to come up.
        Process p = loadUntilStopped(stop, 8, 10, out);
        Thread.sleep(1000);
        for (String proxy : List.of("proxy1", "proxy2", "proxy3")) {
            String rs = Lab.HOSTS.get(proxy) + ":80";
            director("dir1", "drain", "web", rs);
            director("dir2", "drain", "web", rs);
            Thread.sleep(500);
            lab.stop(proxy, Duration.ofSeconds(10)); // graceful: in-flight requests finish, keep-alives close
            lab.restart(proxy);
            waitUntil(proxy + " listens again", Duration.ofSeconds(20), () -> Netns.runResult("ip", "netns", "exec",
                    Lab.ns("client"), "curl", "-s", "-m", "1", "-o", "/dev/null", "http://" + Lab.HOSTS.get(proxy) + "/").exit() == 0);
            director("dir1", "enable", "web", rs);
            director("dir2", "enable", "web", rs);
            Thread.sleep(500);
        }
        Thread.sleep(1000); // the last node back in, under load
        Counts c = stopAndFinish(p, stop, out);
        System.out.println("[rolling restart] requests=" + c.requests() + " errors=" + c.errors());
        assertThat(c.errors()).as("drain → restart → enable of every proxy is invisible to clients:\n" + c.text()).isZero();
    }

    @Test
    @Order(4)
    void aKilledProxyNodeIsTakenOutWithinOneSecondAndOnlyRequestsAroundTheKillFail() throws Exception {
        Path out = state.resolve("load-proxy-kill.txt");
        Process p = load(8, 8, 0, out);
        Thread.sleep(2000);
        String addr = Lab.HOSTS.get("proxy2");
        Instant killedAt = Instant.now();
        lab.kill("proxy2");
        try {
            killedProxyIsTakenOut(p, out, addr, killedAt);
        } finally {
            lab.restart("proxy2"); // also when an assertion failed: the later tests need all three proxies
        }
    }

    private void killedProxyIsTakenOut(Process p, Path out, String addr, Instant killedAt) throws Exception {
        waitUntil("the director takes proxy2 out", Duration.ofSeconds(5), () -> !up(addr));
        // Measured from the director's own log (the line is written once the dataplane change is applied), so the
        // number does not include how long this test takes to poll the admin API from another namespace.
        long removalMs = -1;
        for (String line : Files.readAllLines(state.resolve("dir1.log"))) {
            if (line.contains("health web/" + addr + ":80 DOWN: applied")) {
                Instant at = Instant.parse(line.substring(0, line.indexOf(' ')));
                if (!at.isBefore(killedAt)) {
                    removalMs = Duration.between(killedAt, at).toMillis();
                    break;
                }
            }
        }
        assertThat(removalMs).as("dir1's log records the removal of " + addr).isNotNegative();
        Counts c = finish(p, out);
        System.out.println("[proxy SIGKILL] removal=" + removalMs + "ms requests=" + c.requests() + " errors=" + c.errors());
        Files.writeString(state.resolve("proxy-kill-removal-ms.txt"), String.valueOf(removalMs));
        assertThat(removalMs).as("the director takes a killed proxy node out within 1 s").isLessThan(1000);
        assertThat(c.errors()).as("only requests around the kill may fail (in flight, or sent before removal):\n" + c.text())
                .isLessThan(c.requests() / 20);
    }

    // ---- director HA (VRRP) ----------------------------------------------------------------------------------

    private static String vrrpState(String dir) {
        Netns.Result r = Netns.runResult("ip", "netns", "exec", Lab.ns(dir), "curl", "-s", "-m", "1",
                "http://127.0.0.1:9180/api/status");
        try {
            return JSON.readTree(r.output().isBlank() ? "{}" : r.output()).path("ha").path("state").asText("");
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean hasVip(String dir) {
        return Netns.runResult("ip", "-n", Lab.ns(dir), "-4", "addr", "show", "dev", "eth0").output()
                .contains(Lab.VIP + "/32");
    }

    /** Local ports of the client's established connections to VIP:80 (LoadGen's 8 keep-alive connections). */
    private static java.util.Set<String> clientConnections() {
        String out = Netns.runResult("ip", "netns", "exec", Lab.ns("client"), "ss", "-Htn", "state", "established",
                "dst", Lab.VIP + ":" + Lab.VIP_PORT).output();
        java.util.Set<String> ports = new java.util.TreeSet<>();
        for (String line : out.lines().toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4) {
                ports.add(f[2].substring(f[2].lastIndexOf(':') + 1));
            }
        }
        return ports;
    }

    private static void awaitRoles(String master, String backup) throws InterruptedException {
        waitUntil(master + " is VRRP MASTER with the VIP and " + backup + " BACKUP without it", Duration.ofSeconds(30),
                () -> vrrpState(master).equals("MASTER") && vrrpState(backup).equals("BACKUP") && hasVip(master)
                        && !hasVip(backup));
    }

    /**
     * New connections through the VIP, one after another from a shell that stays open in the client namespace (no
     * namespace entry per probe): each line is "start end code" in epoch seconds, curl gives up after 200 ms.
     */
    private static Process prober(Path out) throws IOException {
        String script = "while :; do s=$EPOCHREALTIME; c=$(curl -s -m 0.2 -o /dev/null -w '%{http_code}' " + URL
                + "); echo \"$s $EPOCHREALTIME $c\"; done";
        return Netns.spawn(Lab.ns("client"), out, List.of("bash", "-c", script));
    }

    /** Milliseconds from {@code fault} to the end of the first successful probe that started after it. */
    private static long firstSuccessAfter(Path probes, Instant fault) throws IOException {
        double f = fault.getEpochSecond() + fault.getNano() / 1e9;
        for (String line : Files.readAllLines(probes)) {
            String[] p = line.trim().split(" ");
            if (p.length == 3 && Double.parseDouble(p[0]) >= f && p[2].equals("200")) {
                return Math.round((Double.parseDouble(p[1]) - f) * 1000);
            }
        }
        return -1;
    }

    /** Milliseconds from {@code fault} to the first "-> MASTER" line in {@code dir}'s log after it. */
    private static long masterLogLineAfter(String dir, Instant fault) throws IOException {
        for (String line : Files.readAllLines(state.resolve(dir + ".log"))) {
            if (line.contains("VRRP vrid 77: ") && line.contains("-> MASTER")) {
                Instant at = Instant.parse(line.substring(0, line.indexOf(' ')));
                if (!at.isBefore(fault)) {
                    return Duration.between(fault, at).toMillis();
                }
            }
        }
        return -1;
    }

    private static void awaitBothDirectorsAgree() throws InterruptedException {
        for (String proxy : List.of("proxy1", "proxy2", "proxy3")) {
            String addr = Lab.HOSTS.get(proxy);
            waitUntil("both directors have " + proxy + " up", Duration.ofSeconds(20), () -> {
                try {
                    for (String d : List.of("dir1", "dir2")) {
                        JsonNode rs = realServer(d, addr);
                        if (!rs.path("inDataplane").asBoolean(false) || !"up".equals(rs.path("health").asText())) {
                            return false;
                        }
                    }
                    return true;
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    /**
     * One failover of dir1 under load, then dir1 back and preempting, both phases with 8 keep-alive connections
     * open. {@code fault} breaks dir1, {@code repair} brings it back. Returns "takeover outage" numbers for the log.
     */
    private String failoverAndPreempt(String name, Runnable fault, Runnable repair) throws Exception {
        awaitBothDirectorsAgree();
        awaitRoles("dir1", "dir2");
        Path out = state.resolve("load-ha-" + name + ".txt");
        Path probes = state.resolve("probes-ha-" + name + ".txt");
        Path stop = state.resolve("load-ha-" + name + ".stop");
        Process load = loadUntilStopped(stop, 8, 0, out);
        Process probe = null;
        long takeoverMs;
        long firstOkMs;
        java.util.Set<String> before;
        java.util.Set<String> after;
        Counts c;
        try {
            Thread.sleep(2500);
            before = clientConnections();
            assertThat(before).as("LoadGen's 8 keep-alive connections are open").hasSizeGreaterThanOrEqualTo(8);
            probe = prober(probes); // after the snapshot: its short connections are not long-lived ones
            Thread.sleep(300);
            Instant faultAt = Instant.now();
            fault.run();
            waitUntil("dir2 takes over", Duration.ofSeconds(10), () -> vrrpState("dir2").equals("MASTER") && hasVip("dir2"));
            Thread.sleep(2000);
            after = clientConnections();
            c = stopAndFinish(load, stop, out);
            takeoverMs = masterLogLineAfter("dir2", faultAt);
            firstOkMs = firstSuccessAfter(probes, faultAt);
        } finally {
            if (probe != null) {
                kill(probe);
            }
            kill(load);
        }
        String result = "[director HA, " + name + "] dir2 MASTER (its log) after " + takeoverMs
                + " ms; first new connection through the VIP answered " + firstOkMs + " ms after the fault; load: requests="
                + c.requests() + " errors=" + c.errors() + "; keep-alive connections before " + before.size()
                + ", still open after the takeover " + after.stream().filter(before::contains).count();
        System.out.println(result);
        assertThat(takeoverMs).as("dir2 logs its takeover").isNotNegative();
        assertThat(firstOkMs).as("a new connection through the VIP succeeds after the takeover").isNotNegative();
        assertThat(c.errors()).as("errors only in the failover window (≤ 1%):\n" + c.text())
                .isLessThanOrEqualTo(Math.max(1, c.requests() / 100));
        assertThat(after).as("every long-lived connection open before the fault survives the takeover (same ports)")
                .containsAll(before);

        // dir1 returns and preempts (priority 150 > 100): no errors, no connection broken.
        Path out2 = state.resolve("load-ha-" + name + "-preempt.txt");
        Path stop2 = state.resolve("load-ha-" + name + "-preempt.stop");
        Process load2 = loadUntilStopped(stop2, 8, 0, out2);
        java.util.Set<String> before2;
        java.util.Set<String> after2;
        Counts c2;
        try {
            Thread.sleep(2000);
            before2 = clientConnections();
            repair.run();
            awaitRoles("dir1", "dir2");
            Thread.sleep(1000);
            after2 = clientConnections();
            c2 = stopAndFinish(load2, stop2, out2);
        } finally {
            kill(load2);
        }
        System.out.println("[director HA, " + name + ", dir1 back and preempting] requests=" + c2.requests() + " errors="
                + c2.errors() + "; connections before " + before2.size() + ", still open after "
                + after2.stream().filter(before2::contains).count());
        assertThat(c2.errors()).as("dir1's return and preemption cause no client error:\n" + c2.text()).isZero();
        assertThat(after2).as("no long-lived connection is broken by the preemption").containsAll(before2);
        return result;
    }

    private static void run(String... cmd) {
        Netns.Result r = Netns.runResult(cmd);
        assertThat(r.exit()).as(String.join(" ", cmd) + ": " + r.output()).isZero();
    }

    /**
     * The master director dies. A SIGKILLed process alone is not a dead box: its kernel keeps the VIP, answers ARP
     * and still forwards through its nft tables (so nothing would fail over and nothing would be measured). The box
     * dying is simulated honestly as the link going away (eth0 down, so it neither sends nor receives) together with
     * the SIGKILL of the director process; dir1 comes back as a rebooted box would: link up, process started again.
     */
    @Test
    @Order(5)
    void theMasterDirectorDyingUnderLoadMovesTheVipWithoutBreakingConnectionsAndItsReturnPreempts() throws Exception {
        String r = failoverAndPreempt("kill", () -> {
            run("ip", "-n", Lab.ns("dir1"), "link", "set", "eth0", "down");
            lab.kill("dir1");
        }, () -> {
            try {
                run("ip", "-n", Lab.ns("dir1"), "link", "set", "eth0", "up");
                lab.restart("dir1");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        Files.writeString(state.resolve("ha-kill.txt"), r);
    }

    /** dir1's link goes down while its process keeps running (it goes to FAULT), then comes back and preempts. */
    @Test
    @Order(6)
    void theMasterDirectorsLinkGoingDownMovesTheVipWithoutBreakingConnectionsAndItsReturnPreempts() throws Exception {
        String r = failoverAndPreempt("link-down",
                () -> run("ip", "-n", Lab.ns("dir1"), "link", "set", "eth0", "down"),
                () -> run("ip", "-n", Lab.ns("dir1"), "link", "set", "eth0", "up"));
        Files.writeString(state.resolve("ha-link-down.txt"), r);
    }
}
