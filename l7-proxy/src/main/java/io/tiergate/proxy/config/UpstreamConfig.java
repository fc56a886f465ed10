package io.tiergate.proxy.config;

import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.health.HealthCheck;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * An upstream group. {@code keepaliveTimeout} is how long an idle pooled connection is kept: it must be shorter than
 * the origin's own idle timeout, or the origin closes connections the proxy is about to reuse.
 */
public record UpstreamConfig(String name, Balance balance, HashKey hashKey, Duration keepaliveTimeout,
                             int maxConnectionsPerServer, List<Server> servers, HealthCheck health) {
    public UpstreamConfig {
        servers = List.copyOf(servers);
    }

    /** A group without active health checks. */
    public UpstreamConfig(String name, Balance balance, HashKey hashKey, Duration keepaliveTimeout,
                          int maxConnectionsPerServer, List<Server> servers) {
        this(name, balance, hashKey, keepaliveTimeout, maxConnectionsPerServer, servers, null);
    }

    /** The active health check of every server ({@code health:}), if configured. */
    public Optional<HealthCheck> activeHealth() {
        return Optional.ofNullable(health);
    }

    /**
     * One origin server. {@code maxFails} failures within {@code failTimeout} mark it down for {@code failTimeout}
     * (nginx semantics; 0 disables passive health). Backup servers get traffic only while every primary is down.
     */
    public record Server(HostPort address, int weight, int maxFails, Duration failTimeout, boolean backup) {
    }

    /** What consistent hashing hashes. */
    public record HashKey(Source source, String name) {
        public enum Source { URI, CLIENT_IP, HEADER, COOKIE }

        public static final HashKey URI = new HashKey(Source.URI, "");

        /** Parses {@code uri}, {@code client_ip}, {@code header:NAME}, {@code cookie:NAME}; null when invalid. */
        public static HashKey parse(String text) {
            String t = text.trim();
            if (t.equals("uri")) {
                return URI;
            }
            if (t.equals("client_ip")) {
                return new HashKey(Source.CLIENT_IP, "");
            }
            if (t.startsWith("header:") && t.length() > 7) {
                return new HashKey(Source.HEADER, t.substring(7));
            }
            if (t.startsWith("cookie:") && t.length() > 7) {
                return new HashKey(Source.COOKIE, t.substring(7));
            }
            return null;
        }

        @Override
        public String toString() {
            return switch (source) {
                case URI -> "uri";
                case CLIENT_IP -> "client_ip";
                case HEADER -> "header:" + name;
                case COOKIE -> "cookie:" + name;
            };
        }
    }
}
