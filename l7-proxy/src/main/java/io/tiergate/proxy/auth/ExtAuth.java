package io.tiergate.proxy.auth;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * nginx's {@code auth_request} (Envoy's ext_authz, HTTP flavour): before forwarding, a subrequest
 * {@code method path} goes to a server of {@code upstream} with the original request's {@code passHeaders} (plus
 * {@code X-Original-Method}, {@code X-Original-URI}, {@code X-Real-IP}). A 2xx answer lets the request through and its
 * {@code copyHeaders} are set on the request sent upstream (the client's own values of those names are always
 * removed, so a client cannot forge them); 401 and 403 are returned to the client (401 with the auth server's
 * {@code WWW-Authenticate}); any other status, a timeout or a connection failure gives {@code failureStatus} (500),
 * or lets the request through when {@code failureAllow}. Answers are cached for {@code cacheFor} (0: not cached),
 * keyed by the values of {@code passHeaders} (only 2xx, 401 and 403 answers are cached, never failures).
 */
public record ExtAuth(String upstream, String method, String path, List<String> passHeaders,
                      List<String> copyHeaders, Duration timeout, int failureStatus, boolean failureAllow,
                      Duration cacheFor) {
    public static final ExtAuth OFF = new ExtAuth(null, "GET", "/", List.of(), List.of(), Duration.ZERO, 500, false,
            Duration.ZERO);

    public ExtAuth {
        passHeaders = List.copyOf(passHeaders);
        copyHeaders = List.copyOf(copyHeaders);
    }

    public boolean on() {
        return upstream != null;
    }

    private static final java.util.regex.Pattern HEADER = java.util.regex.Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    public static ExtAuth parse(ConfigMap parent, String key, Set<String> upstreams) {
        if (parent.raw(key).filter(n -> n instanceof ConfigNode.Scalar s && "off".equals(s.text())).isPresent()) {
            return OFF;
        }
        ConfigMap m = parent.mapOrEmpty(key);
        String upstream = m.requireString("upstream", "the upstream group of the auth service");
        if (upstream != null && !upstreams.contains(upstream)) {
            String hint = ConfigMap.suggest(upstream, upstreams).map(s -> "; did you mean '" + s + "'?").orElse("");
            m.error("upstream", "unknown upstream '" + upstream + "'" + hint, "one of " + String.join(", ", upstreams));
            upstream = null;
        }
        String method = m.string("method", "GET").toUpperCase(Locale.ROOT);
        if (!Set.of("GET", "HEAD", "POST").contains(method)) {
            m.error("method", "'" + method + "' is not a subrequest method", "GET, HEAD or POST (sent without a body)");
        }
        String path = m.string("path", "/");
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= 32 || c >= 127)) {
            m.error("path", "'" + path + "' is not an origin-form path", "a path like /auth or /verify?scope=api");
        }
        List<String> pass = headerList(m, "pass_headers", List.of("Authorization", "Cookie"));
        List<String> copy = headerList(m, "copy_headers", List.of());
        Duration timeout = m.duration("timeout", Duration.ofSeconds(2), Duration.ofMillis(1));
        String failure = m.string("on_failure", "500");
        boolean allow = failure.equals("allow");
        int status = 500;
        if (!allow) {
            try {
                status = Integer.parseInt(failure);
            } catch (NumberFormatException e) {
                status = -1;
            }
            if (status < 400 || status > 599) {
                m.error("on_failure", "'" + failure + "' is not a failure mode", "a status 400-599 (default 500) or allow");
                status = 500;
            }
        }
        Duration cache = m.duration("cache", Duration.ZERO, Duration.ZERO);
        m.finish();
        return upstream == null ? null
                : new ExtAuth(upstream, method, path, pass, copy, timeout, status, allow, cache);
    }

    private static List<String> headerList(ConfigMap m, String key, List<String> def) {
        List<String> names = m.stringList(key, def);
        for (String n : names) {
            if (!HEADER.matcher(n).matches()) {
                m.error(key, "'" + n + "' is not a header name", "header names like Authorization, X-User");
            }
        }
        return names;
    }
}
