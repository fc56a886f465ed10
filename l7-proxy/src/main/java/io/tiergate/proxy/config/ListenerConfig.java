package io.tiergate.proxy.config;

import io.tiergate.shared.config.HostPort;

/** One socket the proxy accepts HTTP on. Port 0 binds an ephemeral port (tests, demos). */
public record ListenerConfig(String name, HostPort address) {
}
