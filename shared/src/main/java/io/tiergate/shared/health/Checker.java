package io.tiergate.shared.health;

/** One kind of probe. Implementations start the probe and report through the attempt; they never block. */
interface Checker {

    void probe(ProbeAttempt attempt);

    /** Releases clients; probes in flight are abandoned by the engine first. */
    default void close() {
    }

    /**
     * The one spelling of a probe that got no answer in time. The engine treats timeouts apart from clear failures
     * (a first probe's timeout may be the prober's own warm-up: {@link HealthEngine}), so every checker and the
     * engine's own deadline make this text here, and {@link #isTimeout} is the only reader.
     */
    static String timeout(long timeoutMs) {
        return "timeout after " + timeoutMs + "ms";
    }

    static boolean isTimeout(String reason) {
        return reason != null && reason.startsWith("timeout after ");
    }

    /** Turns a Netty/JDK failure into the short text operators read in transitions and logs. */
    static String describe(Throwable t, long timeoutMs) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String name = c.getClass().getName();
        String msg = String.valueOf(c.getMessage());
        if (c instanceof java.net.ConnectException && msg.contains("refused")) {
            return "connect refused";
        }
        if (name.endsWith("ConnectTimeoutException") || c instanceof java.util.concurrent.TimeoutException
                || name.endsWith("NoStackTraceTimeoutException")) {
            return timeout(timeoutMs);
        }
        if (c instanceof java.net.UnknownHostException) {
            return "unknown host " + msg;
        }
        if (c instanceof java.net.NoRouteToHostException) {
            return "no route to host";
        }
        if (msg.contains("Connection reset")) {
            return "connection reset";
        }
        if (name.contains("ClosedChannel") || msg.contains("Connection was closed")) {
            return "connection closed";
        }
        return c.getClass().getSimpleName() + ": " + msg;
    }
}
