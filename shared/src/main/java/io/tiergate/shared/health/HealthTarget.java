package io.tiergate.shared.health;

import java.util.Objects;

/** Something to probe: {@code id} is the caller's name for it and appears in every transition. */
public record HealthTarget(String id, String host, int port, HealthCheck check) {
    public HealthTarget {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(check, "check");
        if (id.isEmpty()) {
            throw new IllegalArgumentException("id: \"\" (expected: non-empty)");
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: \"\" (expected: non-empty)");
        }
        // Port 0 is allowed only for command checks, which may not talk to a port at all.
        int minPort = check.type() == HealthCheck.Type.COMMAND ? 0 : 1;
        if (port < minPort || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: " + minPort + "..65535)");
        }
    }

    public static HealthTarget of(String id, String host, int port, HealthCheck check) {
        return new HealthTarget(id, host, port, check);
    }
}
