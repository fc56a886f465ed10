package io.tiergate.shared.health;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * An HTTP probe is a clean HTTP exchange: the response (head and body, passing or failing status) is read to its end
 * and the connection closes normally, so neither side logs anything: no "Stream reset: 0" ERROR with a stack trace
 * from Vert.x on every probe (what both shipped examples printed), no reset seen by the server.
 */
class HttpProbeTest {
    private static final Duration INTERVAL = Duration.ofMillis(100);
    private Vertx vertx;
    private HealthEngine engine;
    private ListAppender<ILoggingEvent> logs;
    private final Queue<Throwable> serverErrors = new ConcurrentLinkedQueue<>();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger cleanCloses = new AtomicInteger();

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
        logs = new ListAppender<>();
        logs.start();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(logs);
    }

    @AfterEach
    void tearDown() throws Exception {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
        if (engine != null) {
            engine.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private HttpServer server(int status, int bodyBytes) throws Exception {
        String body = "x".repeat(bodyBytes);
        return vertx.createHttpServer().connectionHandler(c -> {
            c.exceptionHandler(serverErrors::add);
            c.closeHandler(v -> cleanCloses.incrementAndGet());
        }).requestHandler(req -> {
            requests.incrementAndGet();
            req.response().setStatusCode(status).end(body);
        }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private List<String> warnings() {
        return logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(e -> e.getLevel() + " " + e.getLoggerName() + " " + e.getFormattedMessage()).toList();
    }

    @Test
    void passingAndFailingProbesReadTheWholeResponseAndLogNothing() throws Exception {
        HttpServer ok = server(200, 64 * 1024);   // larger than one read: the body must really be consumed
        HttpServer bad = server(503, 8 * 1024);
        Queue<HealthTransition> transitions = new ConcurrentLinkedQueue<>();
        engine = new HealthEngine(vertx, 1, transitions::add);
        // fall 2 from UP: a cold JVM's first probe may time out; that alone must not flip the passing target
        HealthCheck check = HealthCheck.http(INTERVAL, INTERVAL, 1, 2, "/healthz", null, Set.of(), null);
        engine.add(HealthTarget.of("ok", "127.0.0.1", ok.actualPort(), check), HealthState.UP);
        engine.add(HealthTarget.of("bad", "127.0.0.1", bad.actualPort(), check), HealthState.UP);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (requests.get() < 20 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        Thread.sleep(300);
        assertThat(requests.get()).as("probes answered").isGreaterThanOrEqualTo(20);
        assertThat(engine.state("ok")).isEqualTo(HealthState.UP);
        assertThat(engine.state("bad")).isEqualTo(HealthState.DOWN);
        assertThat(transitions).as("one change, with the failing cause")
                .extracting(t -> t.targetId() + " " + t.from() + " -> " + t.to() + ": " + t.reason())
                .containsExactly("bad UP -> DOWN: HTTP 503 (2 consecutive failures)");
        assertThat(warnings()).as("nothing at WARN or above, from Vert.x or us").isEmpty();
        assertThat(serverErrors).as("the server saw no reset").isEmpty();
        assertThat(cleanCloses.get()).as("probe connections closed normally").isGreaterThanOrEqualTo(requests.get() - 2);
    }

    @Test
    void aProbeCutShortByARemovalOrATimeoutLogsNothing() throws Exception {
        // Answers after 2 s: every probe is still waiting when it times out, or when its target is removed (a reload
        // that drops or replaces an upstream server): the request is reset, which Vert.x would log as an ERROR.
        HttpServer slow = vertx.createHttpServer().requestHandler(req -> {
            requests.incrementAndGet();
            vertx.setTimer(2000, id -> req.response().end("late"));
        }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        Queue<HealthTransition> transitions = new ConcurrentLinkedQueue<>();
        engine = new HealthEngine(vertx, 1, transitions::add);
        HealthCheck check = HealthCheck.http(INTERVAL, INTERVAL, 1, 1, "/healthz", null, Set.of(), null);
        engine.add(HealthTarget.of("timing-out", "127.0.0.1", slow.actualPort(), check), HealthState.UP);
        for (int i = 0; i < 5; i++) {
            engine.add(HealthTarget.of("removed-" + i, "127.0.0.1", slow.actualPort(), check), HealthState.UP);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (requests.get() < 6 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        for (int i = 0; i < 5; i++) {
            engine.remove("removed-" + i);
        }
        Thread.sleep(1500);
        assertThat(requests.get()).as("probes reached the server").isGreaterThanOrEqualTo(6);
        assertThat(transitions).extracting(HealthTransition::targetId).containsExactly("timing-out");
        assertThat(warnings()).as("nothing at WARN or above, from Vert.x or us").isEmpty();
    }
}
