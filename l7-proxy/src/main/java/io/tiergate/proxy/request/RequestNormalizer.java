package io.tiergate.proxy.request;

import java.util.Locale;

/**
 * Request-target form (RFC 9112 §3.2), Host (RFC 9110 §7.2), HTTP/2 pseudo-headers (RFC 9113 §8.3.1) and the path
 * ({@link PathNormalizer}) in one step, the same for HTTP/1.x and HTTP/2. A pure function of {@link RequestHead}.
 */
public final class RequestNormalizer {
    /** What a 405 lists: every method is proxied except CONNECT (no tunnels). */
    public static final String ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

    private RequestNormalizer() {
    }

    /** Throws {@link BadRequest} (400, or 405 for CONNECT) when the head is not acceptable. */
    public static NormalizedTarget normalize(RequestHead head, boolean mergeSlashes) {
        String method = head.method();
        if (method.equals("CONNECT")) {
            throw new BadRequest(405, "CONNECT (tunnelling) is not supported by this proxy", ALLOW);
        }
        String scheme = head.tls() ? "https" : "http";
        Authority authority;
        String target = head.target();
        if (head.protocol() == RequestHead.Protocol.HTTP_2) {
            authority = h2Authority(head, scheme);
            if (target == null || target.isEmpty()) {
                throw new BadRequest("missing or empty :path");
            }
            if (!target.startsWith("/") && !target.equals("*")) {
                throw new BadRequest(":path '" + Authority.printable(target) + "' is not an absolute path");
            }
        } else {
            authority = h1Host(head);
            if (target == null || target.isEmpty()) {
                throw new BadRequest("empty request-target");
            }
            String lower = target.length() >= 8 ? target.substring(0, 8).toLowerCase(Locale.ROOT) : "";
            if (lower.startsWith("http://") || lower.startsWith("https://")) {
                // absolute-form: its authority replaces Host (RFC 9112 §3.2.2); the origin gets origin-form.
                String rest = target.substring(target.indexOf("://") + 3);
                int end = 0;
                while (end < rest.length() && "/?#".indexOf(rest.charAt(end)) < 0) {
                    end++;
                }
                String auth = rest.substring(0, end);
                if (auth.indexOf('@') >= 0) {
                    throw new BadRequest("userinfo ('user@') in the request-target (RFC 9110 §4.2.4)");
                }
                authority = Authority.parse(auth, "the request-target's authority");
                target = rest.substring(end);
                if (target.isEmpty() || target.charAt(0) == '?') {
                    target = "/" + target;
                }
            } else if (!target.startsWith("/") && !target.equals("*")) {
                throw new BadRequest("request-target '" + Authority.printable(target) + "' is neither origin-form"
                        + " ('/path') nor absolute-form ('http://host/path'); authority-form is for CONNECT only");
            }
        }
        if (target.equals("*")) {
            if (!method.equals("OPTIONS")) {
                throw new BadRequest("the asterisk request-target '*' is only valid with OPTIONS");
            }
            return new NormalizedTarget(scheme, authority, "*", null, null);
        }
        int q = target.indexOf('?');
        String query = q < 0 ? null : target.substring(q + 1);
        if (query != null) {
            PathNormalizer.checkQuery(query);
        }
        String path = PathNormalizer.normalize(q < 0 ? target : target.substring(0, q), mergeSlashes);
        return new NormalizedTarget(scheme, authority, path, query,
                PathNormalizer.encodedSlashView(path, mergeSlashes));
    }

    /** HTTP/1.x: exactly one Host on 1.1 (RFC 9112 §3.2); a 1.0 request may have none. */
    private static Authority h1Host(RequestHead head) {
        if (head.hostFields().size() > 1) {
            throw new BadRequest("more than one Host header");
        }
        if (head.hostFields().isEmpty()) {
            if (head.protocol() == RequestHead.Protocol.HTTP_1_1) {
                throw new BadRequest("no Host header (required in HTTP/1.1)");
            }
            return null;
        }
        return Authority.parse(head.hostFields().get(0), "Host");
    }

    /** HTTP/2: :scheme must be the connection's; :authority wins over Host and they must agree (RFC 9113 §8.3.1). */
    private static Authority h2Authority(RequestHead head, String scheme) {
        if (!scheme.equals(head.h2Scheme())) {
            throw new BadRequest(":scheme '" + (head.h2Scheme() == null ? "" : Authority.printable(head.h2Scheme()))
                    + "' does not match the connection (" + scheme + ")");
        }
        if (head.hostFields().size() > 1) {
            throw new BadRequest("more than one Host header");
        }
        Authority host = head.hostFields().isEmpty() ? null : Authority.parse(head.hostFields().get(0), "Host");
        if (head.h2Authority() == null) {
            return host;
        }
        Authority a = Authority.parse(head.h2Authority(), ":authority");
        if (host != null && !host.equals(a)) {
            throw new BadRequest("Host '" + host + "' differs from :authority '" + a + "'");
        }
        return a;
    }
}
