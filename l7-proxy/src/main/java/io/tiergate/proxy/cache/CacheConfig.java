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
        long maxSize = m.size("max-size", d.maxSize());
        long maxObject = m.size("max-object-size", d.maxObjectSize());
        if (maxObject > maxSize) {
            m.error("max-object-size", "is larger than max-size", "at most max-size (" + maxSize + " bytes)");
            maxObject = maxSize;
        }
        String name = m.string("name", d.name());
        if (!name.matches("[A-Za-z*][A-Za-z0-9_.:/*-]*")) {
            m.error("name", "'" + name + "' is not a token", "a token like tiergate or edge-1 (RFC 9211 cache name)");
            name = d.name();
        }
        List<String> targeted = m.stringList("targeted-fields", d.targetedFields());
        Duration collapse = m.duration("collapse-timeout", d.collapseTimeout());
        double fraction = m.decimal("heuristic-fraction", d.heuristicFraction(), 0.0, 1.0);
        Duration maxHeuristic = m.duration("max-heuristic", d.maxHeuristic());
        int variants = m.integer("max-variants", d.maxVariants(), 1, 1024);
        m.finish();
        return new CacheConfig(maxSize, maxObject, name, targeted, collapse, fraction, maxHeuristic, variants);
    }
}
