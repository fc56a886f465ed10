package io.tiergate.director.model;

import java.time.Duration;
import java.util.Objects;

/**
 * Stateful flow pinning of the nft DR path: the real server chosen for a connection's first packet is remembered for
 * {@code timeout} of idleness, up to {@code size} flows per service. It is what lets a drained (weight 0) real server
 * finish its established connections and keeps the flows of the other real servers where they are when one is
 * removed. Pins are per director: a standby that takes over has none and falls back to the stateless Maglev table,
 * which every director computes identically. {@link #OFF} (size 0) is the purely stateless path.
 */
public record FlowTable(int size, Duration timeout) {
    public static final FlowTable OFF = new FlowTable(0, Duration.ofMinutes(5));
    public static final FlowTable DEFAULT = new FlowTable(65536, Duration.ofMinutes(5));

    public FlowTable {
        Objects.requireNonNull(timeout, "timeout");
        if (size < 0) {
            throw new IllegalArgumentException("size: " + size + " (expected: >= 0)");
        }
        if (timeout.toSeconds() < 1) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: >= 1s)");
        }
    }

    public boolean enabled() {
        return size > 0;
    }

    /** How the map is declared; part of what a restarted director compares, since nft cannot resize a live map. */
    public String describe() {
        return size + "/" + timeout.toSeconds() + "s";
    }
}
