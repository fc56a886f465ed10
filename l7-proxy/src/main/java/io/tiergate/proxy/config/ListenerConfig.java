package io.tiergate.proxy.config;

import io.tiergate.shared.config.HostPort;

import java.nio.file.Path;
import java.util.List;

/**
 * One socket the proxy accepts HTTP on. Port 0 binds an ephemeral port (tests, demos). With {@code tls} it speaks
 * HTTPS, choosing the certificate by SNI and offering HTTP/2 by ALPN. With {@code proxyProtocol} (null = off) every
 * connection must start with a PROXY protocol v1 or v2 header and come from one of its trusted sources.
 */
public record ListenerConfig(String name, HostPort address, Tls tls, ProxyProtocol proxyProtocol) {
    public ListenerConfig(String name, HostPort address) {
        this(name, address, null, null);
    }

    public ListenerConfig(String name, HostPort address, Tls tls) {
        this(name, address, tls, null);
    }

    /**
     * {@code proxy_protocol: {trusted: [CIDR, ...]}}: only peers (the TCP source, not what a header claims) inside
     * {@code trusted} may connect; the header's source address then stands for the client.
     */
    public record ProxyProtocol(List<Cidr> trusted) {
        public ProxyProtocol {
            trusted = List.copyOf(trusted);
        }

        /** {@code ip} (a literal) is inside one of the trusted blocks. */
        public boolean trusts(String ip) {
            if (ip == null) {
                return false;
            }
            for (Cidr c : trusted) {
                if (c.contains(ip)) {
                    return true;
                }
            }
            return false;
        }
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
