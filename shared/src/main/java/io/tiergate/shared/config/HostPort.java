package io.tiergate.shared.config;

/**
 * {@code host:port}, {@code [v6]:port}, or a bare host with a default port. Host names stay unresolved here:
 * tiers that re-resolve DNS names periodically need the name, not an address.
 */
public record HostPort(String host, int port) {
    public static final String EXPECTED = "host:port, e.g. 10.0.0.5:8080, app.internal:80 or [2001:db8::1]:443";

    public HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 0-65535");
        }
    }

    /** Parses; {@code defaultPort} &lt; 0 means a port is required. Throws IllegalArgumentException. */
    public static HostPort parse(String text, int defaultPort) {
        String s = text.trim();
        String host;
        String port = null;
        if (s.startsWith("[")) {
            int end = s.indexOf(']');
            if (end < 0) {
                throw new IllegalArgumentException("'" + text + "' has no closing ']'");
            }
            host = s.substring(1, end);
            if (end + 1 < s.length()) {
                if (s.charAt(end + 1) != ':') {
                    throw new IllegalArgumentException("'" + text + "' is not host:port");
                }
                port = s.substring(end + 2);
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') == colon) {
                host = s.substring(0, colon);
                port = s.substring(colon + 1);
            } else {
                host = s; // a bare host, or an IPv6 literal without brackets and without a port
            }
        }
        int p;
        if (port == null) {
            if (defaultPort < 0) {
                throw new IllegalArgumentException("'" + text + "' has no port");
            }
            p = defaultPort;
        } else {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + port + "' is not a port number");
            }
        }
        return new HostPort(host, p);
    }

    /**
     * The same address with an IPv6 literal host in its RFC 5952 text form ({@code fd77:0::11} → {@code fd77::11}),
     * the form the kernel's tools print back. IPv4 literals and host names are returned unchanged.
     */
    public HostPort canonical() {
        String c = canonicalIp(host);
        return c.equals(host) ? this : new HostPort(c, port);
    }

    /** RFC 5952 text of an IPv6 literal (lower case, no leading zeros, the longest run of 2+ zero groups as ::). */
    public static String canonicalIp(String host) {
        if (host.indexOf(':') < 0 || !host.matches("[0-9a-fA-F:.]+")) {
            return host;
        }
        byte[] b;
        try {
            b = java.net.InetAddress.getByName(host).getAddress(); // a literal: no name lookup
        } catch (java.net.UnknownHostException e) {
            return host;
        }
        if (b.length != 16) {
            return host; // an IPv4-mapped literal comes back as IPv4: leave the text as written
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestAt = -1;
        int bestLen = 1; // a single zero group is not shortened
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestAt = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestAt) {
                out.append("::");
                i += bestLen - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(g[i]));
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
