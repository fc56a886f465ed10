package io.tiergate.director.engine;

import io.tiergate.shared.health.HealthTarget;

/**
 * Where the engine asks for probing. In production it is the shared HealthEngine; tests drive transitions by hand.
 * Results come back as {@link Engine#onHealth} events.
 */
public interface HealthMonitor extends AutoCloseable {
    void watch(HealthTarget target);

    void unwatch(String id);

    @Override
    default void close() {
    }

    /** Probes nothing: every real server stays UNKNOWN, which counts as up. */
    HealthMonitor NONE = new HealthMonitor() {
        @Override
        public void watch(HealthTarget target) {
        }

        @Override
        public void unwatch(String id) {
        }
    };
}
