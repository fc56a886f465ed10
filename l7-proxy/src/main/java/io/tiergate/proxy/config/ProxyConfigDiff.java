package io.tiergate.proxy.config;

import static io.tiergate.shared.config.ConfigDiffs.changed;
import static io.tiergate.shared.config.ConfigDiffs.unlisted;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a reload changes, in the words of the config file, for the one line a reload logs: {@code applied} took
 * effect, {@code needsRestart} names each changed key the running process keeps until it restarts. Every top-level
 * key of {@code proxy:} is compared: one this class does not know yet is named as needing a restart.
 */
public record ProxyConfigDiff(List<String> applied, List<String> needsRestart) {
    public ProxyConfigDiff {
        applied = List.copyOf(applied);
        needsRestart = List.copyOf(needsRestart);
    }

    public boolean isEmpty() {
        return applied.isEmpty() && needsRestart.isEmpty();
    }

    public static ProxyConfigDiff of(ProxyConfig a, ProxyConfig b) {
        List<String> applied = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        upstreams(a, b, applied);
        listeners(a, b, applied);
        if (!routes(a).equals(routes(b))) {
            applied.add("servers/locations");
        }
        changed("timeouts", a.timeouts(), b.timeouts(), applied);
        changed("forwarding", a.forwarding(), b.forwarding(), applied);
        changed("body_buffer", a.bodyBuffer(), b.bodyBuffer(), applied);
        changed("retry", a.retry(), b.retry(), applied);
        changed("add_node_header", a.nodeHeader(), b.nodeHeader(), applied);
        if (!a.accessLog().equals(b.accessLog())) {
            applied.add("access_log " + describe(a.accessLog()) + " -> " + describe(b.accessLog()));
        }
        if (a.limits().maxBodySize() != b.limits().maxBodySize()) {
            applied.add("limits.max_body_size");
        }
        // Netty's HTTP decoder of a bound socket keeps the sizes it was made with.
        if (a.limits().maxUriLength() != b.limits().maxUriLength()) {
            restart.add("limits.max_uri_length (listeners that stay bound)");
        }
        if (a.limits().maxHeaderSize() != b.limits().maxHeaderSize()) {
            restart.add("limits.max_header_size (listeners that stay bound)");
        }
        if (!a.nodeName().equals(b.nodeName())) {
            applied.add("node_name (Via and node header)");
            restart.add("node_name (the metrics' node label)");
        }
        changed("cache", a.cache(), b.cache(), restart);
        changed("dr.vips", a.drVips(), b.drVips(), restart);
        changed("dr.mode/tunnel_mtu", a.drTunnel(), b.drTunnel(), restart);
        // admin is moved by the command that owns the endpoint: it reports it
        unlisted(a, b, COMPARED, restart);
        return new ProxyConfigDiff(applied, restart);
    }

    /** The components compared above; a component added to the config later is reported by ConfigDiffs.unlisted. */
    private static final java.util.Set<String> COMPARED = java.util.Set.of(
            "nodeName", "nodeHeader", "listeners", "timeouts", "limits", "forwarding", "bodyBuffer", "retry", "accessLog", "upstreams", "servers", "cache", "admin", "drVips", "drTunnel");

    private static String describe(ProxyConfig.AccessLog l) {
        return l.format() == ProxyConfig.AccessLog.Format.OFF ? "off"
                : l.path() + " (" + l.format().name().toLowerCase(java.util.Locale.ROOT) + ")";
    }

    private static void upstreams(ProxyConfig a, ProxyConfig b, List<String> out) {
        for (UpstreamConfig u : b.upstreams().values()) {
            UpstreamConfig old = a.upstreams().get(u.name());
            if (old == null) {
                out.add("+upstream " + u.name());
                continue;
            }
            Set<String> was = servers(old);
            Set<String> now = servers(u);
            for (String s : now) {
                if (!was.contains(s)) {
                    out.add("+upstream " + u.name() + " server " + s);
                }
            }
            for (String s : was) {
                if (!now.contains(s)) {
                    out.add("-upstream " + u.name() + " server " + s);
                }
            }
            if (was.equals(now) && !old.equals(u)) {
                out.add("upstream " + u.name() + " settings");
            }
        }
        for (String name : a.upstreams().keySet()) {
            if (!b.upstreams().containsKey(name)) {
                out.add("-upstream " + name);
            }
        }
    }

    private static Set<String> servers(UpstreamConfig u) {
        Set<String> out = new LinkedHashSet<>();
        u.servers().forEach(s -> out.add(s.address().toString()));
        return out;
    }

    private static void listeners(ProxyConfig a, ProxyConfig b, List<String> out) {
        for (ListenerConfig l : b.listeners()) {
            if (!a.listeners().contains(l)) {
                ListenerConfig old = a.listeners().stream().filter(o -> o.name().equals(l.name())).findFirst()
                        .orElse(null);
                if (old != null && old.tls() != null && l.tls() != null
                        && old.withTls(l.tls()).equals(l)) {
                    out.add("listener " + l.name() + " certificate files"); // loaded in place, sockets kept
                    continue;
                }
                out.add((old != null ? "listener " + l.name() + " rebound on " : "+listener " + l.name() + " ")
                        + l.address());
            }
        }
        for (ListenerConfig l : a.listeners()) {
            if (b.listeners().stream().noneMatch(n -> n.name().equals(l.name()))) {
                out.add("-listener " + l.name() + " " + l.address());
            }
        }
    }

    /** The routing structure: server names, listeners and locations (match and upstream), in order. */
    private static List<String> routes(ProxyConfig c) {
        List<String> out = new ArrayList<>();
        for (VirtualServerConfig vs : c.servers()) {
            StringBuilder sb = new StringBuilder().append(vs.serverNames()).append(vs.isDefault())
                    .append(vs.listeners());
            for (LocationConfig l : vs.locations()) {
                sb.append('|').append(l.label()).append("->").append(l.upstream());
            }
            out.add(sb.toString());
        }
        return out;
    }
}
