package io.tiergate.shared.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.tiergate.shared.Contexts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.NetServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real sockets on 127.0.0.1, real timers; intervals are short so the whole class runs in seconds. */
class HealthEngineTest {

    private static final Duration INTERVAL = Duration.ofMillis(100);
    private static final Duration TIMEOUT = Duration.ofMillis(100);
    // HTTP tests that are about status/body/rise (not about timeouts) probe with a 1 s timeout (clamped to the
    // interval): on a loaded 2-core CI machine a 100 ms HTTP probe can time out and turn an expected UP into DOWN.
    private static final Duration HTTP_INTERVAL = Duration.ofMillis(1000);
    // Scheduling slack on a shared 2-core machine: generous, since a late transition is not a bug here (the waits
    // return as soon as the transition arrives, so a generous margin costs nothing when the machine is idle).
    private static final long MARGIN_MS = 8000;

    private static Vertx vertx;
    private final BlockingQueue<HealthTransition> transitions = new LinkedBlockingQueue<>();
    private HealthEngine engine;

    @BeforeAll
    static void startVertx() throws Exception {
        vertx = Vertx.vertx();
        // A cold JVM spends longer than one 100 ms probe timeout loading the HTTP client classes;
        // warm them up so the first probe measures the server, not class loading.
        HttpServer warm = vertx.createHttpServer().requestHandler(req -> req.response().end())
                .listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        var client = vertx.createHttpClient();
        Contexts.onContext(vertx, () -> client.request(io.vertx.core.http.HttpMethod.GET, warm.actualPort(),
                "127.0.0.1", "/").compose(r -> r.send().compose(x -> x.body()))).await(5, TimeUnit.SECONDS);
        client.close().await(5, TimeUnit.SECONDS);
        warm.close().await(5, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stopVertx() throws Exception {
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void startEngine() {
        engine = new HealthEngine(vertx, transitions::add);
    }

    @AfterEach
    void stopEngine() {
        engine.close();
    }

    private HealthTransition next(long withinMs) throws InterruptedException {
        HealthTransition t = transitions.poll(withinMs, TimeUnit.MILLISECONDS);
        assertThat(t).as("a transition within %d ms", withinMs).isNotNull();
        return t;
    }

    private static NetServer tcpServer(AtomicInteger connections) throws Exception {
        return vertx.createNetServer().connectHandler(so -> {
            connections.incrementAndGet();
            so.close();
        }).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    }

    @Test
    void tcpTargetGoesUpThenDownWhenItsListenerCloses() throws Exception {
        NetServer server = tcpServer(new AtomicInteger());
        engine.add(HealthTarget.of("rs1", "127.0.0.1", server.actualPort(), HealthCheck.tcp(INTERVAL, TIMEOUT, 2, 3)),
                HealthState.UNKNOWN);

        HealthTransition up = next(INTERVAL.toMillis() + MARGIN_MS);
        assertThat(up).extracting(HealthTransition::targetId, HealthTransition::from, HealthTransition::to)
                .containsExactly("rs1", HealthState.UNKNOWN, HealthState.UP);
        assertThat(engine.state("rs1")).isEqualTo(HealthState.UP);

        server.close().await(5, TimeUnit.SECONDS);
        long closedAt = System.nanoTime();
        HealthTransition down = next(3 * INTERVAL.toMillis() + TIMEOUT.toMillis() + MARGIN_MS);
        assertThat(down.to()).isEqualTo(HealthState.DOWN);
        assertThat(down.from()).isEqualTo(HealthState.UP);
        assertThat(down.reason()).isEqualTo("connect refused (3 consecutive failures)");
        assertThat(TimeUnit.NANOSECONDS.toMillis(down.nanoTime() - closedAt))
                .as("detection delay (ms)").isBetween(2 * INTERVAL.toMillis(), 3 * INTERVAL.toMillis() + MARGIN_MS);
        assertThat(engine.states()).containsEntry("rs1", HealthState.DOWN);
    }

    @Test
    void httpStatusDecidesAndRiseCountsSuccesses() throws Exception {
        AtomicInteger status = new AtomicInteger(200);
        AtomicReference<String> hostHeader = new AtomicReference<>();
        HttpServer server = vertx.createHttpServer().requestHandler(req -> {
            hostHeader.set(req.getHeader("Host"));
            req.response().setStatusCode(req.path().equals("/health") ? status.get() : 404).end("x");
        }).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        try {
            HealthCheck check = HealthCheck.http(HTTP_INTERVAL, HTTP_INTERVAL, 2, 2, "/health", "app.example", Set.of(),
                    null);
            engine.add(HealthTarget.of("web", "127.0.0.1", server.actualPort(), check), HealthState.UNKNOWN);

            HealthTransition up = next(2 * HTTP_INTERVAL.toMillis() + MARGIN_MS);
            assertThat(up.to()).as("%s", up).isEqualTo(HealthState.UP);
            assertThat(up.reason()).isEqualTo("HTTP 200");
            assertThat(hostHeader.get()).isEqualTo("app.example");

            status.set(503);
            HealthTransition down = next(2 * HTTP_INTERVAL.toMillis() + MARGIN_MS);
            assertThat(down.to()).as("%s", down).isEqualTo(HealthState.DOWN);
            assertThat(down.reason()).isEqualTo("HTTP 503 (2 consecutive failures)");

            status.set(200);
            HealthTransition back = next(2 * HTTP_INTERVAL.toMillis() + MARGIN_MS);
            assertThat(back.to()).as("%s", back).isEqualTo(HealthState.UP);
            assertThat(back.reason()).isEqualTo("2 consecutive successes (HTTP 200)");
        } finally {
            server.close();
        }
    }

    /**
     * {@code type: https} (the director's, or a proxy group's without {@code tls:}): the probe speaks TLS, accepts the
     * server's self-signed certificate (it asks "is it serving", not "is its certificate valid") and the status decides.
     * Its TLS client is made by the first HTTPS probe; a plain-HTTP server on the port fails the handshake.
     */
    @Test
    @SuppressWarnings("deprecation") // Vert.x's SelfSignedCertificate: a throwaway certificate for one test
    void httpsProbeSpeaksTlsToASelfSignedServerAndItsStatusDecides() throws Exception {
        io.vertx.core.net.SelfSignedCertificate cert = io.vertx.core.net.SelfSignedCertificate.create("localhost");
        AtomicInteger status = new AtomicInteger(200);
        AtomicInteger overTls = new AtomicInteger();
        HttpServer server = vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions().setSsl(true)
                        .setKeyCertOptions(cert.keyCertOptions()))
                .requestHandler(req -> {
                    if (req.isSSL() && req.path().equals("/health")) {
                        overTls.incrementAndGet();
                    }
                    req.response().setStatusCode(status.get()).end("x");
                }).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        HttpServer plain = vertx.createHttpServer().requestHandler(req -> req.response().end("x"))
                .listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        try {
            HealthCheck check = HealthCheck.https(HTTP_INTERVAL, HTTP_INTERVAL, 1, 2, "/health", null, Set.of(), null);
            engine.add(HealthTarget.of("tls", "127.0.0.1", server.actualPort(), check), HealthState.UNKNOWN);
            HealthTransition up = next(2 * HTTP_INTERVAL.toMillis() + MARGIN_MS);
            assertThat(up.to()).as("%s", up).isEqualTo(HealthState.UP);
            assertThat(up.reason()).isEqualTo("HTTP 200");
            assertThat(overTls.get()).as("probes arrived over TLS").isPositive();

            status.set(500);
            HealthTransition down = next(2 * HTTP_INTERVAL.toMillis() + MARGIN_MS);
            assertThat(down.to()).as("%s", down).isEqualTo(HealthState.DOWN);
            assertThat(down.reason()).isEqualTo("HTTP 500 (2 consecutive failures)");

            engine.add(HealthTarget.of("plain", "127.0.0.1", plain.actualPort(), check), HealthState.UNKNOWN);
            HealthTransition notTls = next(2 * HTTP_INTERVAL.toMillis() + MARGIN_MS);
            assertThat(notTls.targetId()).isEqualTo("plain");
            assertThat(notTls.to()).as("an HTTPS probe of a plain-HTTP port fails: %s", notTls)
                    .isEqualTo(HealthState.DOWN);
        } finally {
            server.close();
            plain.close();
        }
    }

    @Test
    void bodyMustContainTheExpectedText() throws Exception {
        AtomicReference<String> body = new AtomicReference<>("status: green");
        HttpServer server = vertx.createHttpServer().requestHandler(req -> req.response().end(body.get()))
                .listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        try {
            HealthCheck check = HealthCheck.http(HTTP_INTERVAL, HTTP_INTERVAL, 1, 1, "/", null, Set.of(), "green");
            engine.add(HealthTarget.of("b", "127.0.0.1", server.actualPort(), check), HealthState.UNKNOWN);
            assertThat(next(HTTP_INTERVAL.toMillis() + MARGIN_MS).reason()).isEqualTo("HTTP 200, body matched");

            body.set("status: red");
            HealthTransition down = next(HTTP_INTERVAL.toMillis() + MARGIN_MS);
            assertThat(down.to()).isEqualTo(HealthState.DOWN);
            assertThat(down.reason()).isEqualTo("HTTP 200, body lacks \"green\"");
        } finally {
            server.close();
        }
    }

    @Test
    void serverThatNeverAnswersTimesOut() throws Exception {
        // Accepts and then stays silent: the classic hung backend that a connect check misses.
        NetServer silent = vertx.createNetServer().connectHandler(so -> { })
                .listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        try {
            HealthCheck check = HealthCheck.http(INTERVAL, TIMEOUT, 1, 1, "/", null, Set.of(), null);
            engine.add(HealthTarget.of("hung", "127.0.0.1", silent.actualPort(), check), HealthState.UNKNOWN);
            // The first probe of a target waits at least HealthEngine.FIRST_PROBE_TIMEOUT (1 s), whatever the check says.
            HealthTransition down = next(INTERVAL.toMillis() + 1000 + MARGIN_MS);
            assertThat(down.to()).isEqualTo(HealthState.DOWN);
            assertThat(down.reason()).isEqualTo("timeout after 1000ms");
        } finally {
            silent.close();
        }
    }

    @Test
    void aFirstProbeSlowerThanTheTimeoutStillCountsAndLaterOnesAreHeldToTheTimeout() throws Exception {
        // Like a cold JVM loading its HTTP client during the first probe: the answer takes 400 ms against a 100 ms
        // timeout. The first probe gets a second, so the server is UP without a DOWN first; the same slowness later
        // is a timeout.
        AtomicInteger delayMs = new AtomicInteger(400);
        HttpServer server = vertx.createHttpServer().requestHandler(req -> vertx.setTimer(Math.max(1, delayMs.get()),
                id -> req.response().end("ok"))).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        try {
            HealthCheck check = HealthCheck.http(INTERVAL, TIMEOUT, 1, 1, "/", null, Set.of(), null);
            engine.add(HealthTarget.of("cold", "127.0.0.1", server.actualPort(), check), HealthState.UNKNOWN);
            HealthTransition first = next(1000 + MARGIN_MS);
            assertThat(first.to()).as("%s", first).isEqualTo(HealthState.UP);
            assertThat(first.from()).isEqualTo(HealthState.UNKNOWN);

            HealthTransition down = next(INTERVAL.toMillis() + 1000 + MARGIN_MS);
            assertThat(down.to()).as("%s", down).isEqualTo(HealthState.DOWN);
            assertThat(down.reason()).isEqualTo("timeout after 100ms");
        } finally {
            server.close();
        }
    }

    @Test
    void commandExitStatusDecidesAndHungCommandIsKilledAtTimeout() throws Exception {
        Duration interval = Duration.ofMillis(300);
        engine.add(HealthTarget.of("true", "127.0.0.1", 4242,
                HealthCheck.command(interval, interval, 1, 1,
                        List.of("sh", "-c", "test \"$TIERGATE_PORT\" = 4242 && test {host}:{port} = 127.0.0.1:4242"))),
                HealthState.UNKNOWN);
        engine.add(HealthTarget.of("false", "127.0.0.1", 1, HealthCheck.command(interval, interval, 1, 1, List.of("false"))),
                HealthState.UNKNOWN);
        engine.add(HealthTarget.of("sleep", "127.0.0.1", 1,
                HealthCheck.command(interval, Duration.ofMillis(200), 1, 1, List.of("sleep", "5"))), HealthState.UNKNOWN);

        // The first verdict of each (the sleep's takes >= 1 s; meanwhile a slow `sh` on a loaded machine may make "true"
        // time out once after its UP: only first verdicts are looked at).
        List<HealthTransition> got = new ArrayList<>();
        java.util.Set<String> judged = new java.util.HashSet<>();
        while (judged.size() < 3) {
            HealthTransition t = next(interval.toMillis() + MARGIN_MS + 1000);
            if (judged.add(t.targetId())) {
                got.add(t);
            }
        }
        assertThat(got).filteredOn(t -> t.targetId().equals("true")).singleElement()
                .satisfies(t -> assertThat(t.to()).isEqualTo(HealthState.UP))
                .satisfies(t -> assertThat(t.reason()).isEqualTo("command exited 0"));
        assertThat(got).filteredOn(t -> t.targetId().equals("false")).singleElement()
                .satisfies(t -> assertThat(t.to()).isEqualTo(HealthState.DOWN))
                .satisfies(t -> assertThat(t.reason()).isEqualTo("command exited 1"));
        assertThat(got).filteredOn(t -> t.targetId().equals("sleep")).singleElement()
                .satisfies(t -> assertThat(t.to()).isEqualTo(HealthState.DOWN))
                .satisfies(t -> assertThat(t.reason()).isEqualTo("timeout after 1000ms")); // no verdict yet: >= 1 s
    }

    @Test
    void stableTargetEmitsNothingAfterItsFirstState() throws Exception {
        AtomicInteger connections = new AtomicInteger();
        NetServer server = tcpServer(connections);
        try {
            engine.add(HealthTarget.of("steady", "127.0.0.1", server.actualPort(), HealthCheck.tcp(INTERVAL, TIMEOUT, 2, 3)),
                    HealthState.UNKNOWN);
            assertThat(next(INTERVAL.toMillis() + MARGIN_MS).to()).isEqualTo(HealthState.UP);
            Thread.sleep(10 * INTERVAL.toMillis());
            assertThat(transitions).as("transitions while the target stayed healthy").isEmpty();
            // ~11 probes when idle; a loaded machine fires timers late (fewer probes), never early or overlapping.
            System.out.println("HealthEngineTest: probes made in ~11 intervals of 100 ms: " + connections.get());
            assertThat(connections.get()).as("probes made in ~11 intervals").isBetween(2, 13);
        } finally {
            server.close();
        }
    }

    @Test
    void initialStateUpNeedsFallFailuresAndInitialDownNeedsRiseSuccesses() throws Exception {
        NetServer server = tcpServer(new AtomicInteger());
        int livePort = server.actualPort();
        NetServer gone = tcpServer(new AtomicInteger());
        int deadPort = gone.actualPort();
        gone.close().await(5, TimeUnit.SECONDS);
        try {
            engine.add(HealthTarget.of("was-up", "127.0.0.1", deadPort, HealthCheck.tcp(INTERVAL, TIMEOUT, 2, 3)), HealthState.UP);
            engine.add(HealthTarget.of("was-down", "127.0.0.1", livePort, HealthCheck.tcp(INTERVAL, TIMEOUT, 2, 3)), HealthState.DOWN);
            assertThat(engine.state("was-up")).isEqualTo(HealthState.UP);
            List<HealthTransition> got = List.of(next(3 * INTERVAL.toMillis() + MARGIN_MS), next(3 * INTERVAL.toMillis() + MARGIN_MS));
            assertThat(got).extracting(HealthTransition::targetId, HealthTransition::to, HealthTransition::reason)
                    .containsExactlyInAnyOrder(
                            org.assertj.core.groups.Tuple.tuple("was-down", HealthState.UP, "2 consecutive successes (connect ok)"),
                            org.assertj.core.groups.Tuple.tuple("was-up", HealthState.DOWN, "connect refused (3 consecutive failures)"));
        } finally {
            server.close();
        }
    }

    @Test
    void removeStopsProbing() throws Exception {
        AtomicInteger connections = new AtomicInteger();
        NetServer server = tcpServer(connections);
        try {
            engine.add(HealthTarget.of("gone", "127.0.0.1", server.actualPort(), HealthCheck.tcp(INTERVAL, TIMEOUT, 1, 1)),
                    HealthState.UNKNOWN);
            next(INTERVAL.toMillis() + MARGIN_MS);
            engine.remove("gone");
            assertThat(engine.state("gone")).isNull();
            Thread.sleep(2 * INTERVAL.toMillis()); // let a probe already on the wire land
            int seen = connections.get();
            Thread.sleep(5 * INTERVAL.toMillis());
            assertThat(connections.get()).as("connections after remove()").isEqualTo(seen);
            assertThat(transitions).isEmpty();
        } finally {
            server.close();
        }
    }
}
