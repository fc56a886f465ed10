package io.tiergate.proxy.limit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * {@code tiergate_proxy_limited_requests_total{limit, action}}: every request a front-door control refused, delayed
 * or (dry run) would have refused. {@code limit} names the control ({@code limit_req:ZONE}, {@code limit_conn:ZONE},
 * {@code access}, {@code auth_basic}, {@code max_body_size}); {@code action} is {@code rejected}, {@code delayed},
 * {@code dry_run_rejected} or {@code dry_run_delayed}. Counters for configured controls are registered at 0 so a
 * rate() over them works from the first scrape.
 */
public final class LimitMetrics {
    public static final String NAME = "tiergate_proxy_limited_requests";
    private final MeterRegistry registry;
    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();

    public LimitMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void count(String limit, String action) {
        counter(limit, action).increment();
    }

    /** Registers the counter at 0 if it does not exist yet. */
    public void register(String limit, String... actions) {
        for (String a : actions) {
            counter(limit, a);
        }
    }

    /** {@code tiergate_proxy_limit_zone_keys{zone}}: keys a limit_req zone's table holds now (bounded by its size). */
    public void zoneKeys(String zone, java.util.function.ToDoubleFunction<String> keys) {
        io.micrometer.core.instrument.Gauge.builder("tiergate_proxy_limit_zone_keys", zone, keys)
                .description("Keys held in a limit_req zone's table").tag("zone", zone).strongReference(true)
                .register(registry);
    }

    private Counter counter(String limit, String action) {
        return counters.computeIfAbsent(limit + "\u0000" + action, k -> Counter.builder(NAME)
                .description("Requests refused, delayed or (dry run) flagged by a limit, access or auth control")
                .tag("limit", limit).tag("action", action).register(registry));
    }
}
