package io.tiergate.cli;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One file, one schema: it may hold a {@code director:} section, a {@code proxy:} section, or both, plus
 * {@code logging:}. Each process reads its own section; {@code config check} validates all of them.
 */
public record TiergateConfig(Path file, Optional<DirectorConfig> director, Optional<ProxyConfig> proxy,
                             LoggingConfig logging) {

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
        if (director.isEmpty() && proxy.isEmpty() && problems.isEmpty()) {
            top.error("director", "the file has neither a 'director:' nor a 'proxy:' section",
                    "at least one of director:, proxy:");
        }
        top.finish();
        problems.throwIfAny();
        return new TiergateConfig(file, director, proxy, new LoggingConfig(format, level));
    }
}
