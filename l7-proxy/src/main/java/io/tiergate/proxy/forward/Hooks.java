package io.tiergate.proxy.forward;

import io.tiergate.proxy.cache.CacheResponse;
import io.tiergate.proxy.rewrite.RequestContext;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpMethod;

/**
 * What a location's features change about an upstream exchange. {@code method}/{@code uri} replace the client's
 * (null: keep them); {@code headerOverrides} (the cache's view of the request) decides the conditional and Range
 * fields; {@code rewrite} feeds the location's header rules; a non-null {@code sink} receives the buffered response
 * instead of the client (or fails with {@link Exchange.UpstreamError}).
 */
record Hooks(HttpMethod method, String uri, MultiMap headerOverrides, RequestContext rewrite,
             Promise<CacheResponse> sink) {
    /** A plain proxied request: nothing changed. */
    static final Hooks NONE = new Hooks(null, null, null, null, null);

    /** Rewritten to {@code uri}, with header rules. */
    static Hooks rewritten(String uri, RequestContext rewrite) {
        return new Hooks(null, uri, null, rewrite, null);
    }
}
