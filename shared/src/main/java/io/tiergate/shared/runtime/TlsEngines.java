package io.tiergate.shared.runtime;

import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;

/**
 * Which TLS implementation the process uses, for every TLS it speaks (the proxy's listeners and upstream groups, both
 * tiers' HTTPS health probes): BoringSSL through Netty's tcnative when it loads (its native library ships in the jar for
 * Linux x86-64), the same family of library nginx and HAProxy use; else the JDK's, which costs more CPU per request and
 * much more per handshake. {@code -Dtiergate.tls.engine=jdk} chooses the JDK's anyway. The choice is logged once, at
 * INFO, the first time it is made.
 */
public final class TlsEngines {
    /** The system property: {@code openssl} (the default: BoringSSL where it loads) or {@code jdk}. */
    public static final String PROPERTY = "tiergate.tls.engine";
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TlsEngines.class);
    private static volatile boolean told;

    private TlsEngines() {
    }

    /** Whether BoringSSL is the engine: asked for (the default) and loaded. Says once, at INFO, which it is. */
    public static boolean openssl() {
        if (!told) {
            told = true;
            log.info(describe());
        }
        return wantsOpenssl() && OpenSSLEngineOptions.isAvailable();
    }

    /** Engine options for a client (a connection this process opens): the process's engine, without extras. */
    public static SSLEngineOptions client() {
        return openssl() ? new OpenSSLEngineOptions() : new JdkSSLEngineOptions();
    }

    /** "TLS engine: ..." with the reason when it is the JDK's. */
    public static String describe() {
        if (!wantsOpenssl()) {
            return "TLS engine: JDK (-D" + PROPERTY + "=jdk)";
        }
        if (OpenSSLEngineOptions.isAvailable()) {
            return "TLS engine: " + OpenSsl.versionString() + " (netty-tcnative)";
        }
        Throwable why = OpenSsl.unavailabilityCause();
        return "TLS engine: JDK, BoringSSL unavailable (" + (why == null ? "not on the class path" : why) + ")";
    }

    private static boolean wantsOpenssl() {
        String v = System.getProperty(PROPERTY, "openssl").trim();
        if (!v.equals("openssl") && !v.equals("jdk")) {
            log.warn("-D{}={} is neither openssl nor jdk: using openssl where it loads", PROPERTY, v);
        }
        return !v.equals("jdk");
    }
}
