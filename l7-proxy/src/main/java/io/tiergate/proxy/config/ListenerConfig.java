package io.tiergate.proxy.config;

import io.tiergate.shared.config.HostPort;

import java.nio.file.Path;
import java.util.List;

/**
 * One socket the proxy accepts HTTP on. Port 0 binds an ephemeral port (tests, demos). With {@code tls} it speaks
 * HTTPS, choosing the certificate by SNI and offering HTTP/2 by ALPN. Without it, {@code h2c} (the default) also accepts
 * HTTP/2 over cleartext: with prior knowledge (the connection starts with the HTTP/2 preface) or by {@code Upgrade: h2c}.
 * With {@code proxyProtocol} (null = off) every connection, plain or TLS, must start with a PROXY protocol v1 or v2
 * header and come from one of its trusted sources. {@code maxConnections} (0 = none) caps the open connections of the
 * listener across all event loops; one over the cap is closed as it is accepted.
 */
public record ListenerConfig(String name, HostPort address, Tls tls, ProxyProtocol proxyProtocol, boolean h2c,
                             int maxConnections) {
    /** Without a connection cap ({@code maxConnections} 0 = no cap). */
    public ListenerConfig(String name, HostPort address, Tls tls, ProxyProtocol proxyProtocol, boolean h2c) {
        this(name, address, tls, proxyProtocol, h2c, 0);
    }

    public ListenerConfig {
        if (h2c && tls != null) {
            throw new IllegalArgumentException("h2c: true on a TLS listener (expected: tls.http2 for HTTP/2 over TLS)");
        }
    }

    public ListenerConfig(String name, HostPort address) {
        this(name, address, null, null, true);
    }

    public ListenerConfig(String name, HostPort address, Tls tls) {
        this(name, address, tls, null, tls == null);
    }

    /** This listener with other certificates (a reload that only points at other PEM files). */
    public ListenerConfig withTls(Tls other) {
        return new ListenerConfig(name, address, other, proxyProtocol, h2c);
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
     * {@code ticketKeys}: files of 48 random bytes; session tickets are encrypted with the first and accepted with any
     * (nginx {@code ssl_session_ticket_key}), so nodes sharing the files resume each other's sessions. Empty: a key
     * made at start, this node's own.
     */
    public record Tls(List<KeyPair> certificates, boolean http2, ClientAuth clientAuth, Path clientCa,
                      String clientSubjectHeader, String clientCertHeader, List<Path> ticketKeys) {
        public Tls {
            certificates = List.copyOf(certificates);
            ticketKeys = ticketKeys == null ? List.of() : List.copyOf(ticketKeys);
            if (clientAuth == null) {
                clientAuth = ClientAuth.NONE;
            }
            if (clientAuth != ClientAuth.NONE && clientCa == null) {
                throw new IllegalArgumentException("client_auth without client_ca");
            }
        }

        public Tls(List<KeyPair> certificates, boolean http2) {
            this(certificates, http2, ClientAuth.NONE, null, null, null, List.of());
        }

        /** The request headers that carry the verified client certificate: stripped from what clients send. */
        public List<String> clientHeaders() {
            List<String> out = new java.util.ArrayList<>();
            if (clientSubjectHeader != null) {
                out.add(clientSubjectHeader);
            }
            if (clientCertHeader != null) {
                out.add(clientCertHeader);
            }
            return out;
        }
    }

    /**
     * {@code client_auth} (nginx {@code ssl_verify_client}): NONE asks for no certificate, OPTIONAL verifies one when
     * the client offers it, REQUIRED refuses the handshake without a valid one.
     */
    public enum ClientAuth { NONE, OPTIONAL, REQUIRED }

    public record KeyPair(Path cert, Path key) {
    }
}
