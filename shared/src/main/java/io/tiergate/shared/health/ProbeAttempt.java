package io.tiergate.shared.health;

import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * One probe of one target. The first of succeed / fail / the engine's timeout wins; later calls are
 * ignored, so a checker never has to know whether it lost the race. Checkers may call from any
 * thread: the outcome is always handed to the engine on its context.
 */
final class ProbeAttempt {

    interface Outcome {
        void done(ProbeAttempt attempt, boolean success, String reason);
    }

    final HealthTarget target;
    final long startNanos;
    /** How long this probe may take: the check's timeout, or more for a target's first probe (see the engine). */
    final long timeoutMs;
    private final Context context;
    private final Outcome outcome;
    private boolean finished;      // touched on the engine context only
    private Runnable cancel;       // set by the checker; run when the attempt is abandoned

    ProbeAttempt(HealthTarget target, long timeoutMs, Context context, Outcome outcome) {
        this.target = target;
        this.timeoutMs = timeoutMs;
        this.context = context;
        this.outcome = outcome;
        this.startNanos = System.nanoTime();
    }

    /** Nanoseconds left before this probe's timeout (negative once it has passed). */
    long remainingNanos() {
        return startNanos + timeoutMs * 1_000_000 - System.nanoTime();
    }

    /** The engine context this attempt reports on. */
    Context context() {
        return context;
    }

    void onCancel(Runnable cancel) {
        onContext(() -> {
            if (finished) {
                cancel.run();
            } else {
                this.cancel = cancel;
            }
        });
    }

    void succeed(String reason) {
        finish(true, reason);
    }

    void fail(String reason) {
        finish(false, reason);
    }

    /** Abandons the attempt (timeout or removal) without reporting anything. */
    void abandon() {
        onContext(() -> {
            if (!finished) {
                finished = true;
                runCancel();
            }
        });
    }

    boolean finished() {
        return finished;
    }

    private void finish(boolean success, String reason) {
        onContext(() -> {
            if (finished) {
                return;
            }
            finished = true;
            runCancel();
            outcome.done(this, success, reason);
        });
    }

    private void runCancel() {
        Runnable c = cancel;
        cancel = null;
        if (c != null) {
            c.run();
        }
    }

    private void onContext(Runnable r) {
        if (Vertx.currentContext() == context) {
            r.run();
        } else {
            context.runOnContext(v -> r.run());
        }
    }
}
