package io.tiergate.proxy.forward;

import io.netty.util.concurrent.ScheduledFuture;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.internal.ContextInternal;

import java.util.concurrent.TimeUnit;

/**
 * {@code upstream_read} on a response body for {@link VertxSender}: the longest silence between two reads. Each read
 * only stamps the time; the one timer re-arms itself for what is left, so a streamed body costs no timer per chunk.
 * Paused (a slow client), the clock stops. Lives on the response's event loop.
 */
final class ReadWatch {
    private final ContextInternal context;
    private long limitNanos;
    private Runnable onSilence;
    private long lastRead;
    private ScheduledFuture<?> timer;

    ReadWatch(ContextInternal context) {
        this.context = context;
    }

    void start(long limitMs, Runnable silence) {
        stop();
        limitNanos = TimeUnit.MILLISECONDS.toNanos(limitMs);
        onSilence = silence;
        resume();
    }

    /** A read: the silence starts again from now. */
    void read() {
        lastRead = LoopClock.nanoTime();
    }

    void pause() {
        cancel();
    }

    void resume() {
        if (onSilence != null) {
            lastRead = LoopClock.nanoTime();
            cancel();
            schedule(limitNanos);
        }
    }

    void stop() {
        onSilence = null;
        cancel();
    }

    private void schedule(long nanos) {
        timer = context.nettyEventLoop().schedule(() -> context.dispatch(this::fire), Math.max(1, nanos),
                TimeUnit.NANOSECONDS);
    }

    private void fire() {
        timer = null;
        Runnable r = onSilence;
        if (r == null) {
            return;
        }
        long silent = LoopClock.nanoTime() - lastRead;
        if (silent >= limitNanos) {
            onSilence = null;
            r.run();
        } else {
            schedule(limitNanos - silent);
        }
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
