package io.tiergate.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tiergate director -c FILE} as a real process: SIGHUP re-reads the file; a valid file changes the running
 * services, an invalid one is rejected with FILE:LINE:COL and the previous config keeps running.
 */
class DirectorReloadProcessTest {
    static final String CONFIG = """
            director:
              dataplane: userspace
              admin: 127.0.0.1:%d
              services:
            %s""";

    static String service(String name, int port) {
        return "    " + name + ":\n      vip: 127.0.0.1:" + port + "\n      scheduler: rr\n"
                + "      health: {type: none}\n      real_servers: [127.0.0.1:9]\n";
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static String status(int admin) {
        StringWriter out = new StringWriter();
        Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "director", "status",
                "--admin", "127.0.0.1:" + admin);
        return out.toString();
    }

    static String await(BlockingQueue<String> lines, String wanted) throws Exception {
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            String l = lines.poll(100, TimeUnit.MILLISECONDS);
            if (l != null) {
                seen.append(l).append('\n');
                if (l.contains(wanted)) {
                    return seen.toString();
                }
            }
        }
        throw new AssertionError("expected a line containing '" + wanted + "' from the director; saw:\n" + seen);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sighupReloadsAValidFileAndKeepsTheOldConfigOnAnInvalidOne() throws Exception {
        Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux") && Files.isExecutable(Path.of("/bin/kill")),
                "skipped: SIGHUP reload test needs Linux and /bin/kill");
        int admin = freePort();
        int web = freePort();
        int api = freePort();
        Path file = Files.createTempFile("director", ".yaml");
        Files.writeString(file, CONFIG.formatted(admin, service("web", web)));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "director", "-c", file.toString()).redirectErrorStream(true).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (Exception ignored) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            await(lines, "director running");
            assertThat(status(admin)).contains("(web)").doesNotContain("(api)");

            Files.writeString(file, CONFIG.formatted(admin, (service("web", web) + service("api", api))));
            new ProcessBuilder("/bin/kill", "-HUP", Long.toString(p.pid())).start().waitFor();
            await(lines, "reloaded " + file);
            assertThat(status(admin)).as("the reloaded file's new service runs").contains("(web)").contains("(api)");

            Files.writeString(file, CONFIG.formatted(admin, (service("web", web) + service("api", api)))
                    .replace("scheduler: rr", "scheduler: roundrobin"));
            new ProcessBuilder("/bin/kill", "-HUP", Long.toString(p.pid())).start().waitFor();
            String rejected = await(lines, "reload rejected");
            Thread.sleep(300);
            StringBuilder rest = new StringBuilder(rejected);
            for (String l; (l = lines.poll()) != null; ) {
                rest.append(l).append('\n');
            }
            assertThat(rest.toString()).as("the problem is reported as FILE:LINE:COL")
                    .containsPattern(Pattern.quote(file.toString()) + ":\\d+:\\d+: .*scheduler");
            assertThat(p.isAlive()).as("an invalid file does not stop the director").isTrue();
            assertThat(status(admin)).as("the previous config keeps running").contains("(web)").contains("(api)");
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(file);
        }
    }
}
