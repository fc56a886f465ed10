package io.tiergate.proxy.rewrite;

import io.vertx.core.MultiMap;

/**
 * The request as rewrite rules see it. {@code uri} is path plus query ("/a/b?x=1"), as received (still
 * percent-encoded).
 */
public record RequestContext(String method, String scheme, String host, String uri, String remoteAddr,
                             MultiMap headers, String requestId) {
    public String path() {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /** The query without '?', or "" when there is none. */
    public String args() {
        int q = uri.indexOf('?');
        return q < 0 ? "" : uri.substring(q + 1);
    }

    public RequestContext withUri(String u) {
        return new RequestContext(method, scheme, host, u, remoteAddr, headers, requestId);
    }
}
