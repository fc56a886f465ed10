package io.tiergate.proxy.controls;

import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigMap;

import java.time.Duration;

/**
 * A server's or location's {@code timeouts: {connect, read}} (nginx {@code proxy_connect_timeout},
 * {@code proxy_read_timeout}), over the global {@code timeouts.upstream_connect}/{@code upstream_read}; null = the
 * inherited value.
 */
public record UpstreamTimeouts(Duration connect, Duration read) {
    public static final UpstreamTimeouts INHERIT = new UpstreamTimeouts(null, null);

    public Duration connect(ProxyConfig.Timeouts global) {
        return connect == null ? global.upstreamConnect() : connect;
    }

    public Duration read(ProxyConfig.Timeouts global) {
        return read == null ? global.upstreamRead() : read;
    }

    static UpstreamTimeouts parse(ConfigMap parent, String key, UpstreamTimeouts inherited) {
        ConfigMap m = parent.mapOrEmpty(key);
        Duration ms = Duration.ofMillis(1);
        Duration connect = m.has("connect") ? m.duration("connect", null, ms) : inherited.connect();
        Duration read = m.has("read") ? m.duration("read", null, ms) : inherited.read();
        if (m.has("send")) {
            m.error("send", "a separate send timeout is not supported",
                    "read: it bounds any silence on the upstream connection, a stalled write included");
        }
        m.finish();
        return new UpstreamTimeouts(connect, read);
    }
}
