package io.tiergate.proxy.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * The state of one {@code limit_req} zone: nginx's leaky bucket per key, shared by every event loop of the node (one
 * table, one lock per key), so N loops never multiply the rate. The table holds at most the zone's {@code size} keys;
 * Caffeine's W-TinyLFU decides which to drop (it favours keys seen often over one-off keys, but under a flood of new
 * keys larger than the table any key can go). A dropped key starts again with an empty bucket, as in nginx when its
 * zone is full and it evicts the least recently used entries.
 *
 * <p>Arithmetic as in nginx ({@code ngx_http_limit_req_lookup}): {@code excess} is in thousandths of a request; each
 * request adds 1000, time drains {@code rate} per second; over {@code burst * 1000} the request is refused and the
 * bucket is left as it was.
 */
public final class RateLimiter {
    private final Zones.RateZone zone;
    private final Cache<String, Bucket> buckets;
    private final long ratePerSecondMilli; // thousandths of a request per second, nginx's ctx->rate

    /** What {@link #take} decided: pass now, pass after {@code delayMillis}, or refuse (retry after some seconds). */
    public record Verdict(boolean refused, long delayMillis, long retryAfterSeconds) {
        static final Verdict PASS = new Verdict(false, 0, 0);
    }

    private static final class Bucket {
        long excess;
        long lastMillis;
    }

    public RateLimiter(Zones.RateZone zone) {
        this.zone = zone;
        this.ratePerSecondMilli = Math.max(1, Math.round(zone.perSecond() * 1000));
        this.buckets = Caffeine.newBuilder().maximumSize(zone.size()).build();
    }

    public Zones.RateZone zone() {
        return zone;
    }

    /** Keys currently held (for tests and the admin view). */
    public long keys() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    public Verdict take(String key, LimitReq rule, long nowMillis) {
        Bucket b = buckets.get(key, k -> {
            Bucket n = new Bucket();
            n.excess = -1; // new: the first request is free (nginx starts a new node at excess 0)
            n.lastMillis = nowMillis;
            return n;
        });
        long excess;
        synchronized (b) {
            if (b.excess < 0) {
                b.excess = 0;
                b.lastMillis = nowMillis;
                return Verdict.PASS;
            }
            long ms = Math.max(0, nowMillis - b.lastMillis);
            excess = Math.max(0, b.excess - ratePerSecondMilli * ms / 1000 + 1000);
            long burst = rule.burst() * 1000L;
            if (excess > burst) {
                long wait = (excess - burst) * 1000 / ratePerSecondMilli; // ms until the request would fit
                return new Verdict(true, 0, Math.max(1, (wait + 999) / 1000));
            }
            b.excess = excess;
            if (ms > 0) {
                b.lastMillis = nowMillis;
            }
        }
        long delay = rule.nodelay() ? Long.MAX_VALUE : rule.delay() * 1000L;
        if (excess <= delay) {
            return Verdict.PASS;
        }
        return new Verdict(false, (excess - delay) * 1000 / ratePerSecondMilli, 0);
    }
}
