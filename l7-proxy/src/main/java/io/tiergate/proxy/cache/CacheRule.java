package io.tiergate.proxy.cache;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Per-location cache settings ({@code cache: on|off} or a mapping). {@code defaultTtl} plays the role of nginx's
 * {@code proxy_cache_valid}: it only applies when the origin gave no explicit freshness, so origin directives always
 * win; {@code maxTtl} caps whatever freshness was computed; {@code staleIfError} lets the operator allow stale on
 * origin errors even when the origin did not say {@code stale-if-error}.
 */
public record CacheRule(boolean enabled, String key, Duration defaultTtl, Duration maxTtl, Duration staleIfError) {
    public static final String DEFAULT_KEY = "$scheme://$host$request_uri";
    public static final CacheRule OFF = new CacheRule(false, DEFAULT_KEY, Duration.ZERO, Duration.ZERO, Duration.ZERO);
    public static final CacheRule ON = new CacheRule(true, DEFAULT_KEY, Duration.ZERO, Duration.ZERO, Duration.ZERO);

    /** Reads {@code key} of a location: absent → {@code OFF}; a boolean; or a mapping. */
    public static CacheRule parse(ConfigMap location, String key) {
        Optional<ConfigNode> raw = location.raw(key);
        if (raw.isEmpty()) {
            return OFF;
        }
        if (raw.get() instanceof ConfigNode.Scalar) {
            return location.bool(key, false) ? ON : OFF;
        }
        return parse(location.mapOrEmpty(key));
    }

    public static CacheRule parse(ConfigMap m) {
        boolean enabled = m.bool("enabled", true);
        String k = m.string("key", DEFAULT_KEY);
        if (!k.contains("$")) {
            m.error("key", "'" + k + "' has no variable: every request would share one entry",
                    "a template like " + DEFAULT_KEY);
            k = DEFAULT_KEY;
        }
        Duration defaultTtl = m.duration("default_ttl", Duration.ZERO);
        Duration maxTtl = m.duration("max_ttl", Duration.ZERO);
        Duration sie = m.duration("stale_if_error", Duration.ZERO);
        m.finish();
        return new CacheRule(enabled, k, defaultTtl, maxTtl, sie);
    }

    /** Expands the key template for a request ($scheme $host $uri $args $request_uri $http_NAME). */
    public String keyFor(CacheRequest r) {
        if (DEFAULT_KEY.equals(key)) {
            return r.scheme() + "://" + r.host().toLowerCase(Locale.ROOT) + r.uri();
        }
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < key.length()) {
            char c = key.charAt(i);
            if (c != '$') {
                out.append(c);
                i++;
                continue;
            }
            int j = i + 1;
            while (j < key.length() && (Character.isLetterOrDigit(key.charAt(j)) || key.charAt(j) == '_')) {
                j++;
            }
            String var = key.substring(i + 1, j);
            String path = r.uri();
            int q = path.indexOf('?');
            out.append(switch (var) {
                case "scheme" -> r.scheme();
                case "host" -> r.host().toLowerCase(Locale.ROOT);
                case "request_uri" -> r.uri();
                case "uri" -> q < 0 ? path : path.substring(0, q);
                case "args" -> q < 0 ? "" : path.substring(q + 1);
                default -> var.startsWith("http_")
                        ? Optional.ofNullable(r.headers().get(var.substring(5).replace('_', '-'))).orElse("")
                        : "$" + var;
            });
            i = j;
        }
        return out.toString();
    }
}
