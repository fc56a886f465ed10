package io.tiergate.proxy.cache;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/** A complete (buffered) response as the cache sees it, from the origin or served from the store. */
public record CacheResponse(int status, MultiMap headers, Buffer body) {
    public static CacheResponse of(int status, String body) {
        MultiMap h = MultiMap.caseInsensitiveMultiMap();
        Buffer b = Buffer.buffer(body);
        h.set("Content-Length", Integer.toString(b.length()));
        return new CacheResponse(status, h, b);
    }
}
