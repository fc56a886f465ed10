package io.tiergate.proxy.forward;

import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.request.ProxyRequest;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Header rewriting at the proxy boundary: hop-by-hop removal and the forwarding headers (XFF, RFC 7239, Via). */
public final class Headers {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private Headers() {
    }

    /** Copies {@code in} without hop-by-hop fields, including every field named in its Connection header. */
    public static MultiMap endToEnd(MultiMap in) {
        // Hot path: no allocation per header. Only a Connection header listing extra names needs a set.
        MultiMap out = MultiMap.caseInsensitiveMultiMap();
        copyEndToEnd(in, out);
        return out;
    }

    /**
     * Adds the end-to-end fields of {@code in} to {@code out}: {@link #endToEnd} without the intermediate map, for a
     * response head copied straight into the client's response.
     */
    public static void copyEndToEnd(MultiMap in, MultiMap out) {
        Set<String> named = connectionNamed(in);
        for (var e : in) {
            String k = e.getKey();
            if (!isHopByHop(k) && (named == null || !named.contains(k.toLowerCase(Locale.ROOT)))) {
                out.add(k, e.getValue());
            }
        }
    }

    /** Lower-case names listed in the Connection fields beyond close/keep-alive/upgrade, or null when none. */
    private static Set<String> connectionNamed(MultiMap in) {
        Set<String> named = null;
        for (String c : in.getAll("Connection")) {
            // A hand-written token scan: this runs on every response (most say just "keep-alive" or "close").
            int i = 0;
            int n = c.length();
            while (i < n) {
                int comma = c.indexOf(',', i);
                int end = comma < 0 ? n : comma;
                String token = c.substring(i, end).trim();
                i = end + 1;
                if (!token.isEmpty() && !token.equalsIgnoreCase("close") && !token.equalsIgnoreCase("keep-alive")
                        && !token.equalsIgnoreCase("upgrade")) {
                    if (named == null) {
                        named = new HashSet<>();
                    }
                    named.add(token.toLowerCase(Locale.ROOT));
                }
            }
        }
        return named;
    }

    /** RFC 9110 §7.6.1 hop-by-hop fields, plus the non-standard ones seen in the wild (Keep-Alive, Proxy-Connection). */
    static boolean isHopByHop(String name) {
        return switch (name.length()) {
            case 2 -> name.equalsIgnoreCase("te");
            case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
            case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
            case 16 -> name.equalsIgnoreCase("proxy-connection");
            case 17 -> name.equalsIgnoreCase("transfer-encoding");
            default -> false;
        };
    }

    /**
     * The request headers for the upstream. Forwarding headers from a peer outside {@code trusted_proxies} are
     * replaced, so a client cannot claim another address; a trusted peer's are extended.
     */
    public static MultiMap upstreamRequest(ProxyRequest request, ProxyConfig config) {
        HttpServerRequest req = request.raw();
        String clientIp = request.clientIp();
        String peerIp = request.peerIp(); // the hop we talk to: what trust is decided on and what the chain gains
        MultiMap h = endToEnd(req.headers());
        h.remove("Expect"); // the body is already read (or streamed) by the time the upstream sees the request
        h.remove("Content-Length");
        h.remove("Host"); // the upstream request's authority is the normalized one (absolute-form's, :authority's)
        ProxyConfig.Forwarding f = config.forwarding();
        boolean trusted = f.trusts(peerIp);
        String scheme = request.scheme(); // the connection's, never the client's :scheme
        String host = request.authority() == null ? null : request.authority().toString();
        if (f.xForwarded()) {
            String xff = trusted ? joinedOrNull(req.headers(), "X-Forwarded-For") : null;
            h.set("X-Forwarded-For", xff == null ? peerIp : xff + ", " + peerIp);
            // nginx's "proxy_set_header X-Real-IP $remote_addr": the client after real_ip, never a client's claim.
            h.set("X-Real-IP", clientIp);
            String proto = trusted ? req.headers().get("X-Forwarded-Proto") : null;
            h.set("X-Forwarded-Proto", proto == null ? scheme : proto);
            String xfh = trusted ? req.headers().get("X-Forwarded-Host") : null;
            if (xfh != null || host != null) {
                h.set("X-Forwarded-Host", xfh != null ? xfh : host);
            } else {
                h.remove("X-Forwarded-Host");
            }
        }
        if (f.forwarded()) {
            StringBuilder el = new StringBuilder("for=").append(forwardedNode(peerIp)).append(";proto=").append(scheme);
            if (host != null) {
                el.append(";host=").append(quoteIfNeeded(host));
            }
            String prev = trusted ? joinedOrNull(req.headers(), "Forwarded") : null;
            h.set("Forwarded", prev == null ? el.toString() : prev + ", " + el);
        }
        if (f.via()) {
            appendVia(h, switch (req.version()) {
                case HTTP_1_0 -> "1.0";
                case HTTP_2 -> "2";
                default -> "1.1";
            }, config.nodeName());
        }
        if (!f.requestIdHeader().isEmpty()) {
            h.set(f.requestIdHeader(), request.requestId());
        }
        io.tiergate.proxy.tls.ClientCertificate.apply(h, request, config);
        return h;
    }

    /** A request id: the incoming one when it is sane, else 16 random bytes in hex. */
    public static String requestId(HttpServerRequest req, ProxyConfig config) {
        String name = config.forwarding().requestIdHeader();
        String in = name.isEmpty() ? null : req.headers().get(name);
        if (in != null && in.length() <= 200 && in.chars().allMatch(c -> c > 32 && c < 127)) {
            return in;
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] hex = new char[32];
        long a = r.nextLong();
        long b = r.nextLong();
        for (int i = 15; i >= 0; i--) {
            hex[i] = HEX[(int) (a & 0xf)];
            hex[i + 16] = HEX[(int) (b & 0xf)];
            a >>>= 4;
            b >>>= 4;
        }
        return new String(hex);
    }

    public static void appendVia(MultiMap h, String protoVersion, String node) {
        String prev = joinedOrNull(h, "Via");
        String mine = protoVersion + " " + node;
        h.set("Via", prev == null ? mine : prev + ", " + mine);
    }

    private static String joinedOrNull(MultiMap h, String name) {
        var all = h.getAll(name);
        return all.isEmpty() ? null : String.join(", ", all);
    }

    /** RFC 7239 §6: IPv6 addresses are bracketed and quoted. */
    static String forwardedNode(String ip) {
        return ip.indexOf(':') >= 0 ? "\"[" + ip + "]\"" : ip;
    }

    /** An RFC 7230 token is sent as is, anything else quoted (no regex: this runs on every request). */
    private static String quoteIfNeeded(String v) {
        boolean token = !v.isEmpty();
        for (int i = 0; token && i < v.length(); i++) {
            char c = v.charAt(i);
            token = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || "!#$%&'*+.^_`|~-".indexOf(c) >= 0;
        }
        return token ? v : "\"" + v.replace("\"", "") + "\"";
    }
}
