package io.tiergate.shared.health;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The engine spread over several event loops: real sockets on 127.0.0.1, many targets per listener. These tests also
 * pin the engine's use of Vert.x internals ({@code VertxInternal.contextBuilder().withEventLoop}, a raw Netty timer
 * entered through {@code ContextInternal.emit}): if a Vert.x upgrade changes them, these fail first.
 */
class HealthEngineLoopsTest {

    private static final int LOOPS = 2;
    // Generous: the waits return as soon as the condition holds, so slack costs nothing on an idle machine, and a
    // shared 2-core box running other builds fires timers late.
    private static final long SLACK_MS = 3000;

    private static Vertx vertx;
    private final List<HealthTransition> transitions = new CopyOnWriteArrayList<>();
    private final Map<Integer, AtomicInteger> accepted = new ConcurrentHashMap<>();
    private final List<NetServer> servers = new ArrayList<>();
    private ListAppender<ILoggingEvent> logs;
    private HealthEngine engine;

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx(); // 2 x cores event loops: at least LOOPS
    }

    @AfterAll
    static void stopVertx() throws Exception {
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void captureLogs() {
        logs = new ListAppender<>() {
            @Override
            protected void append(ILoggingEvent e) {
                e.prepareForDeferredProcessing(); // Logback names the thread lazily: fix it to the one logging
                super.append(e);
            }
        };
        logs.start();
        Logger logger = (Logger) LoggerFactory.getLogger(HealthEngine.class);
        logger.addAppender(logs);
        logger.setLevel(Level.DEBUG); // transitions are logged at DEBUG (the listener logs them for operators)
        logger.setAdditive(false); // and every probe too: keep them out of the console
    }

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
        servers.forEach(NetServer::close);
        Logger logger = (Logger) LoggerFactory.getLogger(HealthEngine.class);
        logger.detachAppender(logs);
        logger.setLevel(null);
        logger.setAdditive(true);
    }

    private NetServer listen(int port) throws Exception {
        // Listening again on a port keeps counting on that port's counter.
        AtomicInteger count = port == 0 ? new AtomicInteger() : accepted.computeIfAbsent(port, p -> new AtomicInteger());
        NetServer s = vertx.createNetServer(new NetServerOptions().setAcceptBacklog(1024)).connectHandler(so -> {
            count.incrementAndGet();
            so.close();
        }).listen(port, "127.0.0.1").await(5, TimeUnit.SECONDS);
        accepted.putIfAbsent(s.actualPort(), count);
        servers.add(s);
        return s;
    }

    private static void await(String what, long withinMs, BooleanSupplier done) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(withinMs);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("%s within %d ms", what, withinMs).isLessThan(end);
            Thread.sleep(10);
        }
    }

    /** Thread each target's transitions were logged on: the loop that probed it. */
    private Map<String, Set<String>> probingThreads() {
        Map<String, Set<String>> byTarget = new HashMap<>();
        for (ILoggingEvent e : List.copyOf(logs.list)) {
            String msg = e.getFormattedMessage();
            if (msg.startsWith("health ")) {
                byTarget.computeIfAbsent(msg.split(" ")[1], k -> new HashSet<>()).add(e.getThreadName());
            }
        }
        return byTarget;
    }

    @Test
    void targetsAreProbedOnSeveralEventLoopsAndKeepTheirLoopWhenReplaced() throws Exception {
        engine = new HealthEngine(vertx, LOOPS, transitions::add);
        int port = listen(0).actualPort();
        HealthCheck check = HealthCheck.tcp(Duration.ofMillis(200), Duration.ofMillis(200), 1, 1);
        for (int i = 0; i < 64; i++) {
            engine.add(HealthTarget.of("rs" + i, "127.0.0.1", port, check), HealthState.UNKNOWN);
        }
        await("64 targets UP", 200 + SLACK_MS, () -> transitions.size() == 64);

        assertThat(engine.loops()).isEqualTo(LOOPS);
        int[] perLoop = engine.targetsPerLoop();
        System.out.println("HealthEngineLoopsTest: targets per loop " + Arrays.toString(perLoop));
        assertThat(perLoop).as("targets per loop").hasSize(LOOPS).doesNotContain(0);
        assertThat(Arrays.stream(perLoop).sum()).isEqualTo(64);
        Map<String, Set<String>> first = probingThreads();
        assertThat(first).hasSize(64).allSatisfy((id, threads) -> assertThat(threads).as(id).hasSize(1));
        Set<String> threads = new HashSet<>();
        first.values().forEach(threads::addAll);
        assertThat(threads).as("event-loop threads that probed").hasSize(LOOPS);

        // Replacing a target (a reload) keeps it on its loop: its next transition is logged by the same thread.
        transitions.clear();
        for (int i = 0; i < 64; i++) {
            engine.add(HealthTarget.of("rs" + i, "127.0.0.1", port, check), HealthState.DOWN);
        }
        await("64 targets DOWN -> UP again", 200 + SLACK_MS, () -> transitions.size() == 64);
        assertThat(probingThreads()).as("threads per target after replacement")
                .allSatisfy((id, t) -> assertThat(t).as(id).isEqualTo(first.get(id)));
        assertThat(engine.targetsPerLoop()).containsExactly(perLoop);
    }

    @Test
    void killedListenerIsDetectedWithinFallIntervalsPlusTimeoutOnEveryLoop() throws Exception {
        engine = new HealthEngine(vertx, LOOPS, transitions::add);
        Duration interval = Duration.ofMillis(100);
        int fall = 3;
        HealthCheck check = HealthCheck.tcp(interval, interval, 2, fall);
        List<NetServer> listeners = new ArrayList<>();
        Map<String, Integer> portOf = new HashMap<>();
        for (int l = 0; l < 5; l++) {
            listeners.add(listen(0));
        }
        for (int i = 0; i < 200; i++) {
            int port = listeners.get(i % listeners.size()).actualPort();
            portOf.put("t" + i, port);
            engine.add(HealthTarget.of("t" + i, "127.0.0.1", port, check), HealthState.UNKNOWN);
        }
        await("200 targets UP", interval.toMillis() + SLACK_MS, () -> transitions.size() == 200);
        assertThat(transitions).allMatch(t -> t.to() == HealthState.UP);
        transitions.clear();

        NetServer victim = listeners.get(0);
        int victimPort = victim.actualPort();
        victim.close().await(5, TimeUnit.SECONDS);
        long closedAt = System.nanoTime();
        long bound = fall * interval.toMillis() + interval.toMillis() + SLACK_MS;
        await("the 40 targets of the closed listener DOWN", bound, () -> transitions.size() >= 40);
        Thread.sleep(3 * interval.toMillis()); // anything else that would flip

        List<Long> delays = new ArrayList<>();
        for (HealthTransition t : transitions) {
            assertThat(portOf.get(t.targetId())).as("only targets of the closed listener change: %s", t)
                    .isEqualTo(victimPort);
            assertThat(t.to()).isEqualTo(HealthState.DOWN);
            delays.add(TimeUnit.NANOSECONDS.toMillis(t.nanoTime() - closedAt));
        }
        Collections.sort(delays);
        System.out.printf("HealthEngineLoopsTest: detection of 40 targets on %d loops: median %d ms, max %d ms "
                + "(interval 100 ms, fall 3)%n", LOOPS, delays.get(delays.size() / 2), delays.get(delays.size() - 1));
        assertThat(delays).hasSize(40);
        // The third refused probe decides: about two full intervals after the close at the earliest (less the moment
        // between the socket closing and close() returning here), at most fall intervals plus the timeout of the
        // probe in flight.
        assertThat(delays.get(0)).as("earliest detection (ms)")
                .isGreaterThanOrEqualTo((fall - 1) * interval.toMillis() - interval.toMillis() / 2);
        assertThat(delays.get(delays.size() - 1)).as("latest detection (ms)").isLessThan(bound);
        Set<String> loopsThatDetected = new HashSet<>();
        for (ILoggingEvent e : List.copyOf(logs.list)) {
            if (e.getFormattedMessage().contains("UP -> DOWN")) {
                loopsThatDetected.add(e.getThreadName());
            }
        }
        assertThat(loopsThatDetected).as("loops that reported the closed listener's targets").hasSize(LOOPS);
    }

    @Test
    void transitionsStayInOrderPerTargetAndTheListenerIsNeverCalledConcurrently() throws Exception {
        AtomicInteger inListener = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        Map<String, List<HealthTransition>> byTarget = new ConcurrentHashMap<>();
        engine = new HealthEngine(vertx, LOOPS, t -> {
            if (inListener.incrementAndGet() != 1) {
                overlaps.incrementAndGet();
            }
            byTarget.computeIfAbsent(t.targetId(), k -> new CopyOnWriteArrayList<>()).add(t);
            inListener.decrementAndGet();
        });
        List<Integer> ports = new ArrayList<>();
        for (int l = 0; l < 4; l++) {
            ports.add(listen(0).actualPort());
        }
        HealthCheck check = HealthCheck.tcp(Duration.ofMillis(50), Duration.ofMillis(50), 1, 1);
        int targets = 200;
        for (int i = 0; i < targets; i++) {
            engine.add(HealthTarget.of("f" + i, "127.0.0.1", ports.get(i % ports.size()), check), HealthState.UNKNOWN);
        }
        await("all targets UP", SLACK_MS, () -> byTarget.size() == targets);
        // Flap every listener: closed, then listening again on the same port, five times.
        for (int round = 0; round < 5; round++) {
            for (NetServer s : List.copyOf(servers)) {
                s.close().await(5, TimeUnit.SECONDS);
                servers.remove(s);
            }
            Thread.sleep(250);
            for (int port : ports) {
                listen(port);
            }
            Thread.sleep(250);
        }
        Thread.sleep(500);
        int total = byTarget.values().stream().mapToInt(List::size).sum();
        System.out.printf("HealthEngineLoopsTest: %d transitions over %d targets on %d loops%n", total, targets, LOOPS);
        assertThat(total).as("transitions while flapping").isGreaterThan(2 * targets);
        assertThat(overlaps.get()).as("listener calls that overlapped another").isZero();
        byTarget.forEach((id, list) -> {
            HealthState expectedFrom = HealthState.UNKNOWN;
            long previous = Long.MIN_VALUE;
            for (HealthTransition t : list) {
                assertThat(t.from()).as("%s: each transition starts where the previous one ended: %s", id, list)
                        .isEqualTo(expectedFrom);
                assertThat(t.nanoTime()).as("%s: transitions in probe order", id).isGreaterThanOrEqualTo(previous);
                expectedFrom = t.to();
                previous = t.nanoTime();
            }
            assertThat(engine.state(id)).as("%s: state() agrees with the last transition delivered", id)
                    .isEqualTo(expectedFrom);
        });
    }

    @Test
    void removeAndReplaceWorkForTargetsOnEveryLoop() throws Exception {
        engine = new HealthEngine(vertx, LOOPS, transitions::add);
        int removedPort = listen(0).actualPort();
        int keptPort = listen(0).actualPort();
        int movedPort = listen(0).actualPort();
        HealthCheck check = HealthCheck.tcp(Duration.ofMillis(100), Duration.ofMillis(100), 2, 3);
        for (int i = 0; i < 40; i++) {
            engine.add(HealthTarget.of("gone" + i, "127.0.0.1", removedPort, check), HealthState.UNKNOWN);
            engine.add(HealthTarget.of("kept" + i, "127.0.0.1", keptPort, check), HealthState.UNKNOWN);
        }
        await("80 targets UP", SLACK_MS, () -> transitions.size() == 80);

        for (int i = 0; i < 40; i++) {
            engine.remove("gone" + i);
        }
        assertThat(engine.states()).hasSize(40).allSatisfy((id, s) -> assertThat(id).startsWith("kept"));
        await("removed targets gone from every loop", SLACK_MS, () -> Arrays.stream(engine.targetsPerLoop()).sum() == 40);
        assertThat(engine.targetsPerLoop()).as("kept targets per loop").doesNotContain(0);
        Thread.sleep(200); // a probe already on the wire may still land
        int removedSeen = accepted.get(removedPort).get();
        int keptSeen = accepted.get(keptPort).get();
        Thread.sleep(500);
        assertThat(accepted.get(removedPort).get()).as("connections to removed targets' listener").isEqualTo(removedSeen);
        assertThat(accepted.get(keptPort).get()).as("connections to kept targets' listener").isGreaterThan(keptSeen);

        // Replace the kept targets with new addresses, starting DOWN: rise successes bring each one UP again.
        transitions.clear();
        for (int i = 0; i < 40; i++) {
            engine.add(HealthTarget.of("kept" + i, "127.0.0.1", movedPort, check), HealthState.DOWN);
        }
        await("40 replaced targets UP at their new address", 2 * 100 + SLACK_MS, () -> transitions.size() == 40);
        assertThat(transitions).allSatisfy(t -> assertThat(t.reason()).isEqualTo("2 consecutive successes (connect ok)"));
        Thread.sleep(200);
        int oldSeen = accepted.get(keptPort).get();
        Thread.sleep(500);
        assertThat(accepted.get(keptPort).get()).as("connections to the kept targets' old address").isEqualTo(oldSeen);
        assertThat(Arrays.stream(engine.targetsPerLoop()).sum()).isEqualTo(40);
        assertThat(transitions).as("no transition from removed targets").noneMatch(t -> t.targetId().startsWith("gone"));
    }

    @Test
    void warnsOnceWhenTheConfiguredProbeRateExceedsWhatTheLoopsSustain() throws Exception {
        // A tiny budget (10 probes/s per loop, 20/s in all) so that exceeding it costs no real load.
        engine = new HealthEngine(vertx, LOOPS, 10, transitions::add);
        int port = listen(0).actualPort();
        HealthCheck check = HealthCheck.tcp(); // 1 s: 1 probe/s per target
        for (int i = 0; i < 20; i++) {
            engine.add(HealthTarget.of("w" + i, "127.0.0.1", port, check), HealthState.UP);
        }
        await("probe rate 20/s counted", SLACK_MS, () -> Math.round(engine.probeRate()) == 20);
        assertThat(warnings()).as("warnings at exactly the budget").isEmpty();

        for (int i = 20; i < 30; i++) {
            engine.add(HealthTarget.of("w" + i, "127.0.0.1", port, check), HealthState.UP);
        }
        await("a warning", SLACK_MS, () -> !warnings().isEmpty());
        await("probe rate 30/s counted", SLACK_MS, () -> Math.round(engine.probeRate()) == 30);
        assertThat(warnings()).as("warnings after crossing the budget").singleElement().asString()
                .containsPattern("health checks ask for \\d+ probes/s").contains("more than the 20 probes/s", "2 event loop(s) x 10/s",
                        "Make the intervals at least", "longer, or check at most");
        for (int i = 0; i < 30; i++) {
            engine.add(HealthTarget.of("w" + i, "127.0.0.1", port, check), HealthState.UP); // a reload, still over
        }
        Thread.sleep(200);
        assertThat(warnings()).as("warnings while it stays over the budget").hasSize(1);

        for (int i = 0; i < 30; i++) {
            engine.remove("w" + i);
        }
        await("probe rate back to 0", SLACK_MS, () -> engine.probeRate() < 0.5);
        for (int i = 0; i < 25; i++) {
            engine.add(HealthTarget.of("w" + i, "127.0.0.1", port, check), HealthState.UP);
        }
        await("a second warning after going under and over again", SLACK_MS, () -> warnings().size() == 2);
    }

    @Test
    void warningNamesTheNumbersAndTheFix() {
        assertThat(HealthEngine.budgetWarning(100_000, 10_000, 2, 10_000)).isEqualTo(
                "health checks ask for 100000 probes/s (10000 targets), more than the 20000 probes/s this engine "
                        + "sustains (2 event loop(s) x 10000/s, docs/benchmarks.md \"Health engine\"): probes will run "
                        + "late, time out and report healthy servers DOWN. Make the intervals at least 5.0x longer, "
                        + "or check at most 2000 targets at these intervals");
    }

    private List<String> warnings() {
        List<String> w = new ArrayList<>();
        for (ILoggingEvent e : List.copyOf(logs.list)) {
            if (e.getLevel() == Level.WARN) {
                w.add(e.getFormattedMessage());
            }
        }
        return w;
    }
}
