package io.tiergate.proxy.config;

import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.health.HealthCheck;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.Optional;

/**
 * An upstream group. {@code keepaliveTimeout} is how long an idle pooled connection is kept: it must be shorter than
 * the origin's own idle timeout, or the origin closes connections the proxy is about to reuse.
 */
public record UpstreamConfig(String name, Balance balance, HashKey hashKey, Duration keepaliveTimeout,
                             int maxConnectionsPerServer, List<Server> servers, HealthCheck health,
                             Duration resolveInterval, Tls tls, Protocol protocol) {
    public static final Duration DEFAULT_RESOLVE = Duration.ofSeconds(30);

    public UpstreamConfig {
        servers = List.copyOf(servers);
        if (protocol == null) {
            protocol = Protocol.HTTP1;
        }
        if (protocol == Protocol.H2 && tls == null) {
            throw new IllegalArgumentException("protocol h2 needs tls (h2c is HTTP/2 without TLS)");
        }
        if (protocol == Protocol.H2C && tls != null) {
            throw new IllegalArgumentException("protocol h2c is cleartext; with tls use h2");
        }
    }

    /** A plain HTTP/1.1 group. */
    public UpstreamConfig(String name, Balance balance, HashKey hashKey, Duration keepaliveTimeout,
                          int maxConnectionsPerServer, List<Server> servers, HealthCheck health,
                          Duration resolveInterval) {
        this(name, balance, hashKey, keepaliveTimeout, maxConnectionsPerServer, servers, health, resolveInterval,
                null, Protocol.HTTP1);
    }

    /** A group without active health checks. */
    public UpstreamConfig(String name, Balance balance, HashKey hashKey, Duration keepaliveTimeout,
                          int maxConnectionsPerServer, List<Server> servers) {
        this(name, balance, hashKey, keepaliveTimeout, maxConnectionsPerServer, servers, null, DEFAULT_RESOLVE);
    }

    /** True when some server is written as a DNS name (re-resolved every {@code resolveInterval}). */
    public boolean hasNames() {
        return servers.stream().anyMatch(s -> !isIpLiteral(s.address().host()));
    }

    public static boolean isIpLiteral(String host) {
        return io.netty.util.NetUtil.isValidIpV4Address(host) || io.netty.util.NetUtil.isValidIpV6Address(host);
    }

    /**
     * This group with every DNS name replaced by the addresses it resolves to now, each a member with the name's
     * weight and limits (nginx resolves a name to all its addresses too). A name that does not resolve contributes
     * no member; {@code failures} collects why.
     */
    public UpstreamConfig resolved(Function<String, List<String>> resolver, List<String> failures) {
        if (!hasNames()) {
            return this;
        }
        Map<HostPort, Server> out = new LinkedHashMap<>();
        for (Server s : servers) {
            String host = s.address().host();
            if (isIpLiteral(host)) {
                out.putIfAbsent(s.address(), s);
                continue;
            }
            List<String> ips;
            try {
                ips = resolver.apply(host);
            } catch (RuntimeException e) {
                failures.add("upstream '" + name + "': cannot resolve " + host + ": " + e.getMessage());
                continue;
            }
            for (String ip : ips) {
                HostPort hp = new HostPort(ip, s.address().port());
                out.putIfAbsent(hp, new Server(hp, s.weight(), s.maxFails(), s.failTimeout(), s.backup(), host));
            }
        }
        return new UpstreamConfig(name, balance, hashKey, keepaliveTimeout, maxConnectionsPerServer,
                new ArrayList<>(out.values()), health, resolveInterval, tls, protocol);
    }

    /** The TLS name of {@code server} in this group: {@code tls.server_name}, else the server's DNS name or address. */
    public String tlsName(Server server) {
        return tls != null && tls.serverName() != null ? tls.serverName() : server.tlsName();
    }

    /** The active health check of every server ({@code health:}), if configured. */
    public Optional<HealthCheck> activeHealth() {
        return Optional.ofNullable(health);
    }

    /**
     * One origin server. {@code maxFails} failures within {@code failTimeout} mark it down for {@code failTimeout}
     * (nginx semantics; 0 disables passive health). Backup servers get traffic only while every primary is down.
     */
    public record Server(HostPort address, int weight, int maxFails, Duration failTimeout, boolean backup,
                         String hostName) {
        /** A server written with an address; {@code hostName} is the DNS name it was resolved from, or null. */
        public Server(HostPort address, int weight, int maxFails, Duration failTimeout, boolean backup) {
            this(address, weight, maxFails, failTimeout, backup, null);
        }

        /** The name this server is known by for TLS (SNI, certificate check): its DNS name, else its address. */
        public String tlsName() {
            return hostName != null ? hostName : address.host();
        }
    }

    /** How requests are spoken to the servers: HTTP/1.1, HTTP/2 over TLS (ALPN h2), or HTTP/2 cleartext. */
    public enum Protocol {
        HTTP1, H2, H2C;

        public boolean http2() {
            return this != HTTP1;
        }
    }

    /**
     * TLS to the servers (nginx {@code proxy_ssl_*}, Envoy's UpstreamTlsContext). {@code ca} null with
     * {@code verify} means the JDK's default trust store. {@code serverName} null: each server's own name (SNI is
     * sent only for names, not IP addresses, unless a name is configured). {@code cert}/{@code key}: the client
     * certificate presented to origins that ask (mTLS). {@code protocols} empty: the JDK's defaults.
     */
    public record Tls(java.nio.file.Path ca, boolean verify, String serverName, java.nio.file.Path cert,
                      java.nio.file.Path key, List<String> protocols) {
        public Tls {
            protocols = List.copyOf(protocols);
        }

        /** The files whose contents this TLS context is built from (for the renewal watch). */
        public List<java.nio.file.Path> files() {
            List<java.nio.file.Path> out = new ArrayList<>();
            for (java.nio.file.Path p : new java.nio.file.Path[] {ca, cert, key}) {
                if (p != null) {
                    out.add(p);
                }
            }
            return out;
        }
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
