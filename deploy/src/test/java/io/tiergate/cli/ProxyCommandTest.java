package io.tiergate.cli;

import io.tiergate.shared.Contexts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tiergate proxy} as a child process, the way an operator runs it: it serves, SIGHUP switches routes, an
 * invalid file is rejected with FILE:LINE:COL while the old config keeps serving, /metrics shows the traffic, and
 * SIGTERM lets an in-flight slow request finish before exiting 0.
 */
@Timeout(90)
class ProxyCommandTest {
    @TempDir
    Path dir;
    Vertx vertx;
    HttpClientAgent client;
    HttpServer a;
    HttpServer b;
    Process proc;
    final List<String> lines = new CopyOnWriteArrayList<>();
    final java.util.concurrent.CountDownLatch slowArrived = new java.util.concurrent.CountDownLatch(1);

    @BeforeEach
    void origins() throws Exception {
        vertx = Vertx.vertx();
        client = vertx.createHttpClient();
        a = await(vertx.createHttpServer().requestHandler(req -> {
            if (req.path().equals("/slow")) {
                slowArrived.countDown();
                vertx.setTimer(1500, t -> req.response().end("a-slow"));
            } else {
                req.response().end("a");
            }
        }).listen(0, "127.0.0.1"));
        b = await(vertx.createHttpServer().requestHandler(req -> req.response().end("b")).listen(0, "127.0.0.1"));
    }

    @AfterEach
    void stop() throws Exception {
        if (proc != null && proc.isAlive()) {
            proc.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        await(vertx.close());
    }

    private String yaml(String upstream, String extra) {
        return """
                logging: {level: info}
                proxy:
                  access_log: {format: off}
                  admin: 127.0.0.1:0
                  listeners: [{address: 127.0.0.1:0}]
                  upstreams:
                    a: {servers: [127.0.0.1:%d]}
                    b: {servers: [127.0.0.1:%d]}
                  servers: [{default: true, locations: [{prefix: /, upstream: %s}]}]
                %s""".formatted(a.actualPort(), b.actualPort(), upstream, extra);
    }

    private Process start(Path file, String... jvmArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.tiergate.cli.Main", "proxy",
                "-c", file.toString(), "--watch-interval", "0", "--drain", "10s"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // process gone
            }
        }, "proxy-output");
        t.setDaemon(true);
        t.start();
        return p;
    }

    private String waitForLine(String regex) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        int from = 0;
        while (System.nanoTime() < end) {
            for (int i = from; i < lines.size(); i++) {
                Matcher m = p.matcher(lines.get(i));
                if (m.find()) {
                    lines.set(i, "(seen) " + lines.get(i)); // the same line does not match a later wait
                    return m.groupCount() > 0 ? m.group(1) : lines.get(i);
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("expected a line matching /" + regex + "/ from the proxy; it printed:\n"
                + String.join("\n", lines));
    }

    private void signal(String sig) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + sig, Long.toString(proc.pid())).start().waitFor())
                .as("kill -" + sig).isZero();
    }

    private String get(int port, String uri) {
        return await(Contexts.onContext(vertx, () -> client.request(new RequestOptions().setMethod(HttpMethod.GET)
                .setHost("127.0.0.1").setPort(port).setURI(uri).setIdleTimeout(10_000)).compose(r -> r.send()
                .compose(resp -> resp.body().map(body -> resp.statusCode() + " " + body)))));
    }

    @Test
    void servesReloadsOnHupRejectsAnInvalidFileKeepsServingAndExposesMetrics() throws Exception {
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(file, yaml("a", ""));
        proc = start(file);
        int port = Integer.parseInt(waitForLine("listening on 127\\.0\\.0\\.1:(\\d+)"));
        int adminPort = Integer.parseInt(waitForLine("admin on 127\\.0\\.0\\.1:(\\d+)"));
        assertThat(get(port, "/x")).as("routes to upstream a").isEqualTo("200 a");
        assertThat(get(adminPort, "/readyz")).as("ready once listening").startsWith("200");

        Files.writeString(file, yaml("b", ""));
        signal("HUP");
        waitForLine("reloaded " + Pattern.quote(file.toString()));
        assertThat(get(port, "/x")).as("after SIGHUP the new route (upstream b) serves").isEqualTo("200 b");

        // Line 9 names an upstream that does not exist.
        Files.writeString(file, yaml("nope", ""));
        signal("HUP");
        String rejected = waitForLine("reload rejected");
        String why = waitForLine(Pattern.quote(file.toString()) + ":9:\\d+");
        assertThat(rejected + "\n" + why).as("the log says why, with FILE:LINE:COL").contains("unknown upstream 'nope'");
        assertThat(get(port, "/y")).as("the previous config keeps serving").isEqualTo("200 b");
        assertThat(get(adminPort, "/api/events")).as("the status page's event list has both reloads")
                .contains("config reloaded").contains("reload rejected").contains("unknown upstream 'nope'");

        String metrics = get(adminPort, "/metrics");
        assertThat(metrics).as("per-route and per-upstream request counters")
                .containsPattern("tiergate_proxy_requests_total\\{[^}]*route=\"/\"[^}]*status_class=\"2xx\"[^}]*upstream=\"a\"[^}]*\\} 1\\.0")
                .containsPattern("tiergate_proxy_requests_total\\{[^}]*route=\"/\"[^}]*status_class=\"2xx\"[^}]*upstream=\"b\"[^}]*\\} 2\\.0");
        assertThat(metrics).as("the latency histogram").contains("tiergate_proxy_request_duration_seconds_bucket{");
        proc.destroy();
        assertThat(proc.waitFor(20, TimeUnit.SECONDS)).as("exits after SIGTERM").isTrue();
        assertThat(proc.exitValue()).as("a graceful stop exits 0").isZero();
    }

    @Test
    void sigtermFinishesAnInFlightSlowRequestThenExitsZero() throws Exception {
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(file, yaml("a", ""));
        proc = start(file);
        int port = Integer.parseInt(waitForLine("listening on 127\\.0\\.0\\.1:(\\d+)"));
        CompletableFuture<String> slow = CompletableFuture.supplyAsync(() -> get(port, "/slow"));
        assertThat(slowArrived.await(15, TimeUnit.SECONDS)).as("the slow request reached the origin").isTrue();
        Thread.sleep(100); // it answers 1.5 s after arriving: SIGTERM lands mid-request
        signal("TERM");
        assertThat(slow.get(20, TimeUnit.SECONDS)).as("the in-flight request completes during the drain")
                .isEqualTo("200 a-slow");
        assertThat(proc.waitFor(20, TimeUnit.SECONDS)).as("exits after the drain").isTrue();
        assertThat(proc.exitValue()).as("exit code of a graceful stop; output:\n" + String.join("\n", lines)).isZero();
    }

    @Test
    void aDrRealServerThatIsNotSetUpAndNotRootPrintsTheCommandsAndExits77() throws Exception {
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(file, yaml("a", "  dr: {vips: [10.255.254.77]}\n"));
        proc = start(file, "-Duser.name=tiergate-test-nonroot");
        assertThat(proc.waitFor(30, TimeUnit.SECONDS)).as("refuses to start").isTrue();
        String out = String.join("\n", lines);
        assertThat(proc.exitValue()).as("exit 77 (no permission); output:\n" + out).isEqualTo(77);
        assertThat(out).as("says what is missing and what to run")
                .contains("VIP 10.255.254.77 is not on lo")
                .contains("ip addr add 10.255.254.77/32 dev lo")
                .contains("arp_ignore=1");
        assertThat(out).as("never started listening").doesNotContain("listening on");
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
