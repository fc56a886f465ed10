package io.tiergate.director.ha;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A snapshot of one VRRP instance for status pages and the admin API.
 *
 * @param priority        the priority advertised now (lowered while unhealthy with a negative track_weight)
 * @param master          who is master as far as we know: ourselves when MASTER, else the source of the last advert
 *                        heard (empty before the first one)
 * @param mismatches      adverts concerning our group that we can't follow, going on now ({@link VrrpMismatches})
 * @param mismatchTotals  mismatched adverts since the instance started, per cause
 * @param tracking        one line per track_interface/track_script with its state
 */
public record VrrpStatus(int vrid, VrrpState state, int priority, Duration masterAdvertInterval,
                         Optional<InetAddress> master, long roleChanges, List<VrrpMismatches.Mismatch> mismatches,
                         Map<String, Long> mismatchTotals, List<String> tracking) {
    public VrrpStatus {
        mismatches = List.copyOf(mismatches);
        tracking = List.copyOf(tracking);
        mismatchTotals = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(mismatchTotals));
    }

    /** Without mismatches (fakes, tools). */
    public VrrpStatus(int vrid, VrrpState state, int priority, Duration masterAdvertInterval,
                      Optional<InetAddress> master, long roleChanges) {
        this(vrid, state, priority, masterAdvertInterval, master, roleChanges, List.of(), Map.of(), List.of());
    }

    /** Whether a peer is master for one of our VIPs in a group we don't hear: two masters. */
    public boolean splitBrain() {
        return mismatches.stream().anyMatch(VrrpMismatches.Mismatch::foreignMaster);
    }
}
