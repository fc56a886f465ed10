package io.tiergate.cli;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;

import io.tiergate.shared.config.Units;
import io.tiergate.shared.metrics.Metrics;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One file, one schema: it may hold a {@code director:} section, a {@code proxy:} section, or both, plus
 * {@code logging:}. Each process reads its own section; {@code config check} validates all of them.
 */
public record TiergateConfig(Path file, Optional<DirectorConfig> director, Optional<ProxyConfig> proxy,
                             LoggingConfig logging, MetricsConfig metrics) {

    /** {@code metrics.latency_buckets}: the upper bounds of every Tiergate latency histogram. */
    public record MetricsConfig(List<Duration> latencyBuckets) {
        static final MetricsConfig DEFAULT = new MetricsConfig(Metrics.DEFAULT_LATENCY_BUCKETS);

        public MetricsConfig {
            latencyBuckets = List.copyOf(latencyBuckets);
        }
    }

    public record LoggingConfig(String format, String level) {
        static final LoggingConfig DEFAULT = new LoggingConfig("text", "info");
    }

    /** Loads and validates; throws {@link io.tiergate.shared.config.ConfigException} listing every problem. */
    public static TiergateConfig load(Path file) {
        ConfigNode root = YamlLoader.load(file);
        Problems problems = new Problems();
        ConfigMap top = ConfigMap.of(root, problems);
        Optional<DirectorConfig> director = top.map("director").map(DirectorConfig::parse);
        Optional<ProxyConfig> proxy = top.map("proxy").map(ProxyConfig::parse);
        ConfigMap log = top.mapOrEmpty("logging");
        String format = log.string("format", "text");
        if (!format.equals("text") && !format.equals("json")) {
            log.error("format", "unknown log format '" + format + "'", "text or json");
        }
        String level = log.string("level", "info");
        if (!level.matches("(?i)trace|debug|info|warn|error|off")) {
            log.error("level", "unknown log level '" + level + "'", "one of trace, debug, info, warn, error, off");
        }
        log.finish();
        MetricsConfig metrics = parseMetrics(top.mapOrEmpty("metrics"));
        if (director.isEmpty() && proxy.isEmpty() && problems.isEmpty()) {
            top.error("director", "the file has neither a 'director:' nor a 'proxy:' section",
                    "at least one of director:, proxy:");
        }
        top.finish();
        problems.throwIfAny();
        return new TiergateConfig(file, director, proxy, new LoggingConfig(format, level), metrics);
    }

    private static MetricsConfig parseMetrics(ConfigMap m) {
        List<Duration> buckets = new ArrayList<>();
        String expected = "a list of up to " + Metrics.MAX_LATENCY_BUCKETS + " increasing durations, e.g. [5ms, 10ms, 25ms,"
                + " 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s, 10s]";
        if (m.has("latency_buckets")) {
            List<ConfigNode> items = m.list("latency_buckets");
            for (ConfigNode n : items) {
                try {
                    if (!(n instanceof ConfigNode.Scalar s) || s.isNull()) {
                        throw new IllegalArgumentException("is " + n.kind());
                    }
                    Duration d = Units.parseDuration(s.text());
                    if (d.isZero() || d.isNegative()) {
                        throw new IllegalArgumentException(Units.format(d) + " is not above 0");
                    }
                    if (!buckets.isEmpty() && d.compareTo(buckets.get(buckets.size() - 1)) <= 0) {
                        throw new IllegalArgumentException(Units.format(d) + " is not larger than the bucket before it");
                    }
                    buckets.add(d);
                } catch (IllegalArgumentException e) {
                    m.problems().add(n, e.getMessage(), expected);
                }
            }
            if (items.isEmpty() || items.size() > Metrics.MAX_LATENCY_BUCKETS) {
                m.error("latency_buckets", items.size() + " buckets", expected);
            }
        }
        m.finish();
        return buckets.isEmpty() ? MetricsConfig.DEFAULT : new MetricsConfig(buckets);
    }
}
