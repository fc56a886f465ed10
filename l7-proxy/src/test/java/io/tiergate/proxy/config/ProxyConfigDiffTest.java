package io.tiergate.proxy.config;

import io.tiergate.proxy.support.Proxies;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What a reload's summary line says for each kind of change: applied, or named as needing a restart. */
class ProxyConfigDiffTest {
    static final String BASE = """
            node_name: n1
            access_log: {format: off}
            limits: {max_header_size: 16k}
            listeners: [{name: a, address: 127.0.0.1:8080}, {name: b, address: 127.0.0.1:8081}]
            upstreams:
              app: {servers: [10.0.0.1:80, 10.0.0.2:80]}
              old: {servers: [10.0.0.9:80]}
            servers: [{default: true, locations: [{prefix: /, upstream: app}, {prefix: /old/, upstream: old}]}]
            """;

    @Test
    void unchangedIsEmpty() {
        assertThat(ProxyConfigDiff.of(Proxies.config(BASE), Proxies.config(BASE)).isEmpty()).isTrue();
    }

    @Test
    void everyKindOfChangeIsNamed() {
        String next = BASE.replace("10.0.0.2:80", "10.0.0.3:80")
                .replace("  old: {servers: [10.0.0.9:80]}\n", "  api: {servers: [10.0.0.7:80]}\n")
                .replace("{prefix: /old/, upstream: old}", "{prefix: /api/, upstream: api}")
                .replace("{name: b, address: 127.0.0.1:8081}", "{name: c, address: 127.0.0.1:8082}")
                .replace("access_log: {format: off}", "access_log: {format: json, path: /var/log/a.json}")
                .replace("max_header_size: 16k", "max_header_size: 32k")
                .replace("node_name: n1", "node_name: n2\ncache: {max_size: 1g}\ndr: {vips: [10.0.0.100]}");
        ProxyConfigDiff d = ProxyConfigDiff.of(Proxies.config(BASE), Proxies.config(next));
        assertThat(d.applied()).containsExactly(
                "+upstream app server 10.0.0.3:80", "-upstream app server 10.0.0.2:80", "+upstream api",
                "-upstream old", "+listener c 127.0.0.1:8082", "-listener b 127.0.0.1:8081", "servers/locations",
                "access_log off -> /var/log/a.json (json)", "node_name (Via and node header)");
        assertThat(d.needsRestart()).containsExactly("limits.max_header_size (listeners that stay bound)",
                "node_name (the metrics' node label)", "cache", "dr.vips");
    }
}
