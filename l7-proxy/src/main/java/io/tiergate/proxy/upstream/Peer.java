package io.tiergate.proxy.upstream;

import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.shared.runtime.LoopClock;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One origin server and what the proxy has learned about it. Balancing fields are guarded by the owning
 * {@link UpstreamGroup}'s lock; {@code active} is atomic because attempts finish on any event loop.
 */
public final class Peer {
    private final UpstreamConfig.Server config;
    private final String key;
    final AtomicInteger active = new AtomicInteger();
    int currentWeight;          // smooth weighted round robin state
    private int fails;
    private long failWindowStart;
    private long downUntil;
    private volatile boolean activeHealthy = true;
    private volatile double ewmaNanos;
    private volatile boolean drained;
    final AtomicLong requests = new AtomicLong();
    final AtomicLong failures = new AtomicLong();
    final AtomicLong ejections = new AtomicLong();
    private final long[] latencies = new long[LATENCY_WINDOW]; // ring of recent successes, for the status page
    private long latencyCount; // guarded by this
    private static final int LATENCY_WINDOW = 512;

    Peer(UpstreamConfig.Server config) {
        this.config = config;
        this.key = config.address().toString();
    }

    public UpstreamConfig.Server config() {
        return config;
    }

    /** host:port, as it appears in logs and metrics. */
    public String key() {
        return key;
    }

    public int weight() {
        return config.weight();
    }

    public int active() {
        return active.get();
    }

    double ewmaNanos() {
        return ewmaNanos;
    }

    /** Usable now: not drained, not failed by passive checks within fail_timeout, not failed by active checks. */
    boolean available(long now) {
        return !drained && activeHealthy && !ejected(now);
    }

    /** Taken out by passive health ({@code max_fails} within {@code fail_timeout}) and not back yet. */
    boolean ejected(long now) {
        return config.maxFails() != 0 && now - downUntil < 0;
    }

    /** Whether passive health has this server out right now. */
    public boolean ejectedNow() {
        return ejected(LoopClock.nanoTime());
    }

    /**
     * Drained by the operator (admin API): no new requests; requests in flight finish. Kept across reloads that
     * leave the upstream group unchanged, like its health.
     */
    public void setDrained(boolean drained) {
        this.drained = drained;
    }

    public boolean drained() {
        return drained;
    }

    public long requests() {
        return requests.get();
    }

    public long failures() {
        return failures.get();
    }

    public long ejections() {
        return ejections.get();
    }

    /**
     * Latency percentiles (milliseconds) over the last {@value #LATENCY_WINDOW} successful attempts, for the status
     * page; empty before the first. {@code qs} in 0..1.
     */
    public synchronized double[] latencyMillis(double... qs) {
        int n = (int) Math.min(latencyCount, LATENCY_WINDOW);
        if (n == 0) {
            return new double[0];
        }
        long[] sorted = Arrays.copyOf(latencies, n);
        Arrays.sort(sorted);
        double[] out = new double[qs.length];
        for (int i = 0; i < qs.length; i++) {
            int idx = (int) Math.min(n - 1, Math.max(0, Math.ceil(qs[i] * n) - 1));
            out[i] = sorted[idx] / 1e6;
        }
        return out;
    }

    /**
     * The active health check's verdict. Becoming healthy also clears a passive ejection: the server has just
     * proved itself, so it need not sit out the rest of {@code fail_timeout}.
     */
    public void setActiveHealthy(boolean healthy) {
        if (healthy) {
            synchronized (this) {
                fails = 0;
                downUntil = LoopClock.nanoTime();
            }
        }
        this.activeHealthy = healthy;
    }

    /** In rotation now (passive and active checks both agree), for the upstream health gauge. */
    public boolean up() {
        return available(LoopClock.nanoTime());
    }

    public boolean activeHealthy() {
        return activeHealthy;
    }

    /** nginx semantics: max_fails failures within fail_timeout take the server out for fail_timeout. */
    synchronized boolean recordFailure(long now) {
        if (config.maxFails() == 0) {
            return false;
        }
        if (now - downUntil < 0) {
            // Already out: a request that was under way when it was ejected neither extends the ejection nor counts
            // (nor logs) as a new one.
            return false;
        }
        long window = config.failTimeout().toNanos();
        if (fails == 0 || now - failWindowStart > window) {
            fails = 0;
            failWindowStart = now;
        }
        fails++;
        if (fails >= config.maxFails()) {
            downUntil = now + window;
            fails = 0;
            return true;
        }
        return false;
    }

    synchronized void recordSuccess(long latencyNanos) {
        fails = 0;
        latencies[(int) (latencyCount++ % LATENCY_WINDOW)] = latencyNanos;
        // EWMA with a weight that favours recent samples without letting one outlier dominate.
        double prev = ewmaNanos;
        ewmaNanos = prev == 0 ? latencyNanos : prev * 0.7 + latencyNanos * 0.3;
    }

    @Override
    public String toString() {
        return key;
    }
}
