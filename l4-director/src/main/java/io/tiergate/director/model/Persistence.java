package io.tiergate.director.model;

import java.time.Duration;

/**
 * Client affinity: connections from the same client (address masked to {@code prefixLength} bits) go to the same
 * real server while the affinity is younger than {@code timeout}. {@link #NONE} when not configured.
 */
public record Persistence(Duration timeout, int prefixLength) {
    public static final Persistence NONE = new Persistence(Duration.ZERO, 32);

    public Persistence {
        if (timeout == null || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: >= 0)");
        }
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefixLength: " + prefixLength + " (expected: 0..32)");
        }
    }

    public boolean enabled() {
        return !timeout.isZero();
    }
}
