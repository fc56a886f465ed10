package io.tiergate.proxy.config;

import io.tiergate.shared.config.ConfigMap;

/** The {@code proxy:} section. (Skeleton: the proxy-core work fills this in.) */
public record ProxyConfig() {
    /** Reads the section, recording every problem in {@code section.problems()}. */
    public static ProxyConfig parse(ConfigMap section) {
        section.finish();
        return new ProxyConfig();
    }
}
