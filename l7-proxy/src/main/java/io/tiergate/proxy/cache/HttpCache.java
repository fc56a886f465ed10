package io.tiergate.proxy.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The store: primary key (the expanded cache key of a GET) → the variants stored under it (one per Vary secondary
 * key). Bounded by bytes: Caffeine weighs each primary key by the sum of its variants' sizes and evicts whole keys.
 * Variants are replaced copy-on-write, so readers never see a list being changed.
 */
public final class HttpCache {
    private record Variants(List<StoredResponse> list, int weight) {
        static Variants of(List<StoredResponse> l) {
            long w = 64;
            for (StoredResponse s : l) {
                w += s.weight();
            }
            return new Variants(List.copyOf(l), (int) Math.min(Integer.MAX_VALUE, w));
        }
    }

    private final Cache<String, Variants> store;
    private final int maxVariants;
    private final long maxWeight;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder stores = new LongAdder();
    private final LongAdder evictions = new LongAdder();

    public HttpCache(CacheConfig config) {
        this.maxVariants = config.maxVariants();
        this.maxWeight = config.maxSize();
        // Maintenance on the calling thread: evictions are cheap and this keeps the byte bound exact in tests.
        this.store = Caffeine.newBuilder()
                .maximumWeight(config.maxSize())
                .weigher((String k, Variants v) -> v.weight())
                .executor(Runnable::run)
                .evictionListener((String k, Variants v, RemovalCause cause) -> evictions.increment())
                .build();
    }

    public List<StoredResponse> variants(String key) {
        Variants v = store.getIfPresent(key);
        return v == null ? List.of() : v.list();
    }

    /** Stores {@code r}, replacing the variant with the same secondary key; the newest variant comes first. */
    public void put(String key, StoredResponse r) {
        stores.increment();
        store.asMap().compute(key, (k, old) -> {
            List<StoredResponse> l = new ArrayList<>();
            l.add(r);
            if (old != null) {
                for (StoredResponse s : old.list()) {
                    boolean sameVariant = s.varyNames().equals(r.varyNames()) && s.varyValues().equals(r.varyValues());
                    if (!sameVariant && l.size() < maxVariants) {
                        l.add(s);
                    }
                }
            }
            return Variants.of(l);
        });
    }

    /** Replaces one stored variant by its updated version (after a 304); a no-op if it has gone meanwhile. */
    public void replace(String key, StoredResponse old, StoredResponse updated) {
        store.asMap().computeIfPresent(key, (k, v) -> {
            List<StoredResponse> l = new ArrayList<>(v.list());
            int i = l.indexOf(old);
            if (i < 0) {
                return v;
            }
            l.set(i, updated);
            return Variants.of(l);
        });
    }

    /** Removes every variant of a key. */
    public boolean purge(String key) {
        return store.asMap().remove(key) != null;
    }

    /** Removes every key starting with {@code prefix}; returns how many keys went. */
    public int purgePrefix(String prefix) {
        int n = 0;
        for (Map.Entry<String, Variants> e : store.asMap().entrySet()) {
            if (e.getKey().startsWith(prefix) && store.asMap().remove(e.getKey()) != null) {
                n++;
            }
        }
        return n;
    }

    public void clear() {
        store.invalidateAll();
    }

    /** Bytes currently accounted for. */
    public long weightedSize() {
        return store.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
    }

    /** A cacheable GET/HEAD answered from the store ({@code hit}) or sent to the upstream. */
    public void countLookup(boolean hit) {
        (hit ? hits : misses).increment();
    }

    public long hits() {
        return hits.sum();
    }

    public long misses() {
        return misses.sum();
    }

    public long stores() {
        return stores.sum();
    }

    public long evictions() {
        return evictions.sum();
    }

    public long maxWeight() {
        return maxWeight;
    }

    public long keyCount() {
        return store.estimatedSize();
    }
}
