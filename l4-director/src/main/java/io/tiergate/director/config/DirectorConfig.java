package io.tiergate.director.config;

import io.tiergate.shared.config.ConfigMap;

/** The {@code director:} section. (Skeleton: the director work fills this in.) */
public record DirectorConfig() {
    /** Reads the section, recording every problem in {@code section.problems()}. */
    public static DirectorConfig parse(ConfigMap section) {
        section.finish();
        return new DirectorConfig();
    }
}
