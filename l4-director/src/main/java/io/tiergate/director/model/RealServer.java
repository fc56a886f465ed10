package io.tiergate.director.model;

import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.health.HealthCheck;

import java.util.Objects;
import java.util.Optional;

/**
 * A server behind a virtual service. {@code address.host()} may be a DNS name: every address it resolves to
 * becomes a member, re-resolved periodically. Weight 0 means configured but quiesced.
 */
public record RealServer(HostPort address, int weight, Optional<HealthCheck> healthCheck) {
    public static final int MAX_WEIGHT = 65535;

    public RealServer {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(healthCheck, "healthCheck");
        if (weight < 0 || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: 0.." + MAX_WEIGHT + ")");
        }
    }

    /** The operator's name for it: {@code host:port} as written. */
    public String id() {
        return address.toString();
    }

    public RealServer withAddress(HostPort resolved) {
        return new RealServer(resolved, weight, healthCheck);
    }
}
