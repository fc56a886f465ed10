package io.tiergate.proxy.forward;

import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.request.HeaderValues;
import io.tiergate.proxy.request.ProxyRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Header rewriting at the proxy boundary: hop-by-hop removal and the forwarding headers (XFF, RFC 7239, Via). */
public final class Headers {

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    // Names as AsciiString: their hash is computed once, not on every set/get of every request.
    static final AsciiString VIA = AsciiString.cached("Via");
    private static final AsciiString XFF = AsciiString.cached("X-Forwarded-For");
    private static final AsciiString X_REAL_IP = AsciiString.cached("X-Real-IP");
    private static final AsciiString XF_PROTO = AsciiString.cached("X-Forwarded-Proto");
    private static final AsciiString XF_HOST = AsciiString.cached("X-Forwarded-Host");
    private static final AsciiString FORWARDED = AsciiString.cached("Forwarded");
    private static final AsciiString CONNECTION = AsciiString.cached("Connection");

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
        copyEndToEnd(in, out, false);
    }

    /** As above; {@code request}: also leave out Expect, Content-Length and Host (the upstream request sets its own). */
    private static void copyEndToEnd(MultiMap in, MultiMap out, boolean request) {
        Set<String> named = connectionNamed(in);
        // Vert.x's own maps (request heads, and the Netty path's response heads) are Netty HttpHeaders too: walk
        // their CharSequences (the decoder's AsciiStrings), so no String is made per name and value.
        Iterator<? extends Map.Entry<? extends CharSequence, ? extends CharSequence>> it =
                in instanceof HttpHeaders netty ? netty.iteratorCharSequence() : in.iterator();
        while (it.hasNext()) {
            Map.Entry<? extends CharSequence, ? extends CharSequence> e = it.next();
            CharSequence k = e.getKey();
            if (!isHopByHop(k) && (named == null || !named.contains(k.toString().toLowerCase(Locale.ROOT)))
                    && !(request && isSetUpstream(k))) {
                out.add(k, e.getValue());
            }
        }
    }

    /**
     * Expect (the body is already read or streamed by the time the upstream sees the request), Content-Length (the
     * body's own), Host (the upstream request's authority is the normalized one: absolute-form's, :authority's).
     */
    private static boolean isSetUpstream(CharSequence name) {
        return switch (name.length()) {
            case 4 -> is(name, "host");
            case 6 -> is(name, "expect");
            case 14 -> is(name, "content-length");
            default -> false;
        };
    }

    /** Lower-case names listed in the Connection fields beyond close/keep-alive/upgrade, or null when none. */
    private static Set<String> connectionNamed(MultiMap in) {
        if (!in.contains(CONNECTION)) {
            return null; // most requests carry none: no list, no iterator
        }
        Set<String> named = null;
        for (String c : HeaderValues.of(in, CONNECTION)) {
            // A hand-written token scan: this runs on every response (most say just "keep-alive" or "close").
            int i = 0;
            int n = c.length();
            while (i < n) {
                int comma = c.indexOf(',', i);
                int end = comma < 0 ? n : comma;
                int from = i;
                int to = end;
                i = end + 1;
                while (from < to && c.charAt(from) <= ' ') {
                    from++;
                }
                while (to > from && c.charAt(to - 1) <= ' ') {
                    to--;
                }
                if (to > from && !isToken(c, from, to, "close") && !isToken(c, from, to, "keep-alive")
                        && !isToken(c, from, to, "upgrade")) {
                    if (named == null) {
                        named = new HashSet<>();
                    }
                    named.add(c.substring(from, to).toLowerCase(Locale.ROOT));
                }
            }
        }
        return named;
    }

    private static boolean isToken(String s, int from, int to, String token) {
        return to - from == token.length() && s.regionMatches(true, from, token, 0, token.length());
    }

    /** RFC 9110 §7.6.1 hop-by-hop fields, plus the non-standard ones seen in the wild (Keep-Alive, Proxy-Connection). */
    static boolean isHopByHop(CharSequence name) {
        return switch (name.length()) {
            case 2 -> is(name, "te");
            case 7 -> is(name, "trailer") || is(name, "upgrade");
            case 10 -> is(name, "connection") || is(name, "keep-alive");
            case 16 -> is(name, "proxy-connection");
            case 17 -> is(name, "transfer-encoding");
            default -> false;
        };
    }

    private static boolean is(CharSequence name, String lower) {
        return AsciiString.contentEqualsIgnoreCase(name, lower);
    }

    /**
     * The request headers for the upstream. Forwarding headers from a peer outside {@code trusted_proxies} are
     * replaced, so a client cannot claim another address; a trusted peer's are extended.
     */
    public static MultiMap upstreamRequest(ProxyRequest request, ProxyConfig config) {
        HttpServerRequest req = request.raw();
        String clientIp = request.clientIp();
        String peerIp = request.peerIp(); // the hop we talk to: what trust is decided on and what the chain gains
        MultiMap h = MultiMap.caseInsensitiveMultiMap();
        copyEndToEnd(req.headers(), h, true);
        ProxyConfig.Forwarding f = config.forwarding();
        boolean trusted = f.trusts(peerIp);
        String scheme = request.scheme(); // the connection's, never the client's :scheme
        String host = request.authority() == null ? null : request.authority().toString();
        if (f.xForwarded()) {
            String xff = trusted ? joinedOrNull(req.headers(), XFF) : null;
            h.set(XFF, xff == null ? peerIp : xff + ", " + peerIp);
            // nginx's "proxy_set_header X-Real-IP $remote_addr": the client after real_ip, never a client's claim.
            h.set(X_REAL_IP, clientIp);
            String proto = trusted ? req.headers().get(XF_PROTO) : null;
            h.set(XF_PROTO, proto == null ? scheme : proto);
            String xfh = trusted ? req.headers().get(XF_HOST) : null;
            if (xfh != null || host != null) {
                h.set(XF_HOST, xfh != null ? xfh : host);
            } else {
                h.remove(XF_HOST);
            }
        }
        if (f.forwarded()) {
            CharSequence el = forwardedElement(forwardedNode(peerIp), scheme, host);
            String prev = trusted ? joinedOrNull(req.headers(), FORWARDED) : null;
            h.set(FORWARDED, prev == null ? el : prev + ", " + el);
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
        byte[] hex = new byte[32]; // bytes, not chars: a Latin-1 String is made from them without compressing
        long a = r.nextLong();
        long b = r.nextLong();
        for (int i = 15; i >= 0; i--) {
            hex[i] = HEX[(int) (a & 0xf)];
            hex[i + 16] = HEX[(int) (b & 0xf)];
            a >>>= 4;
            b >>>= 4;
        }
        return new String(hex, StandardCharsets.ISO_8859_1);
    }

    /** A status code as text, the common ones without a new String per response (the access log's upstream_status). */
    static String statusText(int status) {
        return status >= 100 && status < 100 + STATUS_TEXT.length ? STATUS_TEXT[status - 100] : Integer.toString(status);
    }

    private static final String[] STATUS_TEXT = new String[500];

    static {
        for (int i = 0; i < STATUS_TEXT.length; i++) {
            STATUS_TEXT[i] = Integer.toString(100 + i);
        }
    }

    /**
     * This node's Via entries, made once per node name (a reload may change it) instead of once per request. Keyed by
     * the name alone, so HTTP/1.1 and HTTP/2 clients served side by side share one set. Held as AsciiString: the
     * encoder copies their bytes rather than converting a String char by char.
     */
    private record ViaEntries(String node, AsciiString v10, AsciiString v11, AsciiString v2) {
        static ViaEntries of(String node) {
            return new ViaEntries(node, new AsciiString("1.0 " + node), new AsciiString("1.1 " + node),
                    new AsciiString("2 " + node));
        }

        CharSequence entry(String protoVersion) {
            return switch (protoVersion) {
                case "1.0" -> v10;
                case "1.1" -> v11;
                case "2" -> v2;
                default -> protoVersion + " " + node;
            };
        }
    }

    private static volatile ViaEntries via = ViaEntries.of("");

    private static CharSequence viaEntry(String protoVersion, String node) {
        ViaEntries v = via;
        if (!v.node().equals(node)) {
            v = ViaEntries.of(node);
            via = v;
        }
        return v.entry(protoVersion);
    }

    public static void appendVia(MultiMap h, String protoVersion, String node) {
        CharSequence mine = viaEntry(protoVersion, node);
        if (h.contains(VIA)) {
            h.set(VIA, joinedOrNull(h, VIA) + ", " + mine);
        } else {
            h.add(VIA, mine); // the usual case: no Via yet, so no list, no join and no search to replace one
        }
    }

    private static String joinedOrNull(MultiMap h, CharSequence name) {
        var all = h.getAll(name);
        return all.isEmpty() ? null : String.join(", ", all);
    }

    /**
     * "for=NODE;proto=SCHEME[;host=HOST]", HOST quoted unless it is a token ({@link #quoteIfNeeded}), written once into
     * an array of its exact length and wrapped without a copy (a StringBuilder, the quoted host and a String copied it
     * three times on every request). Anything beyond Latin-1 (no normalized authority has it) takes the String route.
     */
    static CharSequence forwardedElement(String node, String scheme, String host) {
        boolean quote = host != null && !isToken(host);
        int hostLength = host == null ? 0 : quote ? host.length() - count(host, '"') + 2 : host.length();
        int len = 4 + node.length() + 7 + scheme.length() + (host == null ? 0 : 6 + hostLength);
        byte[] b = new byte[len];
        int at = put(b, 0, "for=", false);
        at = put(b, at, node, false);
        at = put(b, at, ";proto=", false);
        at = put(b, at, scheme, false);
        if (host != null) {
            at = put(b, at, quote ? ";host=\"" : ";host=", false);
            at = put(b, at, host, quote);
            at = put(b, at, quote ? "\"" : "", false);
        }
        if (at < 0) {
            return "for=" + node + ";proto=" + scheme + (host == null ? "" : ";host=" + quoteIfNeeded(host));
        }
        return new AsciiString(b, false);
    }

    /**
     * Copies {@code s} into {@code b} at {@code at}, leaving out double quotes when {@code dropQuotes}; -1 (and from
     * then on) when a char does not fit in a byte.
     */
    private static int put(byte[] b, int at, String s, boolean dropQuotes) {
        if (at < 0) {
            return at;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c > 0xff) {
                return -1;
            }
            if (!(dropQuotes && c == '"')) {
                b[at++] = (byte) c;
            }
        }
        return at;
    }

    private static int count(String s, char c) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                n++;
            }
        }
        return n;
    }

    /** RFC 7239 §6: IPv6 addresses are bracketed and quoted. */
    static String forwardedNode(String ip) {
        return ip.indexOf(':') >= 0 ? "\"[" + ip + "]\"" : ip;
    }

    /** An RFC 7230 token is sent as is, anything else quoted (no regex: this runs on every request). */
    private static String quoteIfNeeded(String v) {
        return isToken(v) ? v : "\"" + v.replace("\"", "") + "\"";
    }

    private static boolean isToken(String v) {
        boolean token = !v.isEmpty();
        for (int i = 0; token && i < v.length(); i++) {
            char c = v.charAt(i);
            token = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || "!#$%&'*+.^_`|~-".indexOf(c) >= 0;
        }
        return token;
    }
}
