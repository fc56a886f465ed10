package io.tiergate.proxy.cache;

import io.vertx.core.MultiMap;

/**
 * What the cache needs to know about a request. {@code uri} is the request target in origin form (path and query);
 * {@code headers} is case-insensitive and is not modified by the cache (it copies before changing).
 * {@code servedHeaders}, when not null, is the map the served response's head is written into (cleared first):
 * normally the client response's own, so a hit's head is copied once rather than into a map of its own and then
 * again into the response.
 */
public record CacheRequest(String method, String scheme, String host, String uri, MultiMap headers,
                           MultiMap servedHeaders) {
    /** The served response gets a header map of its own. */
    public CacheRequest(String method, String scheme, String host, String uri, MultiMap headers) {
        this(method, scheme, host, uri, headers, null);
    }

    public CacheRequest withHeaders(MultiMap h) {
        return new CacheRequest(method, scheme, host, uri, h, servedHeaders);
    }

    public CacheRequest withMethodAndUri(String m, String u) {
        return new CacheRequest(m, scheme, host, u, headers, servedHeaders);
    }

    public MultiMap copyHeaders() {
        return MultiMap.caseInsensitiveMultiMap().addAll(headers);
    }
}
