package io.tiergate.proxy.tls;

import io.tiergate.shared.runtime.TlsEngines;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.spi.tls.SslContextFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The TLS engine of the proxy's listeners and upstream groups. Which engine it is (BoringSSL where it loads, else the
 * JDK's; {@code -Dtiergate.tls.engine=jdk}) is {@link TlsEngines}' choice, shared with both tiers' HTTPS health probes;
 * this class adds what listeners need on top: session ticket keys from files, and their checks.
 */
public final class TlsEngine {
    /** The system property: {@code openssl} (the default: BoringSSL where it loads) or {@code jdk}. */
    public static final String PROPERTY = TlsEngines.PROPERTY;
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TlsEngine.class);

    private TlsEngine() {
    }

    /** The engine options for a TLS listener; says once, at INFO, which engine it is and why. */
    public static SSLEngineOptions server() {
        return server("", List::of);
    }

    /**
     * The engine options for the TLS listener {@code listener} whose session tickets are made with the keys in the
     * files {@code ticketKeys} gives (none: BoringSSL's own key, made with each TLS context). The files are read each
     * time the listener's TLS context is made: at start and at every certificate reload, so keys rotated in place, or
     * other files given by a config reload, are picked up with the certificates. The JDK's engine cannot be given
     * keys: it warns and makes its own.
     */
    public static SSLEngineOptions server(String listener, java.util.function.Supplier<List<Path>> ticketKeys) {
        if (!TlsEngines.openssl()) {
            warnIfIgnored(listener, ticketKeys.get());
            return new JdkSSLEngineOptions();
        }
        return new TicketKeyed(ticketKeys);
    }

    /** Says, at WARN, that {@code keys} are not used when the JDK's engine terminates TLS. */
    public static void warnIfIgnored(String listener, List<Path> keys) {
        if (!keys.isEmpty() && !TlsEngines.openssl()) {
            log.warn("listener '{}': session_ticket_keys are not used with the JDK's TLS engine, which makes its own;"
                    + " returning clients resume only on the node that served them ({})", listener, describe());
        }
    }

    /**
     * The engine options for TLS to upstream groups: the same engine as the listeners'. Each new upstream connection
     * is a handshake on the event loop (a pooled connection idle past {@code keepalive_timeout} is closed), and
     * BoringSSL's costs a quarter of the JDK's (docs/benchmarks.md, "TLS to upstreams").
     */
    public static SSLEngineOptions client() {
        return TlsEngines.client();
    }

    /**
     * Bytes in a session ticket key file: a 16-byte key name, a 16-byte AES-128 key and a 16-byte HMAC secret, in that
     * order (nginx's 48-byte layout; the tickets themselves are BoringSSL's, readable only by Tiergate nodes).
     */
    public static final int TICKET_KEY_BYTES = 48;

    /** Why the ticket key file {@code file} cannot be used, if it cannot: unreadable, or not 48 bytes. */
    public static Optional<String> ticketKeyProblem(Path file) {
        try {
            ticketKey(file);
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of(e.getMessage());
        }
    }

    private static OpenSslSessionTicketKey ticketKey(Path file) throws IOException {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IOException("cannot read session ticket key " + file + ": "
                    + io.tiergate.shared.config.FileErrors.reason(e), e);
        }
        if (b.length != TICKET_KEY_BYTES) {
            throw new IOException("session ticket key " + file + " is " + b.length + " bytes, not "
                    + TICKET_KEY_BYTES + " (make one with: openssl rand 48 > " + file + ")");
        }
        return new OpenSslSessionTicketKey(Arrays.copyOfRange(b, 0, 16), Arrays.copyOfRange(b, 32, 48),
                Arrays.copyOfRange(b, 16, 32));
    }

    /**
     * BoringSSL whose server contexts encrypt tickets with the first key of the files, when there are any, and accept
     * all of them.
     */
    private static final class TicketKeyed extends OpenSSLEngineOptions {
        private final java.util.function.Supplier<List<Path>> files;

        TicketKeyed(java.util.function.Supplier<List<Path>> files) {
            this.files = files;
        }

        @Override
        public OpenSSLEngineOptions copy() {
            return new TicketKeyed(files);
        }

        @Override
        public SslContextFactory sslContextFactory() {
            SslContextFactory made = super.sslContextFactory();
            return new SslContextFactory() {
                private boolean server;

                @Override
                public SslContextFactory useAlpn(boolean useAlpn) {
                    made.useAlpn(useAlpn);
                    return this;
                }

                @Override
                public SslContextFactory forServer(ClientAuth clientAuth) {
                    server = true;
                    made.forServer(clientAuth);
                    return this;
                }

                @Override
                public SslContextFactory forClient(SNIServerName serverName, String endpointIdentificationAlgorithm) {
                    made.forClient(serverName, endpointIdentificationAlgorithm);
                    return this;
                }

                @Override
                public SslContextFactory enabledProtocols(Set<String> protocols) {
                    made.enabledProtocols(protocols);
                    return this;
                }

                @Override
                public SslContextFactory keyMananagerFactory(KeyManagerFactory kmf) {
                    made.keyMananagerFactory(kmf);
                    return this;
                }

                @Override
                public SslContextFactory trustManagerFactory(TrustManagerFactory tmf) {
                    made.trustManagerFactory(tmf);
                    return this;
                }

                @Override
                public SslContextFactory enabledCipherSuites(Set<String> suites) {
                    made.enabledCipherSuites(suites);
                    return this;
                }

                @Override
                public SslContextFactory applicationProtocols(List<String> protocols) {
                    made.applicationProtocols(protocols);
                    return this;
                }

                @Override
                public SslContext create() throws SSLException {
                    List<Path> paths = files.get();
                    OpenSslSessionTicketKey[] keys = new OpenSslSessionTicketKey[paths.size()];
                    try {
                        for (int i = 0; i < keys.length; i++) {
                            keys[i] = ticketKey(paths.get(i));
                        }
                    } catch (IOException e) {
                        throw new SSLException(e.getMessage(), e);
                    }
                    SslContext c = made.create();
                    if (server && keys.length > 0) {
                        if (!(c.sessionContext() instanceof OpenSslSessionContext s)) {
                            throw new SSLException("session_ticket_keys need BoringSSL's server context, got "
                                    + c.getClass().getName());
                        }
                        s.setTicketKeys(keys);
                    }
                    return c;
                }
            };
        }
    }

    /** "TLS engine: ..." with the reason when it is the JDK's. */
    public static String describe() {
        return TlsEngines.describe();
    }
}
