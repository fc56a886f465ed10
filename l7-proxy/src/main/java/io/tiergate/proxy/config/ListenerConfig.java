package io.tiergate.proxy.config;

import io.tiergate.shared.config.HostPort;

import java.nio.file.Path;
import java.util.List;

/**
 * One socket the proxy accepts HTTP on. Port 0 binds an ephemeral port (tests, demos). With {@code tls} it speaks
 * HTTPS, choosing the certificate by SNI and offering HTTP/2 by ALPN.
 */
public record ListenerConfig(String name, HostPort address, Tls tls) {
    public ListenerConfig(String name, HostPort address) {
        this(name, address, null);
    }

    /**
     * PEM certificate chains with their keys. The certificate for a connection is the one whose names (SAN/CN) match
     * the client's SNI name; without SNI or without a match, the first. {@code http2}: offer h2 by ALPN.
     */
    public record Tls(List<KeyPair> certificates, boolean http2) {
        public Tls {
            certificates = List.copyOf(certificates);
        }
    }

    public record KeyPair(Path cert, Path key) {
    }
}
