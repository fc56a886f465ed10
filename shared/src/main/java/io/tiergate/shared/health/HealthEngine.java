package io.tiergate.shared.health;

import io.tiergate.shared.maglev.MaglevTable;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checking for both tiers: probes targets (TCP connect, HTTP(S) GET, or an external
 * command) and reports only state <em>changes</em>, after {@code rise} consecutive successes or
 * {@code fall} consecutive failures. What a change means (quiesce, remove, sorry server) is the
 * caller's decision.
 *
 * <p><b>Threading.</b> All probing, counting and scheduling runs on one Vert.x context, captured
 * when the engine is built (the caller's context, or a new event-loop context); there is no thread
 * per check, only timers. The listener is invoked on that context, one transition at a time and in
 * order; it must not block. {@link #add}, {@link #remove} and {@link #close} may be called from any
 * thread; {@link #state} and {@link #states} read a concurrent snapshot and are safe anywhere.
 *
 * <p><b>Timing.</b> A target's probes never overlap: the next one starts on the first interval
 * boundary (counted from the previous start) after the previous probe finished. The first probe of
 * each target waits a deterministic fraction of the interval derived from its id, so thousands of
 * targets added together spread out instead of firing in one burst.
 */
public final class HealthEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HealthEngine.class);

    private final Vertx vertx;
    private final Context context;
    private final Consumer<HealthTransition> listener;
    private final Map<String, HealthState> states = new ConcurrentHashMap<>();
    private final Map<String, Probed> targets = new HashMap<>(); // engine context only
    private final TcpChecker tcp;
    private final HttpChecker http;
    private final CommandChecker command;
    private volatile boolean closed;

    public HealthEngine(Vertx vertx, Consumer<HealthTransition> listener) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.context = vertx.getOrCreateContext();
        this.tcp = new TcpChecker(vertx);
        this.http = new HttpChecker(vertx);
        this.command = new CommandChecker(context);
    }

    /**
     * Starts probing {@code target}. With {@code initial} UNKNOWN the first probe result alone
     * decides UP or DOWN and is reported; with UP or DOWN the usual rise/fall counting applies from
     * that state (use it to carry state over a config reload). Adding an id that already exists
     * replaces it, keeping nothing of the old counters.
     */
    public void add(HealthTarget target, HealthState initial) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(initial, "initial");
        if (closed) {
            throw new IllegalStateException("health engine is closed");
        }
        states.put(target.id(), initial);
        onContext(() -> {
            Probed old = targets.remove(target.id());
            if (old != null) {
                old.stop();
            }
            if (closed) {
                return;
            }
            Probed p = new Probed(target, initial);
            targets.put(target.id(), p);
            long intervalMs = target.check().interval().toMillis();
            byte[] idBytes = target.id().getBytes(StandardCharsets.UTF_8);
            long offset = Math.floorMod(MaglevTable.hash64(idBytes), intervalMs);
            p.schedule(Math.max(1, offset));
        });
    }

    /** Stops probing {@code id}; no transition is reported for it afterwards. Unknown ids are ignored. */
    public void remove(String id) {
        Objects.requireNonNull(id, "id");
        states.remove(id);
        onContext(() -> {
            Probed p = targets.remove(id);
            if (p != null) {
                p.stop();
            }
        });
    }

    /** Current state of {@code id}, or null if it is not (or no longer) being checked. */
    public HealthState state(String id) {
        return states.get(id);
    }

    /** An immutable snapshot of every target's state. */
    public Map<String, HealthState> states() {
        return Map.copyOf(states);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        states.clear();
        onContext(() -> {
            targets.values().forEach(Probed::stop);
            targets.clear();
            tcp.close();
            http.close();
            command.close();
        });
    }

    private void onContext(Runnable r) {
        if (Vertx.currentContext() == context) {
            r.run();
        } else {
            context.runOnContext(v -> r.run());
        }
    }

    private Checker checkerFor(HealthCheck.Type type) {
        return switch (type) {
            case TCP -> tcp;
            case HTTP, HTTPS -> http;
            case COMMAND -> command;
        };
    }

    /** Per-target probing state; every field is touched on the engine context only. */
    private final class Probed implements ProbeAttempt.Outcome {
        final HealthTarget target;
        final long intervalNanos;
        final long timeoutMs;
        HealthState state;
        int successes;
        int failures;
        long timerId = -1;
        long deadlineTimerId = -1;
        ProbeAttempt inFlight;
        boolean stopped;

        Probed(HealthTarget target, HealthState initial) {
            this.target = target;
            this.state = initial;
            this.intervalNanos = target.check().interval().toNanos();
            this.timeoutMs = target.check().timeout().toMillis();
        }

        void schedule(long delayMs) {
            timerId = vertx.setTimer(delayMs, id -> {
                timerId = -1;
                start();
            });
        }

        void start() {
            if (stopped) {
                return;
            }
            ProbeAttempt attempt = new ProbeAttempt(target, context, this);
            inFlight = attempt;
            // The engine owns the deadline so every check type times out the same way and reports
            // the same words, whatever its client library would have said.
            deadlineTimerId = vertx.setTimer(timeoutMs, id -> {
                deadlineTimerId = -1;
                if (inFlight == attempt) {
                    attempt.fail("timeout after " + timeoutMs + "ms");
                }
            });
            try {
                checkerFor(target.check().type()).probe(attempt);
            } catch (RuntimeException e) {
                attempt.fail(Checker.describe(e, timeoutMs));
            }
        }

        @Override
        public void done(ProbeAttempt attempt, boolean success, String reason) {
            if (stopped || attempt != inFlight) {
                return;
            }
            inFlight = null;
            if (deadlineTimerId >= 0) {
                vertx.cancelTimer(deadlineTimerId);
                deadlineTimerId = -1;
            }
            long now = System.nanoTime();
            record(success, reason, now);
            if (stopped) {
                return; // the listener removed this target
            }
            long elapsed = now - attempt.startNanos;
            long periods = Math.max(1, (elapsed + intervalNanos - 1) / intervalNanos);
            long next = attempt.startNanos + periods * intervalNanos;
            schedule(Math.max(1, (next - now) / 1_000_000));
        }

        private void record(boolean success, String reason, long now) {
            HealthState to = null;
            String why = reason;
            if (success) {
                failures = 0;
                successes++;
                if (state == HealthState.UNKNOWN) {
                    to = HealthState.UP;
                } else if (state == HealthState.DOWN && successes >= target.check().rise()) {
                    to = HealthState.UP;
                    why = successes == 1 ? reason : successes + " consecutive successes (" + reason + ")";
                }
            } else {
                successes = 0;
                failures++;
                if (state == HealthState.UNKNOWN) {
                    to = HealthState.DOWN;
                } else if (state == HealthState.UP && failures >= target.check().fall()) {
                    to = HealthState.DOWN;
                    why = failures == 1 ? reason : reason + " (" + failures + " consecutive failures)";
                }
            }
            if (log.isDebugEnabled()) {
                log.debug("probe {} {}:{} {}: {}", target.id(), target.host(), target.port(),
                        success ? "ok" : "failed", reason);
            }
            if (to == null) {
                return;
            }
            HealthState from = state;
            state = to;
            successes = 0;
            failures = 0;
            states.replace(target.id(), to);
            HealthTransition transition = new HealthTransition(target.id(), from, to, why, now);
            log.info("health {} {} -> {}: {}", target.id(), from, to, why);
            try {
                listener.accept(transition);
            } catch (RuntimeException e) {
                log.error("health listener failed on {}", transition, e);
            }
        }

        void stop() {
            stopped = true;
            if (timerId >= 0) {
                vertx.cancelTimer(timerId);
                timerId = -1;
            }
            if (deadlineTimerId >= 0) {
                vertx.cancelTimer(deadlineTimerId);
                deadlineTimerId = -1;
            }
            ProbeAttempt a = inFlight;
            inFlight = null;
            if (a != null) {
                a.abandon();
            }
        }
    }
}
