package io.tiergate.director.engine;

/**
 * The director's VRRP instance as {@code tiergate director status} and {@code GET /api/status} show it.
 *
 * @param state              MASTER, BACKUP, FAULT or INIT
 * @param priority           the priority advertised now (lowered while unhealthy with a negative track_weight)
 * @param configuredPriority the priority from the config
 * @param master             the master's address as far as we know ({@code -} before any advert was heard)
 * @param advertIntervalMs   the master's advertisement interval (learned from its adverts when BACKUP)
 * @param healthy            what the director reports to VRRP: a service can serve, the dataplane applies, the
 *                           VRRP interface is up
 * @param role               the HA role the engine runs (IPVS sync daemon master/backup), or null before the first
 * @param mismatches         adverts concerning our group that VRRP can't follow, going on now (another VRID carrying
 *                           our VIPs, VRRPv2, another interval, authentication, bad checksum or TTL)
 * @param mismatchTotals     mismatched adverts since the VRRP instance started, per cause
 * @param tracking           one line per track_interface/track_script with its state
 * @param peers              the configured unicast peers; empty: adverts are multicast to 224.0.0.18
 * @param virtualAddresses   the VIPs the master owns (address/prefix)
 */
public record HaStatus(int vrid, String interfaceName, String state, int priority, int configuredPriority,
                       String master, long advertIntervalMs, long roleChanges, boolean healthy, String role,
                       java.util.List<Mismatch> mismatches, java.util.Map<String, Long> mismatchTotals,
                       java.util.List<String> tracking, java.util.List<String> peers,
                       java.util.List<String> virtualAddresses) {
    public HaStatus {
        peers = peers == null ? java.util.List.of() : java.util.List.copyOf(peers);
        virtualAddresses = virtualAddresses == null ? java.util.List.of() : java.util.List.copyOf(virtualAddresses);
        tracking = tracking == null ? java.util.List.of() : java.util.List.copyOf(tracking);
        mismatches = mismatches == null ? java.util.List.of() : java.util.List.copyOf(mismatches);
        mismatchTotals = mismatchTotals == null ? java.util.Map.of() : mismatchTotals;
    }

    /**
     * One ongoing mismatch: {@code foreignMaster} means the peer is master for our VIPs in a group we don't hear
     * (split brain).
     */
    public record Mismatch(String peer, String cause, String detail, long adverts, boolean foreignMaster,
                           long lastSeenMsAgo) {
    }

    public boolean splitBrain() {
        return mismatches.stream().anyMatch(Mismatch::foreignMaster);
    }
}
