package io.tiergate.proxy.route;

import io.tiergate.proxy.config.LocationConfig;

/** The outcome of routing one request: which virtual server and location handle it. */
public record Route(VirtualHost host, LocationConfig location) {
}
