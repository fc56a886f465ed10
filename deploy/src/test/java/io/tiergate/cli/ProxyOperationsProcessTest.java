package io.tiergate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy as an operator runs it for a year: started with {@code nohup ... &} from a script (SIGHUP and SIGINT
 * ignored by the parent), reloaded with {@code tiergate reload}, its access log rotated with mv + SIGUSR1, stopped
 * with Ctrl-C; HTTP health checks that log nothing per probe and one WARN per state change; a JSON log that holds
 * only JSON.
 */
@Timeout(120)
class ProxyOperationsProcessTest {
    @TempDir
    Path dir;
    Vertx vertx;
    HttpServer origin;
    int originPort;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void origin() throws Exception {
        Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux"), "skipped: signals test needs Linux");
        vertx = Vertx.vertx();
        origin = await(vertx.createHttpServer().requestHandler(req -> req.response().end("hello")).listen(0, "127.0.0.1"));
        originPort = origin.actualPort();
    }

    @AfterEach
    void stop() {
        if (vertx != null) {
            await(vertx.close());
        }
    }

    private Path config(String logging) throws Exception {
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(file, """
                logging: %s
                proxy:
                  access_log: {format: combined, path: %s}
                  admin: 127.0.0.1:0
                  listeners: [{address: 127.0.0.1:0}]
                  upstreams:
                    app:
                      health: {type: http, path: /healthz, interval: 300ms, timeout: 250ms, rise: 2, fall: 2}
                      servers: [127.0.0.1:%d]
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(logging, dir.resolve("access.log"), originPort));
        return file;
    }

    private int get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void underNohupWithSigintIgnoredItReloadsReopensTheAccessLogAndStopsOnCtrlC() throws Exception {
        // The wrapper really leaves both signals ignored for what it execs: SigIgn bit 0 is SIGHUP, bit 1 SIGINT.
        Process probe = new ProcessBuilder(concat(TierProcess.nohupWithSigintIgnored(), "grep", "SigIgn",
                "/proc/self/status")).redirectErrorStream(true).start();
        String sigIgn = new String(probe.getInputStream().readAllBytes()).trim();
        probe.waitFor(10, TimeUnit.SECONDS);
        assertThat(Long.parseLong(sigIgn.replaceAll(".*\\s", ""), 16) & 3).as("the wrapper ignores HUP and INT: " + sigIgn)
                .isEqualTo(3);

        Path file = config("{level: info}");
        Path pid = dir.resolve("run/proxy.pid");
        try (TierProcess p = TierProcess.start(TierProcess.nohupWithSigintIgnored(), "proxy", "-c", file.toString(),
                "--watch-interval", "0", "--drain", "5s", "--pid-file", pid.toString())) {
            int port = Integer.parseInt(p.waitFor("listening on 127\\.0\\.0\\.1:(\\d+)"));
            assertThat(get(port, "/before")).isEqualTo(200);
            Thread.sleep(1500); // several health probes

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(pid) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(Files.readString(pid).trim()).as("the pid file").isEqualTo(Long.toString(p.process.pid()));
            StringWriter out = new StringWriter();
            int rc = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "reload",
                    "--pid-file", pid.toString());
            assertThat(rc).as("tiergate reload: " + out).isZero();
            assertThat(out.toString()).contains("sent SIGHUP to tiergate proxy (pid " + p.process.pid() + ")");
            p.waitFor("reloaded " + java.util.regex.Pattern.quote(file.toString()));

            Path log = dir.resolve("access.log");
            Path rotated = dir.resolve("access.log.1");
            Files.move(log, rotated);
            p.signal("USR1");
            p.waitFor("access log .* reopened");
            assertThat(get(port, "/after")).isEqualTo(200);
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!(Files.exists(log) && Files.readString(log).contains("/after")) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(Files.readString(log)).as("new lines go to a fresh access.log").contains("GET /after")
                    .doesNotContain("/before");
            assertThat(Files.readString(rotated)).as("the moved file keeps the old lines only").contains("GET /before")
                    .doesNotContain("/after");

            p.signal("INT");
            assertThat(p.exit()).as("Ctrl-C is a graceful stop, exit 0; output:\n" + p.output()).isZero();
            assertThat(p.output()).contains("SIGINT: stopping").contains("stopped")
                    .as("the start-up line naming the I/O transport (epoll on Linux x86-64)")
                    .contains(System.getProperty("os.arch").equals("amd64") ? "I/O transport: epoll (Netty native)"
                            : "I/O transport: ")
                    .as("a clean HTTP probe: no reset, no stack trace").doesNotContain("Stream reset")
                    .doesNotContain("Exception");
            assertThat(pid).as("the pid file is removed on stop").doesNotExist();
        }
    }

    /**
     * A supervisor or deploy script that waits for the node to say it listens, then at once reloads or stops it, must
     * not lose the signal: under nohup an early HUP used to be ignored (the handler, installed after that line, had
     * to load the libc binding first), and an early TERM took the JVM's default action (exit 143, nothing drained).
     */
    @Test
    void aHupOrTermSentTheMomentItSaysItListensIsHandled() throws Exception {
        Path file = config("{level: info}");
        try (TierProcess p = TierProcess.start(TierProcess.nohupWithSigintIgnored(), "proxy", "-c", file.toString(),
                "--watch-interval", "0", "--drain", "5s")) {
            p.waitFor("listening on 127\\.0\\.0\\.1:");
            p.signal("HUP");
            p.waitFor("reloaded " + java.util.regex.Pattern.quote(file.toString()));
            // No TLS in this config: the TLS library (netty-tcnative's BoringSSL) is neither loaded nor announced,
            // which takes ~0.2 s off the start and ~6 MB off the resident memory.
            assertThat(Files.readString(Path.of("/proc/" + p.process.pid() + "/maps"))).as("mapped libraries")
                    .doesNotContain("tcnative");
            assertThat(p.output()).doesNotContain("TLS engine:");
        }
        try (TierProcess p = TierProcess.start(TierProcess.nohupWithSigintIgnored(), "proxy", "-c", file.toString(),
                "--watch-interval", "0", "--drain", "5s")) {
            p.waitFor("listening on 127\\.0\\.0\\.1:");
            p.signal("TERM");
            assertThat(p.exit()).as("a graceful stop, exit 0; output:\n" + p.output()).isZero();
            assertThat(p.output()).contains("SIGTERM: stopping").contains("stopped");
        }
    }

    /**
     * A TERM while the node is still starting (here: setting its TLS listener up) is kept and handled once the node runs:
     * a clean stop, exit 0. It used to take the JVM's default action (exit 143), which skipped undoing a DR set-up.
     */
    @Test
    @SuppressWarnings("deprecation") // Vert.x's SelfSignedCertificate: a throwaway certificate for one test
    void aTermDuringTheStartIsACleanStopOnceTheNodeRuns() throws Exception {
        io.vertx.core.net.SelfSignedCertificate c = io.vertx.core.net.SelfSignedCertificate.create("localhost");
        Path file = dir.resolve("tls.yaml");
        Files.writeString(file, """
                logging: {level: info}
                proxy:
                  access_log: {format: off}
                  admin: 127.0.0.1:0
                  listeners: [{address: 127.0.0.1:0, tls: {certificates: [{cert: %s, key: %s}]}}]
                  upstreams: {app: {servers: [127.0.0.1:%d]}}
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(c.certificatePath(), c.privateKeyPath(), originPort));
        try (TierProcess p = TierProcess.start(List.of(), "proxy", "-c", file.toString(), "--watch-interval", "0",
                "--drain", "5s")) {
            p.waitFor("TLS engine:"); // logged while the listener is being set up
            p.signal("TERM");
            assertThat(p.exit()).as("a clean stop, exit 0; output:\n" + p.output()).isZero();
            assertThat(p.output()).contains("SIGTERM: stopping").contains("stopped");
        }
    }

    @Test
    void jsonLogHoldsOnlyJsonAndAHealthChangeIsOneWarnEachWay() throws Exception {
        Path file = config("{format: json, level: info}");
        try (TierProcess p = TierProcess.start(List.of(), "proxy", "-c", file.toString(), "--watch-interval", "0",
                "--drain", "1s")) {
            p.waitFor("listening on 127\\.0\\.0\\.1:");
            Thread.sleep(1000);
            await(origin.close());
            p.waitFor("app.* UP -> DOWN");
            Thread.sleep(2000); // ten more failed probes: none may log
            origin = await(vertx.createHttpServer().requestHandler(req -> req.response().end("hello"))
                    .listen(originPort, "127.0.0.1"));
            p.waitFor("app.* DOWN -> UP");
            Thread.sleep(1000);
            p.signal("TERM");
            assertThat(p.exit()).as("SIGTERM: exit 0").isZero();

            ObjectMapper json = new ObjectMapper();
            List<JsonNode> events = new java.util.ArrayList<>();
            for (String line : p.lines) {
                if (line.startsWith("nohup: ")) {
                    continue;
                }
                events.add(json.readTree(line)); // throws on any plain line
            }
            List<JsonNode> down = events.stream().filter(e -> e.toString().contains("-> DOWN")).toList();
            List<JsonNode> up = events.stream().filter(e -> e.toString().contains("DOWN -> UP")).toList();
            assertThat(down).as("one line for the server going down, with the cause; log:\n" + p.output()).hasSize(1);
            assertThat(down.get(0).toString()).contains("WARN").containsPattern("refused|connect");
            assertThat(up).as("one line for it coming back").hasSize(1);
            assertThat(up.get(0).toString()).contains("WARN");
            assertThat(p.output()).doesNotContain("Stream reset").contains("SIGTERM: stopping");
        }
    }

    @Test
    void connectionResetsByClientsAndByADyingOriginLogNoError() throws Exception {
        // An origin whose connections end in a reset when it goes away (SO_LINGER 0), like a killed process's.
        await(origin.close());
        origin = await(vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions().setSoLinger(0))
                .requestHandler(req -> req.response().end("hello")).listen(originPort, "127.0.0.1"));
        Path file = config("{format: text, level: info}");
        try (TierProcess p = TierProcess.start(List.of(), "proxy", "-c", file.toString(), "--watch-interval", "0",
                "--drain", "1s")) {
            int port = Integer.parseInt(p.waitFor("listening on 127\\.0\\.0\\.1:(\\d+)"));
            for (int i = 0; i < 5; i++) {
                assertThat(get(port, "/warm")).isEqualTo(200); // pooled keep-alive connections to the origin
            }
            // Clients that reset: before a request ends, and after one was answered.
            for (String sent : List.of("GET /half HTTP/1.1\r\nHost: x\r\n", "GET /whole HTTP/1.1\r\nHost: x\r\n\r\n")) {
                try (java.net.Socket so = new java.net.Socket("127.0.0.1", port)) {
                    so.getOutputStream().write(sent.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    Thread.sleep(300);
                    so.setSoLinger(true, 0);
                }
            }
            await(origin.close()); // resets the proxy's pooled connections and any probe in flight
            p.waitFor("app.* (UP -> DOWN|ejected)");
            Thread.sleep(1000);
            p.signal("TERM");
            assertThat(p.exit()).isZero();
            assertThat(p.lines).as("resets are no ERROR for the operator; log:\n" + p.output())
                    .noneMatch(l -> l.contains(" ERROR "));
        }
    }

    static List<String> concat(List<String> a, String... b) {
        List<String> all = new java.util.ArrayList<>(a);
        all.addAll(List.of(b));
        return all;
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
