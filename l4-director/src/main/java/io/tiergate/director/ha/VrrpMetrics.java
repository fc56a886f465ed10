package io.tiergate.director.ha;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.EnumMap;
import java.util.Map;

/**
 * VRRP meters, fed with status snapshots ({@link #update}) so a scrape never touches the advert thread:
 * <pre>
 * tiergate_director_vrrp_mismatched_adverts_total{cause="vrid|version|interval|auth|checksum|ttl"}
 * tiergate_director_vrrp_split_brain   1 while a peer is master for our VIPs in a group we don't hear
 * </pre>
 * The counters keep counting across instance restarts (a reload that changes the vrid starts from zero inside the
 * instance; a drop of the snapshot's total is taken as such a restart).
 */
public final class VrrpMetrics {
    public static final String MISMATCHES = "tiergate_director_vrrp_mismatched_adverts";
    public static final String SPLIT_BRAIN = "tiergate_director_vrrp_split_brain";

    private final EnumMap<VrrpMismatches.Cause, long[]> counts = new EnumMap<>(VrrpMismatches.Cause.class); // {total, last}
    private volatile boolean splitBrain;

    public VrrpMetrics(MeterRegistry registry) {
        for (VrrpMismatches.Cause c : VrrpMismatches.Cause.values()) {
            long[] cell = new long[2];
            counts.put(c, cell);
            FunctionCounter.builder(MISMATCHES, cell, x -> read(x))
                    .description("VRRP adverts concerning our group that were not followed, by cause")
                    .tag("cause", c.label).register(registry);
        }
        Gauge.builder(SPLIT_BRAIN, this, m -> m.splitBrain ? 1 : 0)
                .description("1 while a peer is VRRP master for our VIPs under another VRID or version")
                .register(registry);
    }

    private synchronized double read(long[] cell) {
        return cell[0];
    }

    /** Takes the latest status (null: no VRRP instance right now). */
    public synchronized void update(VrrpStatus status) {
        if (status == null) {
            splitBrain = false;
            return;
        }
        update(status.mismatchTotals(), status.splitBrain());
    }

    /** The same from plain values (the director's status record). */
    public synchronized void update(Map<String, Long> totals, boolean splitBrainNow) {
        counts.forEach((cause, cell) -> {
            long now = totals == null ? 0 : totals.getOrDefault(cause.label, 0L);
            cell[0] += now >= cell[1] ? now - cell[1] : now;
            cell[1] = now;
        });
        splitBrain = splitBrainNow;
    }
}
