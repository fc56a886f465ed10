package io.tiergate.shared.maglev;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Weighted Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, §3.4).
 *
 * <p>Every director that is given the same backends and the same minimum size computes a bit-identical
 * table, on any host and JVM: backends are sorted by key, and each backend's permutation comes from
 * {@link #hash64(byte[])} of its key's UTF-8 bytes (never {@code String.hashCode} or a random seed).
 * That is what lets a standby director or a second ECMP director take over flows without remapping.
 *
 * <p><b>Table size.</b> The size is the smallest prime {@code >= max(minSize, L)} where {@code L} is
 * the first step of the ladder {@code 251 × 2^k} that is {@code >= 100 × N} (N = backends with weight
 * &gt; 0). A backend's permutation depends on the table size, so a size change remaps almost every
 * slot; the ladder keeps the size unchanged while N moves within a factor of two, so taking one
 * backend out (or quiescing it to weight 0) moves only about 1/N of the slots. Callers that must never
 * see a size change (the nft dataplane) pass a fixed {@code minSize} such as 65537, or pass the size
 * of the table being replaced ({@code build(next, current.size())}) so the size only ever grows.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class MaglevTable {

    /** A backend competing for slots; weight 0 keeps it in {@link #backends()} but gives it no slots. */
    public record Backend(String key, int weight) {
        public Backend {
            Objects.requireNonNull(key, "key");
            if (key.isEmpty()) {
                throw new IllegalArgumentException("key: \"\" (expected: non-empty)");
            }
            if (weight < 0) {
                throw new IllegalArgumentException("weight: " + weight + " (expected: >= 0)");
            }
        }

        public static Backend of(String key, int weight) {
            return new Backend(key, weight);
        }
    }

    /** The smallest table ever built: keeps shares within 1% even for one or two backends. */
    public static final int MIN_SIZE = 251;

    // Bounds memory (int[] of this size) and build time; far above what nft maps are used with.
    private static final int MAX_SIZE = 1 << 24;

    private final List<Backend> backends;
    private final int[] slots;

    private MaglevTable(List<Backend> backends, int[] slots) {
        this.backends = backends;
        this.slots = slots;
    }

    public static MaglevTable build(List<Backend> backends) {
        return build(backends, MIN_SIZE);
    }

    public static MaglevTable build(List<Backend> backends, int minSize) {
        Objects.requireNonNull(backends, "backends");
        if (minSize < 2 || minSize > MAX_SIZE) {
            throw new IllegalArgumentException("minSize: " + minSize + " (expected: 2.." + MAX_SIZE + ")");
        }
        List<Backend> sorted = new ArrayList<>(backends.size());
        Set<String> seen = new HashSet<>();
        for (Backend b : backends) {
            Objects.requireNonNull(b, "backends contains null");
            if (!seen.add(b.key())) {
                throw new IllegalArgumentException("backends: duplicate key \"" + b.key() + "\" (expected: unique keys)");
            }
            sorted.add(b);
        }
        // Compare UTF-16 code units (String.compareTo): locale-independent, same order on every JVM.
        sorted.sort(Comparator.comparing(Backend::key));
        List<Backend> frozen = List.copyOf(sorted);

        int active = 0;
        for (Backend b : frozen) {
            if (b.weight() > 0) {
                active++;
            }
        }
        int size = tableSize(active, minSize);
        int[] slots = new int[size];
        Arrays.fill(slots, -1);
        if (active > 0) {
            populate(frozen, slots);
        }
        return new MaglevTable(frozen, slots);
    }

    static int tableSize(int activeBackends, int minSize) {
        long wanted = 100L * activeBackends;
        long ladder = MIN_SIZE;
        while (ladder < wanted) {
            ladder <<= 1;
        }
        long target = Math.max(ladder, minSize);
        if (target > MAX_SIZE) {
            throw new IllegalArgumentException("backends: " + activeBackends
                    + " with weight > 0 need a table of " + target + " slots (expected: <= " + MAX_SIZE + ")");
        }
        int m = (int) target;
        while (!isPrime(m)) {
            m++;
        }
        return m;
    }

    private static boolean isPrime(int n) {
        if (n < 2) {
            return false;
        }
        if (n % 2 == 0) {
            return n == 2;
        }
        for (int d = 3; (long) d * d <= n; d += 2) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }

    private static void populate(List<Backend> backends, int[] slots) {
        int m = slots.length;
        int n = backends.size();
        long[] position = new long[n];
        long[] skip = new long[n];
        long[] credit = new long[n];
        int maxWeight = 0;
        for (int i = 0; i < n; i++) {
            Backend b = backends.get(i);
            long h = hash64(b.key().getBytes(StandardCharsets.UTF_8));
            position[i] = Math.floorMod(h, (long) m);
            // Skip in 1..m-1 and m prime: every permutation visits every slot exactly once.
            skip[i] = Math.floorMod(mix64(h ^ 0x9E3779B97F4A7C15L), (long) (m - 1)) + 1;
            maxWeight = Math.max(maxWeight, b.weight());
        }
        // Weighted population: each round every backend earns its weight in credit and claims one
        // slot per maxWeight of credit, so slot counts follow weights while claims stay interleaved
        // (interleaving is what keeps disruption low when one backend leaves).
        int filled = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                int w = backends.get(i).weight();
                if (w == 0) {
                    continue;
                }
                credit[i] += w;
                while (credit[i] >= maxWeight) {
                    credit[i] -= maxWeight;
                    int c = (int) position[i];
                    while (slots[c] >= 0) {
                        c = (int) ((c + skip[i]) % m);
                    }
                    slots[c] = i;
                    position[i] = (c + skip[i]) % m;
                    if (++filled == m) {
                        return;
                    }
                }
            }
        }
    }

    /**
     * Deterministic 64-bit hash: FNV-1a over the bytes, then the murmur3 64-bit finalizer, because
     * FNV-1a alone mixes its low bits poorly and {@code floorMod} by the table size reads exactly those.
     */
    public static long hash64(byte[] data) {
        long h = 0xcbf29ce484222325L;
        for (byte b : data) {
            h ^= (b & 0xff);
            h *= 0x100000001b3L;
        }
        return mix64(h);
    }

    private static long mix64(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    public int size() {
        return slots.length;
    }

    /** All backends sorted by key, including weight-0 ones; indexes returned by this class point here. */
    public List<Backend> backends() {
        return backends;
    }

    /** Index into {@link #backends()} owning {@code slot}, or -1 when no backend has weight &gt; 0. */
    public int backendIndexAt(int slot) {
        return slots[slot];
    }

    /** Key of the backend owning {@code slot}, or null when no backend has weight &gt; 0. */
    public String keyAt(int slot) {
        int i = slots[slot];
        return i < 0 ? null : backends.get(i).key();
    }

    /** Backend index for a flow hash; -1 when the table is empty. */
    public int lookup(long hash) {
        return slots[(int) Math.floorMod(hash, (long) slots.length)];
    }

    /** Backend key for a flow hash; null when the table is empty. */
    public String lookupKey(long hash) {
        int i = lookup(hash);
        return i < 0 ? null : backends.get(i).key();
    }

    /** A copy of the slot → backend index array, for dataplanes that program the whole table. */
    public int[] slotsSnapshot() {
        return slots.clone();
    }

    @Override
    public String toString() {
        return "MaglevTable{size=" + slots.length + ", backends=" + backends + "}";
    }
}
