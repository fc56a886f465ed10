package io.tiergate.director.model;

import io.tiergate.shared.config.ConfigEnum;

/** Transport protocol of a virtual service. */
public enum Protocol implements ConfigEnum {
    TCP("tcp"), UDP("udp");

    private final String configName;

    Protocol(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
