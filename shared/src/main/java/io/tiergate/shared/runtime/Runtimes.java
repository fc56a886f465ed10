package io.tiergate.shared.runtime;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a Tiergate process makes its Vert.x instance. It prefers Netty's native epoll transport (fewer
 * syscalls and copies per request than Java NIO; see docs/benchmarks.md) and falls back to NIO where epoll can't load
 * (not Linux x86_64, a noexec temp directory, or {@code -Dtiergate.transport=nio}).
 */
public final class Runtimes {
    private static final Logger LOG = LoggerFactory.getLogger(Runtimes.class);
    /** System property: {@code epoll} (default: epoll when available) or {@code nio}. */
    public static final String TRANSPORT_PROPERTY = "tiergate.transport";

    private Runtimes() {
    }

    public static Vertx vertx() {
        String wanted = System.getProperty(TRANSPORT_PROPERTY, "epoll");
        if (!wanted.equals("epoll") && !wanted.equals("nio")) {
            throw new IllegalArgumentException("-D" + TRANSPORT_PROPERTY + "=" + wanted
                    + ": unknown transport; use epoll or nio");
        }
        Vertx v = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(wanted.equals("epoll"))).build();
        if (wanted.equals("epoll") && !v.isNativeTransportEnabled()) {
            Throwable why = v.unavailableNativeTransportCause();
            LOG.info("native epoll transport unavailable ({}); using Java NIO",
                    why == null ? "unknown reason" : why.toString());
        }
        return v;
    }

    /** "epoll" or "nio", for status output and logs. */
    public static String transport(Vertx v) {
        return v.isNativeTransportEnabled() ? "epoll" : "nio";
    }
}
