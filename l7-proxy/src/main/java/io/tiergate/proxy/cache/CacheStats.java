package io.tiergate.proxy.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * Hits and misses of the node's cache (for the hit ratio metric and status page) and the keys served most from the
 * store. Per-key counts live in a bounded map (least recently counted keys go first), so a crawler requesting
 * millions of distinct URLs cannot grow it: the top keys are those hot recently, which is what an operator asks.
 */
public final class CacheStats {
    private static final int TRACKED_KEYS = 10_000;

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final Cache<String, LongAdder> perKey = Caffeine.newBuilder().maximumSize(TRACKED_KEYS)
            .executor(Runnable::run).build();

    /** A key and how often it was served from the store while tracked. */
    public record KeyHits(String key, long hits) {
    }

    void hit(String key) {
        hits.increment();
        perKey.get(key, k -> new LongAdder()).increment();
    }

    void miss() {
        misses.increment();
    }

    void forget(String key) {
        perKey.invalidate(key);
    }

    void forgetIf(Predicate<String> which) {
        perKey.asMap().keySet().removeIf(which);
    }

    public long hits() {
        return hits.sum();
    }

    public long misses() {
        return misses.sum();
    }

    /** The {@code n} keys with the most hits among those still tracked, most first. */
    public List<KeyHits> top(int n) {
        return perKey.asMap().entrySet().stream()
                .map((Map.Entry<String, LongAdder> e) -> new KeyHits(e.getKey(), e.getValue().sum()))
                .sorted(Comparator.comparingLong(KeyHits::hits).reversed().thenComparing(KeyHits::key))
                .limit(n).toList();
    }
}
