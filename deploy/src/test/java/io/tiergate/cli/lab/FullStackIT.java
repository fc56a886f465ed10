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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The product as a user runs it: `tiergate lab` builds client → VIP → director (nft DR) → three proxy nodes → two
 * origins in namespaces, from the packaged jar. Load goes from the client namespace through the VIP while nodes
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
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "full-stack tests skipped: " + why);
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libnftables.so.1")),
                "full-stack tests skipped: needs libnftables1 (apt-get install libnftables1)");
        Assumptions.assumeTrue(Files.isRegularFile(JAR), "full-stack tests skipped: " + JAR + " missing (run mvn verify)");
        Assumptions.assumeTrue(Netns.list().stream().noneMatch(n -> n.startsWith(Lab.PREFIX)),
                "full-stack tests skipped: a lab is already up on this machine (tiergate lab down)");
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
        Process p = load(16, 8, 0, out);
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
        Counts c = finish(p, out);
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
        lab.restart("proxy2");
    }
}
