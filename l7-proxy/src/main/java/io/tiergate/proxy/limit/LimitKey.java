package io.tiergate.proxy.limit;

import io.tiergate.proxy.request.ProxyRequest;
import io.vertx.core.http.Cookie;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a zone counts by (nginx's zone key, e.g. {@code $binary_remote_addr}): one or more of {@code client_ip}
 * (after real_ip), {@code header:NAME}, {@code cookie:NAME}, {@code route} (server + location) and {@code host}.
 * As in nginx, a request whose key is empty (every part missing) is not counted.
 */
public record LimitKey(List<Part> parts) {
    public enum Source { CLIENT_IP, HEADER, COOKIE, ROUTE, HOST }

    public record Part(Source source, String name) {
        @Override
        public String toString() {
            return name == null ? source.name().toLowerCase(Locale.ROOT)
                    : source.name().toLowerCase(Locale.ROOT) + ":" + name;
        }
    }

    public LimitKey {
        parts = List.copyOf(parts);
    }

    public static final String EXPECTED = "client_ip, header:NAME, cookie:NAME, route or host (or a list of them)";

    /** Parses one part; null when it is not one of {@link #EXPECTED}. */
    public static Part part(String text) {
        String t = text.trim();
        int colon = t.indexOf(':');
        String kind = (colon < 0 ? t : t.substring(0, colon)).toLowerCase(Locale.ROOT);
        String name = colon < 0 ? null : t.substring(colon + 1).trim();
        return switch (kind) {
            case "client_ip" -> name == null ? new Part(Source.CLIENT_IP, null) : null;
            case "route" -> name == null ? new Part(Source.ROUTE, null) : null;
            case "host" -> name == null ? new Part(Source.HOST, null) : null;
            case "header" -> name != null && name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")
                    ? new Part(Source.HEADER, name) : null;
            case "cookie" -> name != null && !name.isEmpty() ? new Part(Source.COOKIE, name) : null;
            default -> null;
        };
    }

    /** The key of {@code r} at location {@code route}, or null when every part is missing. */
    public String of(ProxyRequest r, String route) {
        if (parts.size() == 1) {
            return value(parts.get(0), r, route);
        }
        List<String> values = new ArrayList<>(parts.size());
        boolean any = false;
        for (Part p : parts) {
            String v = value(p, r, route);
            any |= v != null;
            values.add(v == null ? "" : v);
        }
        return any ? String.join("\u0000", values) : null;
    }

    private static String value(Part p, ProxyRequest r, String route) {
        String v = switch (p.source()) {
            case CLIENT_IP -> r.clientIp();
            case HEADER -> r.raw().getHeader(p.name());
            case COOKIE -> {
                Cookie c = r.raw().getCookie(p.name());
                yield c == null ? null : c.getValue();
            }
            case ROUTE -> route;
            case HOST -> r.authority() == null ? null : r.authority().host();
        };
        return v == null || v.isEmpty() ? null : v;
    }

    @Override
    public String toString() {
        return String.join(", ", parts.stream().map(Part::toString).toList());
    }
}
