package io.tiergate.shared.health;

import io.tiergate.shared.maglev.MaglevTable;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checking for both tiers: probes targets (TCP connect, HTTP(S) GET, or an external
 * command) and reports only state <em>changes</em> (it logs nothing per probe, and leaves logging a change to the
 * listener, which knows what the target is to an operator), after {@code rise} consecutive successes or
 * {@code fall} consecutive failures. What a change means (quiesce, remove, sorry server) is the
 * caller's decision.
 *
 * <p><b>Threading.</b> Probing, counting and scheduling run on several Vert.x event loops (by
 * default one per core, at most the Vert.x event-loop pool): one event loop sustains only so many
 * probes a second (docs/benchmarks.md, "Health engine"). Each target belongs to one loop, chosen by
 * a hash of its id, so it keeps that loop when it is replaced or re-added; its counters are touched
 * on that loop only, with no lock. There is no thread per check, only timers. The listener runs on
 * the context the engine was built on (the caller's, or a new event-loop context), one transition at
 * a time, and in order for each target; it must not block. {@link #add}, {@link #remove} and
 * {@link #close} may be called from any thread; {@link #state} and {@link #states} read a concurrent
 * snapshot and are safe anywhere.
 *
 * <p><b>Timing.</b> A target's probes never overlap: one timer per probe, armed when the probe
 * starts, fires one interval later and starts the next one (or, if the probe is still running, fails
 * it and waits one more interval, so an overloaded loop is not handed more probes). The checkers enforce the timeout
 * themselves (TCP and HTTP connect timeout, HTTP idle timeout, a killed command); a probe still
 * unanswered when the interval ends (an HTTP response trickling in) counts as "timeout after ...". The first
 * probe of each target waits a deterministic fraction of the interval derived from its id, so
 * thousands of targets added together spread out instead of firing in one burst.
 *
 * <p><b>First probes.</b> While a target has no verdict yet (UNKNOWN: added with it, not yet UP or
 * DOWN) each probe is given at least {@link #FIRST_PROBE_TIMEOUT} to answer, whatever the check's
 * timeout: in a freshly started JVM these probes load and warm up the HTTP/TLS client, which takes a
 * few hundred ms on a loaded machine, and with a 100 ms timeout every start reported every server
 * DOWN, then UP (two WARNs each and a server briefly out of rotation). Going DOWN from UNKNOWN on
 * timeouts takes {@code fall} consecutive ones, as from UP; any other failure (refused, reset, a bad
 * status) takes it DOWN at once, so a new server that is not listening yet gets no traffic.
 *
 * <p><b>Capacity.</b> When the configured probe rate (the sum of 1/interval over all targets) passes
 * {@link #SUSTAINED_PROBES_PER_LOOP} per event loop, the engine logs one WARN with the numbers and
 * the fix: probes past that rate run late, time out and report healthy servers DOWN.
 */
public final class HealthEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HealthEngine.class);

    /**
     * TCP probes a second one event loop keeps up with, with headroom for a burst of failures:
     * measured in docs/benchmarks.md ("Health engine"). HTTP(S) probes cost more than TCP ones.
     */
    public static final double SUSTAINED_PROBES_PER_LOOP = 10_000;

    /** The least time a probe of a target without a verdict yet gets to answer (see "First probes" above). */
    public static final java.time.Duration FIRST_PROBE_TIMEOUT = java.time.Duration.ofSeconds(1);

    private final Context delivery;
    private final Consumer<HealthTransition> listener;
    private final Map<String, HealthState> states = new ConcurrentHashMap<>();
    private final Loop[] loops;
    private final double probeBudget;
    private final AtomicBoolean overBudget = new AtomicBoolean();
    private final TcpChecker tcp;
    private final HttpChecker http;
    private final CommandChecker command;
    private volatile boolean closed;

    /** Probes on one event loop per core (at most the Vert.x event-loop pool). */
    public HealthEngine(Vertx vertx, Consumer<HealthTransition> listener) {
        this(vertx, Runtime.getRuntime().availableProcessors(), listener);
    }

    /** Probes on {@code loops} distinct event loops (clamped to the Vert.x event-loop pool). */
    public HealthEngine(Vertx vertx, int loops, Consumer<HealthTransition> listener) {
        this(vertx, loops, SUSTAINED_PROBES_PER_LOOP, listener);
    }

    HealthEngine(Vertx vertx, int loops, double probesPerLoop, Consumer<HealthTransition> listener) {
        Objects.requireNonNull(vertx, "vertx");
        this.listener = Objects.requireNonNull(listener, "listener");
        if (loops < 1) {
            throw new IllegalArgumentException("loops: " + loops + " (expected: >= 1)");
        }
        this.delivery = vertx.getOrCreateContext();
        this.loops = createLoops((VertxInternal) vertx, loops);
        this.probeBudget = probesPerLoop * this.loops.length;
        this.tcp = new TcpChecker(vertx);
        this.http = new HttpChecker(vertx);
        this.command = new CommandChecker();
    }

    // One context per distinct Netty event loop. Vert.x hands out event loops round-robin and other code takes
    // them too, so asking for N new contexts could give two on the same loop; building each on a named loop can't.
    private static Loop[] createLoops(VertxInternal vertx, int wanted) {
        List<Loop> made = new ArrayList<>();
        for (EventExecutor e : vertx.nettyEventLoopGroup()) {
            if (made.size() == wanted) {
                break;
            }
            made.add(new Loop(vertx.contextBuilder().withEventLoop((EventLoop) e).build()));
        }
        return made.toArray(Loop[]::new);
    }

    /** Number of event loops probing. */
    public int loops() {
        return loops.length;
    }

    /**
     * Starts probing {@code target}. With {@code initial} UNKNOWN the first success reports UP, the first
     * failure other than a timeout reports DOWN, and {@code fall} consecutive timeouts report DOWN (a
     * target not probed yet counts as up); with UP or
     * DOWN the usual rise/fall counting applies from that state (use it to carry state over a config
     * reload). Adding an id that already exists
     * replaces it, keeping nothing of the old counters.
     */
    public void add(HealthTarget target, HealthState initial) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(initial, "initial");
        if (closed) {
            throw new IllegalStateException("health engine is closed");
        }
        states.put(target.id(), initial);
        long hash = MaglevTable.hash64(target.id().getBytes(StandardCharsets.UTF_8));
        Loop loop = loopOf(hash);
        loop.run(() -> {
            loop.stop(target.id());
            if (closed) {
                return;
            }
            Probed p = new Probed(loop, target, initial);
            loop.start(p);
            long intervalMs = target.check().interval().toMillis();
            p.schedule(TimeUnit.MILLISECONDS.toNanos(Math.max(1, Math.floorMod(hash, intervalMs))));
            checkBudget();
        });
    }

    /** Stops probing {@code id}; no transition is reported for it afterwards. Unknown ids are ignored. */
    public void remove(String id) {
        Objects.requireNonNull(id, "id");
        states.remove(id);
        Loop loop = loopOf(MaglevTable.hash64(id.getBytes(StandardCharsets.UTF_8)));
        loop.run(() -> {
            loop.stop(id);
            checkBudget();
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

    /** Probes a second the current targets ask for: the sum of 1/interval. */
    public double probeRate() {
        double sum = 0;
        for (Loop l : loops) {
            sum += l.rate;
        }
        return sum;
    }

    /** How many targets each event loop probes, in loop order (for tests and status output). */
    public int[] targetsPerLoop() {
        int[] n = new int[loops.length];
        for (int i = 0; i < loops.length; i++) {
            n[i] = loops[i].count;
        }
        return n;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        states.clear();
        // The checkers' clients are shared by all loops: close them once the last loop has abandoned its probes.
        AtomicInteger pending = new AtomicInteger(loops.length);
        for (Loop loop : loops) {
            loop.run(() -> {
                loop.stopAll();
                if (pending.decrementAndGet() == 0) {
                    tcp.close();
                    http.close();
                    command.close();
                }
            });
        }
    }

    private Loop loopOf(long hash) {
        // High bits: the low ones already pick the first probe's offset in the interval.
        return loops[(int) Long.remainderUnsigned(hash >>> 32, loops.length)];
    }

    private void checkBudget() {
        double rate = probeRate();
        if (rate > probeBudget) {
            if (overBudget.compareAndSet(false, true)) {
                log.warn(budgetWarning(rate, states.size(), loops.length, probeBudget / loops.length));
            }
        } else if (rate <= probeBudget * 0.9) {
            overBudget.set(false); // warn again if it climbs back over
        }
    }

    static String budgetWarning(double rate, int targets, int loops, double perLoop) {
        double budget = perLoop * loops;
        return String.format(Locale.ROOT, "health checks ask for %.0f probes/s (%d targets), more than the %.0f probes/s "
                        + "this engine sustains (%d event loop(s) x %.0f/s, docs/benchmarks.md \"Health engine\"): probes "
                        + "will run late, time out and report healthy servers DOWN. Make the intervals at least %.1fx "
                        + "longer, or check at most %d targets at these intervals",
                rate, targets, budget, loops, perLoop, Math.ceil(10 * rate / budget) / 10,
                (long) Math.floor(targets * budget / rate));
    }

    private void deliver(HealthTransition transition) {
        if (Vertx.currentContext() == delivery) {
            notifyListener(transition);
        } else {
            delivery.runOnContext(v -> notifyListener(transition));
        }
    }

    private void notifyListener(HealthTransition transition) {
        try {
            listener.accept(transition);
        } catch (RuntimeException e) {
            log.error("health listener failed on {}", transition, e);
        }
    }

    private Checker checkerFor(HealthCheck.Type type) {
        return switch (type) {
            case TCP -> tcp;
            case HTTP, HTTPS -> http;
            case COMMAND -> command;
        };
    }

    /** One event loop's share of the targets; everything but {@code rate} and {@code count} is loop-only. */
    private static final class Loop {
        final ContextInternal context;
        final Map<String, Probed> targets = new HashMap<>();
        volatile double rate;  // written on this loop only
        volatile int count;    // written on this loop only

        Loop(ContextInternal context) {
            this.context = context;
        }

        void run(Runnable r) {
            if (Vertx.currentContext() == context) {
                r.run();
            } else {
                context.runOnContext(v -> r.run());
            }
        }

        void start(Probed p) {
            targets.put(p.target.id(), p);
            rate += p.rate();
            count = targets.size();
        }

        void stop(String id) {
            Probed p = targets.remove(id);
            if (p != null) {
                p.stop();
                rate = Math.max(0, rate - p.rate());
                count = targets.size();
            }
        }

        void stopAll() {
            targets.values().forEach(Probed::stop);
            targets.clear();
            rate = 0;
            count = 0;
        }
    }

    /** Per-target probing state; every field is touched on its loop only. */
    private final class Probed implements ProbeAttempt.Outcome {
        final Loop loop;
        final HealthTarget target;
        final long intervalNanos;
        final long timeoutMs;
        HealthState state;
        int successes;
        int failures;
        ScheduledFuture<?> timer;
        ProbeAttempt inFlight;
        boolean stopped;

        Probed(Loop loop, HealthTarget target, HealthState initial) {
            this.loop = loop;
            this.target = target;
            this.state = initial;
            this.intervalNanos = target.check().interval().toNanos();
            this.timeoutMs = target.check().timeout().toMillis();
        }

        double rate() {
            return 1e9 / intervalNanos;
        }

        // A raw Netty timer on the loop, entered through the context: no Vert.x timer id, no shared timer map.
        void schedule(long delayNanos) {
            timer = loop.context.nettyEventLoop().schedule(() -> loop.context.emit(v -> tick()), delayNanos,
                    TimeUnit.NANOSECONDS);
        }

        void tick() {
            timer = null;
            ProbeAttempt late = inFlight;
            if (late != null) {
                long left = late.remainingNanos();
                if (left > 0 && !stopped) {
                    // A probe of a target without a verdict, within its longer timeout: let it run, and look again one
                    // interval later (the next probe starts on the first tick after it has answered).
                    schedule(Math.min(left, intervalNanos));
                    return;
                }
                // Still unanswered at the end of the interval, so past its timeout too (timeout <= interval). Like
                // any probe that outlasts its interval, the next one starts on the following boundary: starting it
                // now would pile more probes onto a loop that is already late.
                late.fail(Checker.timeout(late.timeoutMs));
                if (!stopped) {
                    schedule(intervalNanos);
                }
                return;
            }
            if (stopped) {
                return; // removed, possibly by the listener of the transition just recorded
            }
            long attemptTimeoutMs = state == HealthState.UNKNOWN ? Math.max(timeoutMs, FIRST_PROBE_TIMEOUT.toMillis())
                    : timeoutMs;
            ProbeAttempt attempt = new ProbeAttempt(target, attemptTimeoutMs, loop.context, this);
            inFlight = attempt;
            schedule(intervalNanos); // the one timer of this probe: starts the next one, or times this one out
            try {
                checkerFor(target.check().type()).probe(attempt);
            } catch (RuntimeException e) {
                attempt.fail(Checker.describe(e, attemptTimeoutMs));
            }
        }

        @Override
        public void done(ProbeAttempt attempt, boolean success, String reason) {
            if (stopped || attempt != inFlight) {
                return;
            }
            inFlight = null;
            // No "answered after its timeout" check here: on a starved loop every answer is processed late, and
            // counting wall time would turn CPU starvation into every target going DOWN at once.
            record(success, reason, System.nanoTime());
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
                // Not probed yet counts as up (the director keeps such a server in its tables). A clear failure
                // (refused, reset, a bad status) takes it out at once: a server added by a reload or a DNS answer that
                // is not listening yet must not take traffic. Only timeouts, which on a cold JVM may be the prober's
                // own class loading, need `fall` of them, as from UP, so one slow first probe is not an outage.
                boolean timeout = Checker.isTimeout(reason);
                if (state == HealthState.UNKNOWN && !timeout
                        || state != HealthState.DOWN && failures >= target.check().fall()) {
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
            // DEBUG only: the listener logs the change once, in its own words (a proxy upstream, a director real server).
            log.debug("health {} {} -> {}: {}", target.id(), from, to, why);
            deliver(transition);
        }

        void stop() {
            stopped = true;
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
            ProbeAttempt a = inFlight;
            inFlight = null;
            if (a != null) {
                a.abandon();
            }
        }
    }
}
