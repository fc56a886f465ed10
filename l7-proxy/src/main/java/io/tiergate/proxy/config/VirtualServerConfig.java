package io.tiergate.proxy.config;

import java.util.List;

/**
 * A virtual host (nginx {@code server} block). {@code listeners} empty means every listener. Names are exact
 * ({@code example.com}), leading wildcard ({@code *.example.com}), trailing wildcard ({@code www.*}) or a regex
 * written {@code ~^api\d+\.example\.com$}.
 */
public record VirtualServerConfig(List<String> serverNames, boolean isDefault, List<String> listeners,
                                  List<LocationConfig> locations) {
    public VirtualServerConfig {
        serverNames = List.copyOf(serverNames);
        listeners = List.copyOf(listeners);
        locations = List.copyOf(locations);
    }
}
