package io.tiergate.director.ha;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * What a reloaded {@code vrrp:} section means for a running instance. Keys that say which group we are in or how
 * we reach it (interface, vrid, source_address, unicast_peers) or that change how the advert thread itself runs
 * (track_weight, realtime) need a new instance; everything else is handed to the running one
 * ({@link VrrpInstance#reconfigure}), so a reload that keeps those keys never causes a failover by itself.
 */
public final class VrrpReload {
    /** Logged with a restart, after the reason. */
    public static final String RESTARTING = "restarting the VRRP instance (a master hands over with a priority-0 advert)";

    private VrrpReload() {
    }

    /** Why {@code next} needs a new instance ("vrid changed 42 -> 43"), or empty when it applies live. */
    public static Optional<String> restartReason(VrrpConfig old, VrrpConfig next) {
        List<String> why = new ArrayList<>();
        change(why, "interface", old, next, VrrpConfig::interfaceName);
        change(why, "vrid", old, next, VrrpConfig::vrid);
        // IPv4 and IPv6 instances have different sockets, sources and announcements.
        change(why, "address family", old, next, c -> c.ipv6() ? "IPv6" : "IPv4");
        change(why, "source_address", old, next, c -> c.sourceAddress().map(a -> a.getHostAddress()).orElse("(first)"));
        change(why, "unicast_peers", old, next, c -> c.unicastPeers().stream().map(a -> a.getHostAddress()).toList());
        change(why, "track_weight", old, next, VrrpConfig::trackWeight);
        change(why, "realtime", old, next, VrrpConfig::realtime);
        change(why, "track_interface", old, next, c -> c.tracking().interfaces());
        change(why, "track_script", old, next, c -> c.tracking().scripts());
        return why.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", why));
    }

    /** One "key changed old -> new" per key the running instance takes over; empty when nothing changed. */
    public static List<String> liveChanges(VrrpConfig old, VrrpConfig next) {
        List<String> changes = new ArrayList<>();
        change(changes, "priority", old, next, VrrpConfig::priority);
        change(changes, "advert_interval", old, next, c -> c.advertInterval().toMillis() + "ms");
        change(changes, "preempt", old, next, VrrpConfig::preempt);
        change(changes, "preempt_delay", old, next, c -> c.preemptDelay().toMillis() + "ms");
        change(changes, "virtual_addresses", old, next, VrrpConfig::virtualAddresses);
        change(changes, "garp_count", old, next, VrrpConfig::garpCount);
        change(changes, "garp_interval", old, next, c -> c.garpInterval().toMillis() + "ms");
        change(changes, "notify", old, next, VrrpConfig::notifyCommand);
        change(changes, "vip_lifetime", old, next, c -> lifetime(c.ownership().vipLifetime()));
        change(changes, "garp_master_delay", old, next, c -> c.ownership().garpMasterDelay().toMillis() + "ms");
        change(changes, "garp_master_refresh", old, next, c -> c.ownership().garpMasterRefresh().toMillis() + "ms");
        return changes;
    }

    private static String lifetime(java.time.Duration d) {
        return d.isZero() ? "forever" : d.toSeconds() + "s";
    }

    private static void change(List<String> out, String key, VrrpConfig old, VrrpConfig next,
                               Function<VrrpConfig, Object> value) {
        Object a = value.apply(old);
        Object b = value.apply(next);
        if (!Objects.equals(a, b)) {
            out.add(key + " changed " + a + " -> " + b);
        }
    }
}
