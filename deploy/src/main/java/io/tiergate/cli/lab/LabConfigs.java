package io.tiergate.cli.lab;

/** The config files the lab writes for its processes; real Tiergate configs, printed by {@code lab status}. */
final class LabConfigs {
    private LabConfigs() {
    }

    static String proxy(String name) {
        throw new UnsupportedOperationException("pending proxy config schema");
    }

    static String director(String name, String dataplane) {
        throw new UnsupportedOperationException("pending director config schema");
    }
}
