package io.tiergate.director.model;

import io.tiergate.shared.config.ConfigEnum;

/** What a failed health check does to a real server. */
public enum OnFailure implements ConfigEnum {
    /** Keep it with weight 0: no new connections, established ones continue (keepalived's inhibit_on_failure). */
    WEIGHT0("weight0"),
    /** Take it out of the service entirely. */
    REMOVE("remove");

    private final String configName;

    OnFailure(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
