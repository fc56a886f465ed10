package io.tiergate.proxy.cache;

import io.vertx.core.MultiMap;

/**
 * What the cache needs to know about a request. {@code uri} is the request target in origin form (path and query);
 * {@code headers} is case-insensitive and is not modified by the cache (it copies before changing).
 */
public record CacheRequest(String method, String scheme, String host, String uri, MultiMap headers) {
    public CacheRequest withHeaders(MultiMap h) {
        return new CacheRequest(method, scheme, host, uri, h);
    }

    public CacheRequest withMethodAndUri(String m, String u) {
        return new CacheRequest(m, scheme, host, u, headers);
    }

    public MultiMap copyHeaders() {
        return MultiMap.caseInsensitiveMultiMap().addAll(headers);
    }
}
