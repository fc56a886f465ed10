package io.tiergate.shared.health;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The one YAML shape of a health check, used by the director (per real server / service) and the proxy (per
 * upstream):
 *
 * <pre>
 * health:
 *   type: http          # tcp (default) | http | https | command
 *   interval: 100ms     # default 1s
 *   timeout: 100ms      # default 1s, at most the interval
 *   rise: 2             # consecutive successes to become UP
 *   fall: 2             # consecutive failures to become DOWN
 *   path: /healthz      # http(s)
 *   host: app.local     # http(s) Host header; default the target's host:port
 *   expect_status: [200, 204]   # http(s); default 200-399
 *   body_contains: ok   # http(s)
 *   command: [/usr/local/bin/check, "{host}", "{port}"]
 * </pre>
 */
public final class HealthCheckConfig {
    private HealthCheckConfig() {
    }

    /** Parses {@code m} on top of {@code defaults} (null = the built-in defaults); problems go to m.problems(). */
    public static HealthCheck parse(ConfigMap m, HealthCheck defaults) {
        HealthCheck d = defaults == null ? HealthCheck.tcp() : defaults;
        HealthCheck.Type type = m.enumValue("type", HealthCheck.Type.class, d.type());
        Duration interval = m.duration("interval", d.interval(), Duration.ofMillis(1));
        Duration timeout = m.duration("timeout", d.timeout(), Duration.ofMillis(1));
        if (timeout.compareTo(interval) > 0 && m.has("timeout")) {
            m.error("timeout", "is longer than the interval (" + io.tiergate.shared.config.Units.format(interval)
                    + "); probes never overlap", "at most the interval");
        }
        int rise = m.integer("rise", d.rise(), 1, 1000);
        int fall = m.integer("fall", d.fall(), 1, 1000);
        boolean http = type == HealthCheck.Type.HTTP || type == HealthCheck.Type.HTTPS;
        String path = m.string("path", d.httpPath());
        if (path != null && !path.startsWith("/")) {
            m.error("path", "'" + path + "' does not start with /", "a path like /healthz");
            path = "/";
        }
        String host = m.string("host", d.httpHost());
        Set<Integer> expect = new LinkedHashSet<>(d.expectStatus());
        if (m.has("expect_status")) {
            expect.clear();
            for (ConfigNode n : m.list("expect_status")) {
                try {
                    int code = Integer.parseInt(n instanceof ConfigNode.Scalar s ? s.text().trim() : "x");
                    if (code < 100 || code > 599) {
                        throw new NumberFormatException();
                    }
                    expect.add(code);
                } catch (NumberFormatException e) {
                    m.problems().add(n, "is not an HTTP status code", "codes from 100 to 599");
                }
            }
        }
        String body = m.string("body_contains", d.bodyContains());
        List<String> command = m.stringList("command", d.command());
        if (!http) {
            for (String k : List.of("path", "host", "expect_status", "body_contains")) {
                if (m.has(k)) {
                    m.error(k, "only applies to http and https checks, this one is " + type.name().toLowerCase(),
                            "type: http or https, or remove '" + k + "'");
                }
            }
        }
        if (type == HealthCheck.Type.COMMAND && command.isEmpty()) {
            m.error("command", "a command check needs a command", "a list: [program, arg, ...]; {host} and {port} are replaced");
        }
        m.finish();
        try {
            return new HealthCheck(type, interval, timeout.compareTo(interval) > 0 ? interval : timeout, rise, fall,
                    http ? path : null, http ? host : null, http ? expect : Set.of(), http ? body : null,
                    type == HealthCheck.Type.COMMAND ? command : List.of());
        } catch (IllegalArgumentException e) {
            m.error("type", e.getMessage(), "a valid health check");
            return d;
        }
    }
}
