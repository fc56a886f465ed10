package io.tiergate.proxy.config;

import io.tiergate.shared.config.ConfigEnum;

/** How an upstream group picks a server. */
public enum Balance implements ConfigEnum {
    /** nginx's smooth weighted round robin. */
    ROUND_ROBIN("round_robin"),
    /** Fewest active requests relative to weight. */
    LEAST_CONN("least_conn"),
    /** Power of two random choices, scored by EWMA latency times outstanding requests. */
    P2C_EWMA("p2c_ewma"),
    /** Consistent hash of a request key on a Maglev table. */
    HASH("hash");

    private final String configName;

    Balance(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
