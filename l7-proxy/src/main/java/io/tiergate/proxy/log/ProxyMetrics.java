package io.tiergate.proxy.log;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;

/** The proxy's Prometheus meters, tagged by route (server + location) and upstream. */
public final class ProxyMetrics {
    private final MeterRegistry registry;

    public ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void request(String route, String upstream, int status, long nanos) {
        String cls = status / 100 + "xx";
        Counter.builder("tiergate_proxy_requests").description("Requests answered, by status class")
                .tag("route", route).tag("upstream", upstream).tag("status_class", cls)
                .register(registry).increment();
        Timer.builder("tiergate_proxy_request_duration").description("Time from request head to response end")
                .tag("route", route).tag("upstream", upstream).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry).record(Duration.ofNanos(nanos));
    }

    public void retry(String upstream, String reason) {
        Counter.builder("tiergate_proxy_retries").description("Attempts re-sent to another server")
                .tag("upstream", upstream).tag("reason", reason).register(registry).increment();
    }

    public void retryRefused(String upstream, String why) {
        Counter.builder("tiergate_proxy_retries_refused").description("Retries not made, by reason")
                .tag("upstream", upstream).tag("why", why).register(registry).increment();
    }

    public void ejection(String upstream, String server) {
        Counter.builder("tiergate_proxy_ejections").description("Servers taken out by passive health (max_fails)")
                .tag("upstream", upstream).tag("server", server).register(registry).increment();
    }
}
