package io.tiergate.director.model;

import io.tiergate.shared.config.ConfigEnum;

/** How a real server is picked for a new connection; names are ipvsadm's. */
public enum Scheduler implements ConfigEnum {
    ROUND_ROBIN("rr"),
    WEIGHTED_ROUND_ROBIN("wrr"),
    LEAST_CONNECTION("lc"),
    WEIGHTED_LEAST_CONNECTION("wlc"),
    SHORTEST_EXPECTED_DELAY("sed"),
    NEVER_QUEUE("nq"),
    SOURCE_HASH("sh"),
    MAGLEV("mh");

    private final String configName;

    Scheduler(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
