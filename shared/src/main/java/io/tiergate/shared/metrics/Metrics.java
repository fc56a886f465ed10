package io.tiergate.shared.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.tiergate.shared.runtime.LoopClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The process's one meter registry, rendered in Prometheus text format. JVM and process meters are
 * registered up front so every Tiergate process exposes the same basics; components add their own
 * meters through {@link #registry()}.
 */
public final class Metrics implements AutoCloseable {

    /** Prometheus text exposition format 0.0.4, which every Prometheus version scrapes. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;

    public Metrics() {
        this(Map.of());
    }

    /** @param commonTags tags put on every meter, e.g. {@code tier=director} */
    public Metrics(Map<String, String> commonTags) {
        this(commonTags, DEFAULT_LATENCY_BUCKETS);
    }

    /**
     * The histogram buckets every Tiergate timer gets (top-level {@code metrics.latency_buckets}): a short fixed set,
     * not Micrometer's 70-odd percentile buckets, because each route × upstream multiplies them.
     */
    public static final List<Duration> DEFAULT_LATENCY_BUCKETS = List.of(Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
            Duration.ofSeconds(10));

    /** The most buckets {@code metrics.latency_buckets} may list (each one is a series per route × upstream). */
    public static final int MAX_LATENCY_BUCKETS = 30;

    /**
     * @param commonTags     tags put on every meter, e.g. {@code tier=director}
     * @param latencyBuckets upper bounds of the histogram buckets of every {@code tiergate_*} timer
     */
    public Metrics(Map<String, String> commonTags, List<Duration> latencyBuckets) {
        Objects.requireNonNull(commonTags, "commonTags");
        // The meters read their clock on every recording (a timer's max and histogram check their time window):
        // the event loop's reading of this wake-up serves (LoopClock), the OS's everywhere else.
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT,
                new io.prometheus.metrics.model.registry.PrometheusRegistry(), new io.micrometer.core.instrument.Clock() {
                    @Override
                    public long wallTime() {
                        return LoopClock.currentTimeMillis();
                    }

                    @Override
                    public long monotonicTime() {
                        return LoopClock.nanoTime();
                    }
                });
        double[] slos = latencyBuckets.stream().mapToDouble(d -> (double) d.toNanos()).sorted().distinct().toArray();
        // Micrometer's JVM binders name two meters against Prometheus's conventions (promtool check metrics says
        // so): CPU time in nanoseconds, and a gauge whose name ends in _count. Renamed before they register;
        // process_cpu_seconds_total is registered below with the name every Prometheus client library uses.
        registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")));
        // The JVM says -1 for "no maximum" (Eden, Survivor, Metaspace without a limit): leave those series out rather
        // than export a sentinel.
        registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("jvm.memory.max")
                && java.lang.management.ManagementFactory.getMemoryPoolMXBeans().stream()
                        .anyMatch(p -> p.getName().equals(id.getTag("id")) && p.getUsage().getMax() < 0)));
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
            }
        });
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (id.getType() != Meter.Type.TIMER || !id.getName().startsWith("tiergate_")) {
                    return config;
                }
                return DistributionStatisticConfig.builder().percentilesHistogram(false).serviceLevelObjectives(slos)
                        .build().merge(config);
            }
        });
        List<Tag> tags = new ArrayList<>();
        new TreeMap<>(commonTags).forEach((k, v) -> tags.add(Tag.of(k, v)));
        registry.config().commonTags(tags);
        // Registered only after every filter and the common tags: Micrometer warns about (and skips) filters
        // configured after a meter exists.
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            io.micrometer.core.instrument.FunctionCounter.builder("process.cpu", os,
                            o -> o.getProcessCpuTime() / 1e9)
                    .baseUnit("seconds").description("CPU time used by the process").register(registry);
        }
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gc = new JvmGcMetrics(); // holds GC notification listeners: closed in close()
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public PrometheusMeterRegistry prometheus() {
        return registry;
    }

    /** All meters in the format named by {@link #CONTENT_TYPE}. */
    public String scrape() {
        return registry.scrape(CONTENT_TYPE);
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
