package io.tiergate.shared.config;

/** An enum whose constants are written in YAML under a name of their own (e.g. {@code rr} for ROUND_ROBIN). */
public interface ConfigEnum {
    String configName();
}
