package io.tiergate.shared.health;

/** One kind of probe. Implementations start the probe and report through the attempt; they never block. */
interface Checker {

    void probe(ProbeAttempt attempt);

    /** Releases clients; probes in flight are abandoned by the engine first. */
    default void close() {
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
            return "timeout after " + timeoutMs + "ms";
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
