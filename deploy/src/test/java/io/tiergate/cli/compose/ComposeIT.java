package io.tiergate.cli.compose;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The docker-compose stack as a user runs it: builds the image (on a locally made base: no registry here), brings up
 * deploy/docker-compose.yml with three proxies, sends traffic from the client container through the VIP (director1,
 * nft DR), kills a proxy container, scales the proxy service to four and checks the new container gets traffic.
 * Skips with one line without root, a Docker engine or docker-compose. Removes only its own compose project; the
 * images tiergate/local-base:bookworm and tiergate:compose-it are kept as the next run's build cache.
 */
class ComposeIT {
    private static final String VIP = "10.77.0.100";
    private static final String SUBNET = "10.77.0.0/24";
    private static final String BASE = "tiergate/local-base:bookworm";
    private static final String IMAGE = "tiergate:compose-it";
    /** One request per line: "EPOCH_MS CODE NODE"; works with curl older than 7.84 (no %header{}). */
    private static final String LOOP = "for i in $(seq %d); do "
            + "r=$(curl -s -m 2 -o /dev/null -D - http://" + VIP + "/ | tr -d '\\r' | awk "
            + "'NR==1{c=$2} tolower($1)==\"x-tiergate-node:\"{n=$2} END{printf \"%%s %%s\", (c?c:\"000\"), (n?n:\"-\")}'); "
            + "echo \"$(date +%%s%%3N) $r\"; done";

    private final Path root = repoRoot();
    private final String project = "tgit" + ProcessHandle.current().pid() + Long.toString(System.nanoTime() % 100000, 36);
    private final Path composeFile = root.resolve("deploy/docker-compose.yml");

    @Test
    @Timeout(value = 9, unit = TimeUnit.MINUTES) // backstop: a first run also debootstraps the base (~30 s-3 min)
    void stackServesThroughVipSurvivesAKilledProxyAndScales() throws Exception {
        assumeDocker();
        long t0 = System.nanoTime();
        Path jar = root.resolve("deploy/target/tiergate.jar");
        assertThat(jar).as("mvn package builds the jar before failsafe runs").isRegularFile();
        if (run(List.of("docker", "image", "inspect", BASE), Duration.ofSeconds(30)).code != 0) {
            Result base = run(List.of("bash", root.resolve("deploy/docker/make-local-base.sh").toString(), BASE),
                    Duration.ofMinutes(5));
            assertThat(base.code).as("make-local-base.sh:\n" + base.out).isZero();
        }
        Result build = run(List.of("docker", "build", "-q", "-f", "deploy/docker/Dockerfile", "--build-arg", "BASE=" + BASE,
                "-t", IMAGE, "."), Duration.ofMinutes(4));
        assertThat(build.code).as("docker build:\n" + build.out).isZero();
        log("images ready in %d ms", ms(t0));

        boolean ok = false;
        try {
            long up = System.nanoTime();
            Result r = compose(Duration.ofSeconds(120), "up", "-d", "--no-build", "--scale", "proxy=3");
            assertThat(r.code).as("docker-compose up:\n" + r.out).isZero();
            log("docker-compose up -d --scale proxy=3 returned after %d ms", ms(up));
            Set<String> proxies = proxyNodes();
            assertThat(proxies).hasSize(3);
            awaitFirst200(Duration.ofSeconds(90));
            log("stack up, first 200 through the VIP after %d ms; proxies %s", ms(up), proxies);

            // 1. Traffic spreads over the proxy containers (X-Tiergate-Node = $HOSTNAME = short container id).
            List<Line> lines = traffic(200);
            Map<String, Integer> byNode = count(lines);
            log("200 requests: %s", byNode);
            assertThat(lines).allMatch(l -> l.code.equals("200"), "every request answered 200");
            assertThat(byNode.keySet()).isSubsetOf(proxies);
            assertThat(byNode).as("Maglev over 3 proxies spreads 200 connections").hasSizeGreaterThanOrEqualTo(2);

            // 2. Kill one proxy container under traffic: errors only in a short window, then all 200 again.
            String victim = proxies.iterator().next();
            Process bg = start(300);
            Thread.sleep(2000);
            long killedAt = System.currentTimeMillis();
            Result kill = run(List.of("docker", "kill", containerOf(victim)), Duration.ofSeconds(30));
            assertThat(kill.code).as("docker kill:\n" + kill.out).isZero();
            List<Line> during = finish(bg, Duration.ofSeconds(90));
            List<Line> errors = during.stream().filter(l -> !l.code.equals("200")).toList();
            long lastError = errors.stream().mapToLong(l -> l.atMs).max().orElse(killedAt);
            long slowest = 0;
            for (int i = 1; i < during.size(); i++) {
                slowest = Math.max(slowest, during.get(i).atMs - during.get(i - 1).atMs);
            }
            long victimLast = during.stream().filter(l -> l.node.equals(victim)).mapToLong(l -> l.atMs).max().orElse(0);
            log("kill %s under traffic: %d requests (%d before the kill), %d errors %s, last error %d ms after the kill, "
                    + "victim's last answer %d ms after the kill, slowest request %d ms; by node %s", victim,
                    during.size(), during.stream().filter(l -> l.atMs < killedAt).count(), errors.size(), errors,
                    lastError - killedAt, victimLast - killedAt, slowest, count(during));
            assertThat(during).hasSize(300);
            assertThat(errors).as("errors only right after the kill")
                    .allMatch(l -> l.atMs >= killedAt - 500 && l.atMs <= killedAt + 5000);
            assertThat(during).filteredOn(l -> l.atMs > killedAt + 5000)
                    .as("no answer from the killed proxy 5 s after the kill").noneMatch(l -> l.node.equals(victim));
            List<Line> after = traffic(100);
            assertThat(after).allMatch(l -> l.code.equals("200"), "all 200 after the kill");
            assertThat(count(after).keySet()).doesNotContain(victim).isSubsetOf(proxies);

            // 3. Scale to 4: compose restarts the killed one and adds a new container; the director finds it in DNS.
            long scale = System.nanoTime();
            r = compose(Duration.ofSeconds(120), "up", "-d", "--no-build", "--no-recreate", "--scale", "proxy=4");
            assertThat(r.code).as("docker-compose up --scale proxy=4:\n" + r.out).isZero();
            Set<String> now = proxyNodes();
            assertThat(now).hasSize(4);
            Set<String> fresh = new HashSet<>(now);
            fresh.removeAll(proxies);
            assertThat(fresh).as("one new proxy container").hasSize(1);
            String newcomer = fresh.iterator().next();
            long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            Map<String, Integer> seen = Map.of();
            while (System.nanoTime() < deadline) {
                List<Line> batch = traffic(40);
                assertThat(batch).allMatch(l -> l.code.equals("200"), "all 200 while scaling");
                seen = count(batch);
                if (seen.containsKey(newcomer)) {
                    break;
                }
            }
            log("scaled to 4: new proxy %s answering %d ms after `up --scale` returned... %s", newcomer, ms(scale), seen);
            assertThat(seen).as("the new proxy container gets traffic (director re-resolves `proxy` every 1 s)")
                    .containsKey(newcomer);
            List<Line> last = traffic(100);
            assertThat(last).allMatch(l -> l.code.equals("200"), "all 200 with 4 proxies");
            log("100 requests with 4 proxies: %s; whole test %d ms", count(last), ms(t0));
            ok = true;
        } finally {
            if (!ok) {
                System.out.println(compose(Duration.ofSeconds(60), "logs", "--no-color", "--tail=40").out);
            }
            Result down = compose(Duration.ofSeconds(120), "down", "-v", "--remove-orphans", "-t", "3");
            log("docker-compose down: exit %d", down.code);
            assertThat(run(List.of("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=" + project),
                    Duration.ofSeconds(30)).out.trim()).as("the test removes its own containers").isEmpty();
        }
    }

    // ---- helpers ----

    private record Result(int code, String out) {
    }

    private record Line(long atMs, String code, String node) {
    }

    private static void log(String fmt, Object... args) {
        System.out.println("ComposeIT: " + String.format(fmt, args));
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }

    private static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        return Files.isRegularFile(p.resolve("deploy/docker-compose.yml")) ? p : p.getParent();
    }

    private void assumeDocker() throws Exception {
        String why = null;
        if (!"root".equals(System.getProperty("user.name"))) {
            why = "needs root (to run dockerd and build the local base image)";
        } else if (!onPath("docker")) {
            why = "no docker command (apt-get install docker.io)";
        } else if (!onPath("docker-compose")) {
            why = "no docker-compose (apt-get install docker-compose)";
        } else if (run(List.of("docker", "info"), Duration.ofSeconds(20)).code != 0) {
            why = "dockerd not reachable (`docker info` fails)";
        } else if (run(List.of("docker", "image", "inspect", BASE), Duration.ofSeconds(20)).code != 0 && !onPath("debootstrap")) {
            why = "no " + BASE + " image and no debootstrap to make it (apt-get install debootstrap)";
        } else {
            Result nets = run(List.of("sh", "-c",
                    "docker network ls -q | xargs -r docker network inspect -f '{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}'"),
                    Duration.ofSeconds(20));
            for (String l : nets.out.split("\n")) {
                if (l.contains(" " + SUBNET + " ")) {
                    why = "Docker network '" + l.split(" ")[0] + "' already uses " + SUBNET
                            + " (a compose stack is up: docker-compose -f deploy/docker-compose.yml down)";
                }
            }
        }
        if (why != null) {
            System.out.println("ComposeIT skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, "compose stack test skipped: " + why);
    }

    private static boolean onPath(String cmd) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, cmd))) {
                return true;
            }
        }
        return false;
    }

    private Result compose(Duration timeout, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("docker-compose", "--no-ansi", "-p", project, "-f", composeFile.toString()));
        cmd.addAll(List.of(args));
        return run(cmd, timeout);
    }

    private ProcessBuilder builder(List<String> cmd) {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("TIERGATE_IMAGE", IMAGE);
        env.put("TIERGATE_BASE", BASE);
        env.put("COMPOSE_INTERACTIVE_NO_CLI", "1");
        return pb;
    }

    private Result run(List<String> cmd, Duration timeout) throws Exception {
        Path out = Files.createTempFile("composeit", ".out");
        try {
            Process p = builder(cmd).redirectOutput(out.toFile()).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError(String.join(" ", cmd) + ": no exit within " + timeout + "\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Short ids (= X-Tiergate-Node) of the running proxy containers of this project. */
    private Set<String> proxyNodes() throws Exception {
        Result r = run(List.of("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=" + project,
                "--filter", "label=com.docker.compose.service=proxy"), Duration.ofSeconds(30));
        assertThat(r.code).as(r.out).isZero();
        Set<String> ids = new HashSet<>();
        for (String l : r.out.split("\n")) {
            if (!l.isBlank()) {
                ids.add(l.trim().substring(0, 12));
            }
        }
        return ids;
    }

    private String containerOf(String node) {
        return node; // docker accepts a unique id prefix
    }

    private void awaitFirst200(Duration max) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Result r = compose(Duration.ofSeconds(20), "exec", "-T", "client", "curl", "-s", "-m", "2", "-o", "/dev/null",
                    "-w", "%{http_code}", "http://" + VIP + "/");
            last = r.out.trim();
            if (last.endsWith("200")) {
                return;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("no 200 from http://" + VIP + "/ through the client container within " + max
                + " (last: " + last + ")");
    }

    private Process start(int requests) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("docker-compose", "--no-ansi", "-p", project, "-f",
                composeFile.toString(), "exec", "-T", "client", "sh", "-c", LOOP.formatted(requests)));
        Path out = Files.createTempFile("composeit-load", ".out");
        out.toFile().deleteOnExit();
        Process p = builder(cmd).redirectOutput(out.toFile()).start();
        outputs.put(p, out);
        return p;
    }

    private final Map<Process, Path> outputs = new HashMap<>();

    private List<Line> finish(Process p, Duration timeout) throws Exception {
        Path out = outputs.remove(p);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("traffic loop did not finish within " + timeout);
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            List<Line> lines = new ArrayList<>();
            for (String l : text.split("\n")) {
                String[] f = l.trim().split(" ");
                if (f.length == 3 && f[0].matches("\\d{13}")) {
                    lines.add(new Line(Long.parseLong(f[0]), f[1], f[2]));
                }
            }
            assertThat(p.exitValue()).as("traffic loop:\n" + text).isZero();
            return lines;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private List<Line> traffic(int requests) throws Exception {
        List<Line> lines = finish(start(requests), Duration.ofSeconds(120));
        assertThat(lines).hasSize(requests);
        return lines;
    }

    private static Map<String, Integer> count(List<Line> lines) {
        Map<String, Integer> m = new TreeMap<>();
        for (Line l : lines) {
            m.merge(l.code.equals("200") ? l.node : l.code, 1, Integer::sum);
        }
        return new LinkedHashMap<>(m);
    }
}
