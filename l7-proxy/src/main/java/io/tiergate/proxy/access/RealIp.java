package io.tiergate.proxy.access;

import io.netty.util.NetUtil;
import io.tiergate.proxy.config.ProxyConfig;
import io.vertx.core.MultiMap;

import java.util.List;

/**
 * nginx's realip module: the client address every feature uses (access log, limits, allow/deny, hashing,
 * X-Forwarded-For, X-Real-IP) is taken from {@code header} only when the connection's peer (the TCP peer, or the
 * PROXY header's source on a PROXY listener) is in {@code trusted_proxies}. With {@code recursive} (nginx
 * {@code real_ip_recursive on}) the header's list is walked right to left and the first address that is not itself
 * trusted is the client; without it the rightmost entry is. {@code header} null: off (the peer is the client).
 */
public record RealIp(String header, boolean recursive) {
    public static final RealIp OFF = new RealIp(null, true);

    /** The client address for a request from {@code peer} carrying {@code headers}. Never does a DNS lookup. */
    public String client(String peer, MultiMap headers, ProxyConfig.Forwarding forwarding) {
        if (header == null || !forwarding.trusts(peer)) {
            return peer;
        }
        List<String> values = headers.getAll(header);
        if (values.isEmpty()) {
            return peer;
        }
        String client = peer;
        // Several header lines are one comma-separated list (RFC 9110 §5.3): walk them all, last line last.
        for (int v = values.size() - 1; v >= 0; v--) {
            String[] parts = values.get(v).split(",");
            for (int i = parts.length - 1; i >= 0; i--) {
                String addr = literal(parts[i].trim());
                if (addr == null) {
                    return client; // garbage in the chain: stop at the last address we could vouch for
                }
                client = addr;
                if (!recursive || !forwarding.trusts(addr)) {
                    return client;
                }
            }
        }
        return client;
    }

    /** An IPv4 or IPv6 literal (brackets and a port, as some proxies write them, are dropped), or null. */
    static String literal(String s) {
        if (s.startsWith("[")) {
            int end = s.indexOf(']');
            s = end < 0 ? s : s.substring(1, end);
        } else if (s.indexOf(':') > 0 && s.indexOf(':') == s.lastIndexOf(':') && s.indexOf('.') > 0) {
            s = s.substring(0, s.indexOf(':')); // 192.0.2.1:4711
        }
        return NetUtil.isValidIpV4Address(s) || NetUtil.isValidIpV6Address(s) ? s : null;
    }
}
