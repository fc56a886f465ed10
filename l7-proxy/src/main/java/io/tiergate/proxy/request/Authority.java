package io.tiergate.proxy.request;

import io.netty.util.NetUtil;

import java.util.Locale;

/**
 * A validated Host / :authority / absolute-form authority (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3): an IP literal in
 * brackets, or a name of letters, digits, '-', '.', '_' and '~' (a DNS name or IPv4 address; RFC 3986's sub-delims
 * and escapes in a reg-name are refused as no server name uses them), then an optional numeric port. The host is
 * lower-cased and one trailing dot dropped, the form {@code server_names} are matched against.
 *
 * @param host lower-case, without trailing dot; IPv6 literals keep their brackets
 * @param port 0-65535, or -1 when none was given
 * @param text the value for a Host header or :authority: host, then ":port" when one was given (made once: every
 *             forwarded request writes it, and building it per request showed in profiles)
 */
public record Authority(String host, int port, String text) {

    public Authority(String host, int port) {
        this(host, port, port < 0 ? host : host + ":" + port);
    }

    /** Parses {@code value}; throws {@link BadRequest} naming {@code what} (e.g. "Host") when it is not valid. */
    public static Authority parse(String value, String what) {
        if (value.isEmpty()) {
            throw new BadRequest("empty " + what);
        }
        if (value.length() > 261) {
            throw new BadRequest(what + " longer than 255 characters");
        }
        String host;
        int restAt; // where ":port" (or whatever follows the host) starts: indices, not a substring per request
        if (value.charAt(0) == '[') {
            int end = value.indexOf(']');
            if (end < 0 || !NetUtil.isValidIpV6Address(value.substring(1, end))) {
                throw new BadRequest(what + " '" + printable(value) + "' has a malformed IPv6 literal");
            }
            host = value.substring(0, end + 1).toLowerCase(Locale.ROOT);
            restAt = end + 1;
        } else {
            int colon = value.indexOf(':');
            host = colon < 0 ? value : value.substring(0, colon);
            restAt = colon < 0 ? value.length() : colon;
            checkName(host, value, what);
            host = host.toLowerCase(Locale.ROOT);
            if (host.endsWith(".")) {
                host = host.substring(0, host.length() - 1);
            }
        }
        int restLength = value.length() - restAt;
        int port = -1;
        if (restLength > 0) {
            if (value.charAt(restAt) != ':') {
                throw new BadRequest(what + " '" + printable(value) + "' has text after the IPv6 literal");
            }
            if (restLength > 1) { // "host:" has an empty port (RFC 3986 allows it): no port
                if (restLength > 6) {
                    throw new BadRequest(what + " '" + printable(value) + "' has a port that is not a number");
                }
                port = 0; // parsed by hand: this runs on every request, and a substring + parseInt showed in profiles
                for (int i = restAt + 1; i < value.length(); i++) {
                    char c = value.charAt(i);
                    if (c < '0' || c > '9') {
                        throw new BadRequest(what + " '" + printable(value) + "' has a port that is not a number");
                    }
                    port = port * 10 + (c - '0');
                }
                if (port > 65535) {
                    throw new BadRequest(what + " '" + printable(value) + "' has a port above 65535");
                }
            }
        }
        // Usually the field was already in normal form: then it is its own text, and nothing is built.
        boolean canonicalPort = restLength == 0
                || restLength > 1 && (value.charAt(restAt + 1) != '0' || restLength == 2);
        boolean same = canonicalPort && value.length() == host.length() + restLength && value.startsWith(host);
        return same ? new Authority(host, port, value) : new Authority(host, port);
    }

    private static void checkName(String host, String value, String what) {
        if (host.isEmpty()) {
            throw new BadRequest(what + " '" + printable(value) + "' has no host name");
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~';
            if (!ok) {
                throw new BadRequest(what + " '" + printable(value) + "' contains " + PathNormalizer.describe(c)
                        + " (a host name has letters, digits, '-', '.', '_' only)");
            }
        }
        if (host.charAt(0) == '.' || host.contains("..")) {
            throw new BadRequest(what + " '" + printable(value) + "' has an empty label ('..' or a leading '.')");
        }
    }

    /** The value for a Host header or :authority: host, then ":port" when one was given. */
    @Override
    public String toString() {
        return text;
    }

    /** For messages: the value with control and non-ASCII characters escaped, at most 100 characters. */
    public static String printable(String v) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length() && b.length() < 100; i++) {
            char c = v.charAt(i);
            if (c < ' ' || c >= 0x7f) {
                b.append(String.format("\\x%02x", (int) c & 0xff));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
