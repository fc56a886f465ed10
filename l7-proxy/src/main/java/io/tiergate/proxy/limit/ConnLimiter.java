package io.tiergate.proxy.limit;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The state of one {@code limit_conn} zone: requests in progress per key, for the whole node. An entry lives only
 * while its key has requests in progress, so the table is bounded by the concurrency itself and by the zone's
 * {@code size}: when it is full a new key is refused, as nginx does when its zone is exhausted.
 */
public final class ConnLimiter {
    private final Zones.ConnZone zone;
    private final ConcurrentHashMap<String, AtomicInteger> inProgress = new ConcurrentHashMap<>();

    public ConnLimiter(Zones.ConnZone zone) {
        this.zone = zone;
    }

    public Zones.ConnZone zone() {
        return zone;
    }

    /** Counts one more request for {@code key}; false (nothing counted) when that would exceed {@code max}. */
    public boolean acquire(String key, int max) {
        boolean[] ok = {false};
        if (!inProgress.containsKey(key) && inProgress.size() >= zone.size()) {
            return false;
        }
        inProgress.compute(key, (k, n) -> {
            AtomicInteger c = n == null ? new AtomicInteger() : n;
            if (c.get() < max) {
                c.incrementAndGet();
                ok[0] = true;
            }
            return c.get() == 0 ? null : c;
        });
        return ok[0];
    }

    public void release(String key) {
        inProgress.computeIfPresent(key, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    public int inProgress(String key) {
        AtomicInteger n = inProgress.get(key);
        return n == null ? 0 : n.get();
    }
}
