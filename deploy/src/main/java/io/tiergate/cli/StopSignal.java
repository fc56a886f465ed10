package io.tiergate.cli;

import io.tiergate.shared.signal.Signals;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * SIGTERM and SIGINT as a graceful stop for a long-running tier: {@link #await} returns the first one's name; the
 * command then drains, logs and exits 0 itself (a JVM shutdown hook would exit 143). Installed even when the parent
 * left SIGINT ignored (a background job of a script).
 */
final class StopSignal {
    private final CountDownLatch stop = new CountDownLatch(1);
    private final AtomicReference<String> first = new AtomicReference<>();

    static StopSignal install() {
        StopSignal s = new StopSignal();
        Signals.handle("TERM", () -> s.stop("SIGTERM"));
        Signals.handle("INT", () -> s.stop("SIGINT"));
        return s;
    }

    private void stop(String signal) {
        if (first.compareAndSet(null, signal)) {
            stop.countDown();
        }
    }

    /** Blocks until TERM or INT arrives; returns "SIGTERM" or "SIGINT". */
    String await() throws InterruptedException {
        stop.await();
        return first.get();
    }
}
