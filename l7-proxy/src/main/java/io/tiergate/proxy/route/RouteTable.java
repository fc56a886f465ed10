package io.tiergate.proxy.route;

import io.tiergate.proxy.config.ListenerConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.config.VirtualServerConfig;
import io.tiergate.proxy.request.BadRequest;
import io.tiergate.proxy.request.NormalizedTarget;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Immutable routing for a whole config: per listener, virtual host selection by Host with nginx's precedence
 * (exact name, longest leading wildcard {@code *.example.com}, longest trailing wildcard {@code www.example.*},
 * first matching regex in file order, then the listener's default server — the one marked {@code default: true},
 * else the first server on that listener), then location selection ({@link VirtualHost#locate}).
 */
public final class RouteTable {
    private final Map<String, HostIndex> byListener = new HashMap<>();

    private RouteTable() {
    }

    public static RouteTable build(ProxyConfig config) {
        RouteTable t = new RouteTable();
        Map<VirtualServerConfig, VirtualHost> hosts = new java.util.IdentityHashMap<>();
        for (ListenerConfig l : config.listeners()) {
            HostIndex idx = new HostIndex();
            for (VirtualServerConfig s : config.servers()) {
                if (!s.listeners().isEmpty() && !s.listeners().contains(l.name())) {
                    continue;
                }
                VirtualHost vh = hosts.computeIfAbsent(s, VirtualHost::new);
                idx.add(vh);
            }
            idx.seal();
            t.byListener.put(l.name(), idx);
        }
        return t;
    }

    /** Routes a request; returns null when no server or no location matches (the caller answers 404). */
    public Route route(String listener, String host, String path) {
        HostIndex idx = byListener.get(listener);
        if (idx == null) {
            return null;
        }
        VirtualHost vh = idx.select(normalizeHost(host));
        if (vh == null) {
            return null;
        }
        var loc = vh.locate(path);
        return loc == null ? null : new Route(vh, loc);
    }

    /**
     * Routes a normalized request. When its path holds an encoded slash, the view of an origin that decodes %2F must
     * select the same location, else {@link BadRequest}: either kind of origin then resolves what was routed.
     */
    public Route route(String listener, NormalizedTarget target) {
        Route route = route(listener, target.routingHost(), target.path());
        if (target.encodedSlashView() != null) {
            Route other = route(listener, target.routingHost(), target.encodedSlashView());
            if ((route == null) != (other == null) || (route != null && route.location() != other.location())) {
                throw new BadRequest("an encoded slash (%2F or %5C) in '" + target.path()
                        + "' would select another location if the origin decoded it");
            }
        }
        return route;
    }

    /** Lower-cases, drops the port and a trailing dot: {@code Example.COM.:8080} → {@code example.com}. */
    static String normalizeHost(String host) {
        if (host == null) {
            return "";
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 ? h.substring(0, end + 1) : h;
        }
        int colon = h.lastIndexOf(':');
        if (colon >= 0 && h.indexOf(':') == colon) {
            h = h.substring(0, colon);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h;
    }

    private static final class HostIndex {
        private final Map<String, VirtualHost> exact = new HashMap<>();
        private final List<Map.Entry<String, VirtualHost>> leading = new ArrayList<>();  // suffix incl. the dot
        private final List<Map.Entry<String, VirtualHost>> trailing = new ArrayList<>(); // prefix incl. the dot
        private final List<Map.Entry<Pattern, VirtualHost>> regexes = new ArrayList<>();
        private VirtualHost first;
        private VirtualHost defaultServer;

        void add(VirtualHost vh) {
            if (first == null) {
                first = vh;
            }
            if (vh.config().isDefault() && defaultServer == null) {
                defaultServer = vh;
            }
            for (String raw : vh.config().serverNames()) {
                String n = raw.startsWith("~") ? raw : raw.toLowerCase(Locale.ROOT);
                if (n.startsWith("~")) {
                    regexes.add(Map.entry(Pattern.compile(n.substring(1), Pattern.CASE_INSENSITIVE), vh));
                } else if (n.startsWith("*.")) {
                    leading.add(Map.entry(n.substring(1), vh));
                } else if (n.endsWith(".*")) {
                    trailing.add(Map.entry(n.substring(0, n.length() - 1), vh));
                } else {
                    exact.putIfAbsent(n, vh); // nginx: the first server with a name wins
                }
            }
        }

        void seal() {
            Comparator<Map.Entry<String, VirtualHost>> longestFirst =
                    Comparator.comparingInt((Map.Entry<String, VirtualHost> e) -> e.getKey().length()).reversed();
            leading.sort(longestFirst);
            trailing.sort(longestFirst);
        }

        VirtualHost select(String host) {
            VirtualHost vh = exact.get(host);
            if (vh != null) {
                return vh;
            }
            for (var e : leading) {
                if (host.endsWith(e.getKey()) && host.length() > e.getKey().length()) {
                    return e.getValue();
                }
            }
            for (var e : trailing) {
                if (host.startsWith(e.getKey()) && host.length() > e.getKey().length()) {
                    return e.getValue();
                }
            }
            for (var e : regexes) {
                if (e.getKey().matcher(host).find()) {
                    return e.getValue();
                }
            }
            return defaultServer != null ? defaultServer : first;
        }
    }
}
