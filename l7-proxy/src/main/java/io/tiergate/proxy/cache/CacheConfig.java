package io.tiergate.proxy.cache;

import io.tiergate.shared.config.ConfigMap;

import java.time.Duration;
import java.util.List;

/**
 * The shared cache store: one per proxy node (top-level {@code cache:}). Per-location behaviour lives in
 * {@link CacheRule}.
 */
public record CacheConfig(long maxSize, long maxObjectSize, String name, List<String> targetedFields,
                          Duration collapseTimeout, double heuristicFraction, Duration maxHeuristic, int maxVariants) {

    public static CacheConfig defaults() {
        return new CacheConfig(256L << 20, 8L << 20, "tiergate", List.of("CDN-Cache-Control"),
                Duration.ofSeconds(5), 0.1, Duration.ofDays(1), 16);
    }

    /** Reads a {@code cache:} mapping; problems are recorded in the map, never thrown. Calls {@code finish()}. */
    public static CacheConfig parse(ConfigMap m) {
        CacheConfig d = defaults();
        long maxSize = m.size("max_size", d.maxSize());
        long maxObject = m.size("max_object_size", d.maxObjectSize());
        if (maxObject > maxSize) {
            m.error("max_object_size", "is larger than max-size", "at most max_size (" + maxSize + " bytes)");
            maxObject = maxSize;
        }
        String name = m.string("name", d.name());
        if (!name.matches("[A-Za-z*][A-Za-z0-9_.:/*-]*")) {
            m.error("name", "'" + name + "' is not a token", "a token like tiergate or edge-1 (RFC 9211 cache name)");
            name = d.name();
        }
        List<String> targeted = m.stringList("targeted_fields", d.targetedFields());
        Duration collapse = m.duration("collapse_timeout", d.collapseTimeout());
        double fraction = m.decimal("heuristic_fraction", d.heuristicFraction(), 0.0, 1.0);
        Duration maxHeuristic = m.duration("max_heuristic", d.maxHeuristic());
        int variants = m.integer("max_variants", d.maxVariants(), 1, 1024);
        m.finish();
        return new CacheConfig(maxSize, maxObject, name, targeted, collapse, fraction, maxHeuristic, variants);
    }
}
