package io.tiergate.shared.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Config reloads, the same series on both tiers (named like Prometheus's own {@code prometheus_config_*}):
 * {@code tiergate_config_reloads_total{result="success"|"failure"}}, {@code tiergate_config_last_reload_successful}
 * (1/0) and {@code tiergate_config_last_reload_success_timestamp_seconds} (start time until the first reload, so an
 * alert on "config older than N days" works from the first scrape). Registered at start, so the series exist before
 * the first reload.
 */
public final class ReloadMetrics {
    private final Counter success;
    private final Counter failure;
    private final AtomicLong lastSuccessMillis = new AtomicLong(System.currentTimeMillis());
    private final AtomicLong lastOk = new AtomicLong(1);

    public ReloadMetrics(MeterRegistry registry) {
        success = Counter.builder("tiergate_config_reloads").description("Config reloads, by result")
                .tag("result", "success").register(registry);
        failure = Counter.builder("tiergate_config_reloads").description("Config reloads, by result")
                .tag("result", "failure").register(registry);
        Gauge.builder("tiergate_config_last_reload_successful", lastOk, AtomicLong::get)
                .description("1 when the last reload applied (or none was tried), 0 when it was rejected")
                .register(registry);
        Gauge.builder("tiergate_config_last_reload_success_timestamp_seconds", lastSuccessMillis, m -> m.get() / 1000.0)
                .description("Unix time of the last successful reload (of the start until the first one)")
                .register(registry);
    }

    public void succeeded() {
        success.increment();
        lastOk.set(1);
        lastSuccessMillis.set(System.currentTimeMillis());
    }

    public void failed() {
        failure.increment();
        lastOk.set(0);
    }
}
