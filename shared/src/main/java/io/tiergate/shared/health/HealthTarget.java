package io.tiergate.shared.health;

import java.util.Objects;

/** Something to probe: {@code id} is the caller's name for it and appears in every transition. */
public record HealthTarget(String id, String host, int port, HealthCheck check, Tls tls) {
    /**
     * TLS as the traffic to this target speaks it (an L7 upstream's CA, client certificate and name): HTTP and HTTPS
     * probes then use exactly these settings, so a probe passes only where real requests would.
     */
    public record Tls(io.vertx.core.net.ClientSSLOptions options, String serverName) {
        public Tls {
            Objects.requireNonNull(options, "options");
            Objects.requireNonNull(serverName, "serverName");
        }
    }

    public HealthTarget(String id, String host, int port, HealthCheck check) {
        this(id, host, port, check, null);
    }

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
