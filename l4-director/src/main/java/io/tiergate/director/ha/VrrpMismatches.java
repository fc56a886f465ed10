package io.tiergate.director.ha;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Adverts that concern our group but that we can't follow: another VRID carrying our VIPs (or from a configured
 * peer), VRRPv2, another advert interval, VRRPv2 authentication, a bad checksum or TTL. Each is a likely split brain
 * or a slower failover that would otherwise pass silently (the packets are dropped or followed without a word).
 *
 * <p>One log line per peer and cause when it starts, repeated at most once a minute with a count while it lasts,
 * and an INFO line when it has stopped for {@link #QUIET} ({@link #MASTER_QUIET} for a foreign master). A peer that is master for one of our VIPs in a group we
 * don't hear (other VRID or version) is logged at ERROR: both of us answer ARP for the VIP.
 *
 * <p>Thread-safe: the advert thread reports, status readers take snapshots. Mismatched adverts are rare (one peer,
 * a few per second at most), so plain locking costs nothing that matters.
 */
public final class VrrpMismatches {
    private static final Logger log = LoggerFactory.getLogger(VrrpMismatches.class);
    /** How often a mismatch that lasts is logged again. */
    static final long REPEAT_NANOS = Duration.ofMinutes(1).toNanos();
    /** Silence after which a mismatch is over (status no longer shows it; the next one is logged at once). */
    public static final Duration QUIET = Duration.ofSeconds(10);
    /**
     * The same for a foreign master. Longer because a silent foreign master is not a gone one: a keepalived master
     * stops advertising while other VRRP packets keep arriving (each restarts its wait) and still holds the VIPs.
     * Its priority-0 advert ({@link #left}) ends it at once.
     */
    public static final Duration MASTER_QUIET = Duration.ofMinutes(5);

    /** Why an advert concerning us was not (or not simply) followed. {@link #label} is the metric's cause tag. */
    public enum Cause {
        VRID("vrid"), VERSION("version"), INTERVAL("interval"), AUTH("auth"), CHECKSUM("checksum"), TTL("ttl");

        public final String label;

        Cause(String label) {
            this.label = label;
        }
    }

    /** One ongoing mismatch as status shows it. */
    public record Mismatch(String peer, String cause, String detail, long adverts, boolean foreignMaster,
                           Duration lastSeenAgo) {
    }

    private record Key(int peer, Cause cause) {
    }

    private static final class Entry {
        String detail;
        boolean foreignMaster;
        long lastSeen;
        long lastLogged;
        long adverts;
        long sinceLogged;
    }

    private final int vrid;
    private final java.util.function.IntFunction<String> peerName;
    private final Map<Key, Entry> entries = new LinkedHashMap<>();
    private final EnumMap<Cause, Long> totals = new EnumMap<>(Cause.class);

    /** Peers are IPv4 addresses as ints. */
    public VrrpMismatches(int vrid) {
        this(vrid, VrrpPacket::format);
    }

    /** Peers are ints that {@code peerName} turns into text (an IPv6 instance numbers its peers). */
    public VrrpMismatches(int vrid, java.util.function.IntFunction<String> peerName) {
        this.vrid = vrid;
        this.peerName = peerName;
        for (Cause c : Cause.values()) {
            totals.put(c, 0L);
        }
    }

    /**
     * Records one mismatched advert from {@code peer}. {@code detail} is only evaluated when a line is logged or the
     * mismatch is new. {@code foreignMaster}: the advert is from a master of our VIPs in a group we don't follow.
     * Returns whether a line was logged.
     */
    public synchronized boolean report(long now, int peer, Cause cause, boolean foreignMaster, Supplier<String> detail) {
        totals.merge(cause, 1L, Long::sum);
        Key key = new Key(peer, cause);
        Entry e = entries.get(key);
        boolean fresh = e == null;
        if (fresh) {
            e = new Entry();
            entries.put(key, e);
        }
        e.adverts++;
        e.sinceLogged++;
        e.lastSeen = now;
        boolean escalated = foreignMaster && !e.foreignMaster;
        e.foreignMaster |= foreignMaster;
        if (fresh || escalated || now - e.lastLogged >= REPEAT_NANOS) {
            e.detail = detail.get();
            String text = "VRRP vrid " + vrid + ": " + e.detail
                    + (fresh ? "" : " (still happening: " + e.sinceLogged + " adverts since the last report)");
            if (e.foreignMaster) {
                log.error("SPLIT BRAIN: {}", text);
            } else {
                log.warn("{}", text);
            }
            e.lastLogged = now;
            e.sinceLogged = 0;
            return true;
        }
        return false;
    }

    /** Ends mismatches not seen for {@link #QUIET}, logging that they stopped. Cheap; call about once a second. */
    public synchronized void expire(long now) {
        for (Iterator<Map.Entry<Key, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Entry> me = it.next();
            Entry e = me.getValue();
            if (now - e.lastSeen >= quiet(e)) {
                log.info("VRRP vrid {}: no more {} mismatch from {} ({} adverts in all)", vrid,
                        me.getKey().cause().label, peerName.apply(me.getKey().peer()), e.adverts);
                it.remove();
            }
        }
    }

    private static long quiet(Entry e) {
        return (e.foreignMaster ? MASTER_QUIET : QUIET).toNanos();
    }

    /** A peer we saw as foreign master sent priority 0: it left its group and gave up the VIPs. */
    public synchronized void left(int peer) {
        for (Iterator<Map.Entry<Key, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Entry> me = it.next();
            if (me.getKey().peer() == peer && me.getValue().foreignMaster) {
                log.info("VRRP vrid {}: {} left its group (priority 0): no more split brain with it", vrid,
                        peerName.apply(peer));
                it.remove();
            }
        }
    }

    /** Mismatched adverts since this instance started, per cause (every cause present). */
    public synchronized Map<String, Long> totals() {
        Map<String, Long> m = new LinkedHashMap<>();
        totals.forEach((c, n) -> m.put(c.label, n));
        return m;
    }

    /** The mismatches going on now, oldest first. */
    public synchronized List<Mismatch> active(long now) {
        List<Mismatch> out = new ArrayList<>();
        entries.forEach((k, e) -> {
            if (now - e.lastSeen < quiet(e)) {
                out.add(new Mismatch(peerName.apply(k.peer()), k.cause().label, e.detail, e.adverts,
                        e.foreignMaster, Duration.ofNanos(now - e.lastSeen)));
            }
        });
        return out;
    }
}
