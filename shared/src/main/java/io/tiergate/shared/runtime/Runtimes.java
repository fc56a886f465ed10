package io.tiergate.shared.runtime;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

/**
 * The Vert.x instance a Tiergate process runs on. Its I/O transport is Netty's native epoll where the native library
 * loads (Linux x86-64), NIO elsewhere; {@code -Dtiergate.transport=nio} forces NIO (for comparison, or if the native
 * library misbehaves on a platform).
 */
public final class Runtimes {
    public static final String TRANSPORT_PROPERTY = "tiergate.transport";

    private Runtimes() {
    }

    public static Vertx vertx() {
        return Vertx.vertx(options());
    }

    /**
     * One event loop per CPU the JVM may use (its affinity mask or container quota; {@code -XX:ActiveProcessorCount=N}
     * sets it), as nginx's {@code worker_processes auto} and HAProxy's {@code nbthread}. Vert.x's default is two per
     * CPU: the proxy only serves on one per CPU anyway, but the director's userspace relay spreads its connections over
     * the whole group, and two loops taking turns on one CPU each wake for half the work.
     */
    public static int eventLoops() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    private static VertxOptions options() {
        return new VertxOptions().setPreferNativeTransport(!forcedNio()).setEventLoopPoolSize(eventLoops());
    }

    /** The one start-up line that says which transport runs, and why not epoll when it does not. */
    public static String describe(Vertx vertx) {
        if (vertx.isNativeTransportEnabled()) {
            return "I/O transport: epoll (Netty native)";
        }
        if (forcedNio()) {
            return "I/O transport: NIO (-D" + TRANSPORT_PROPERTY + "=nio)";
        }
        Throwable why = vertx.unavailableNativeTransportCause();
        return "I/O transport: NIO, epoll unavailable (" + (why == null ? "not on the class path" : why) + ")";
    }

    private static boolean forcedNio() {
        return "nio".equalsIgnoreCase(System.getProperty(TRANSPORT_PROPERTY, "auto"));
    }
}
