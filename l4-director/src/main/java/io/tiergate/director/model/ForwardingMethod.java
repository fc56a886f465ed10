package io.tiergate.director.model;

import io.tiergate.shared.config.ConfigEnum;

/** How packets reach a real server (LVS's three modes). */
public enum ForwardingMethod implements ConfigEnum {
    /** Rewrite only the destination MAC; the real server holds the VIP on lo and answers the client directly. */
    DIRECT_ROUTE("dr"),
    /** Rewrite the destination address; replies must route back through the director. */
    NAT("nat"),
    /** Encapsulate in IPIP; the real server decapsulates and answers directly. */
    TUNNEL("tunnel");

    private final String configName;

    ForwardingMethod(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
