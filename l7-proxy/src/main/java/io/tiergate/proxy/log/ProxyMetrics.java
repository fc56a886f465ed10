package io.tiergate.proxy.log;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's Prometheus meters, tagged by route (server + location) and upstream. Meters are looked up once per
 * tag combination and cached: building and registering them on every request cost more than the forwarding.
 */
public final class ProxyMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<RequestKey, Counter> requests = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Timer> durations = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Counter> retries = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Counter> refused = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Counter> ejections = new ConcurrentHashMap<>();

    private record RouteKey(String a, String b) {
    }

    private record RequestKey(String route, String upstream, int statusClass) {
    }

    public ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void request(String route, String upstream, int status, long nanos) {
        requests.computeIfAbsent(new RequestKey(route, upstream, status / 100), k ->
                Counter.builder("tiergate_proxy_requests").description("Requests answered, by status class")
                        .tag("route", k.route()).tag("upstream", k.upstream())
                        .tag("status_class", k.statusClass() + "xx")
                        .register(registry)).increment();
        durations.computeIfAbsent(new RouteKey(route, upstream), k ->
                Timer.builder("tiergate_proxy_request_duration").description("Time from request head to response end")
                        .tag("route", k.a()).tag("upstream", k.b()).publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
                        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void retry(String upstream, String reason) {
        retries.computeIfAbsent(new RouteKey(upstream, reason), k ->
                Counter.builder("tiergate_proxy_retries").description("Attempts re-sent to another server")
                        .tag("upstream", k.a()).tag("reason", k.b()).register(registry)).increment();
    }

    public void retryRefused(String upstream, String why) {
        refused.computeIfAbsent(new RouteKey(upstream, why), k ->
                Counter.builder("tiergate_proxy_retries_refused").description("Retries not made, by reason")
                        .tag("upstream", k.a()).tag("why", k.b()).register(registry)).increment();
    }

    public void ejection(String upstream, String server) {
        ejections.computeIfAbsent(new RouteKey(upstream, server), k ->
                Counter.builder("tiergate_proxy_ejections")
                        .description("Servers taken out of rotation (passive max_fails or active health checks)")
                        .tag("upstream", k.a()).tag("server", k.b()).register(registry)).increment();
    }
}
