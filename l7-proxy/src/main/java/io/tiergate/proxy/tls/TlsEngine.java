package io.tiergate.proxy.tls;

import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;

/**
 * The TLS implementation that terminates client connections: BoringSSL through Netty's tcnative (its native library
 * ships in the jar for Linux x86-64), the same family of library nginx and HAProxy terminate with, when it loads;
 * else the JDK's. The JDK's costs more CPU per request and much more per handshake (docs/benchmarks.md, "TLS").
 * {@code -Dtiergate.tls.engine=jdk} chooses the JDK's anyway.
 */
public final class TlsEngine {
    /** The system property: {@code openssl} (the default: BoringSSL where it loads) or {@code jdk}. */
    public static final String PROPERTY = "tiergate.tls.engine";
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TlsEngine.class);
    private static volatile boolean told;

    private TlsEngine() {
    }

    /** The engine options for a TLS listener; says once, at INFO, which engine it is and why. */
    public static SSLEngineOptions server() {
        boolean openssl = wantsOpenssl() && OpenSSLEngineOptions.isAvailable();
        if (!told) {
            told = true;
            log.info(describe());
        }
        return openssl ? new OpenSSLEngineOptions() : new JdkSSLEngineOptions();
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
