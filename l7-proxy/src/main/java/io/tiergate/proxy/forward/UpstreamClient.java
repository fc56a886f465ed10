package io.tiergate.proxy.forward;

import io.tiergate.proxy.upstream.UpstreamGroup;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.PoolOptions;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The connection pools of one upstream group. The pooled client keeps connections alive for
 * {@code keepalive_timeout} (shorter than the origin's, so the proxy closes first); the fresh client never reuses a
 * connection and is used once to re-send a request whose reused connection was closed under it.
 */
public final class UpstreamClient {
    private final Vertx vertx;
    private final UpstreamGroup group;
    private final HttpClientAgent pooled;
    private volatile HttpClientAgent fresh;
    private final Map<HttpConnection, Boolean> seen = Collections.synchronizedMap(new WeakHashMap<>());

    public UpstreamClient(Vertx vertx, UpstreamGroup group) {
        this.vertx = vertx;
        this.group = group;
        HttpClientOptions o = new HttpClientOptions()
                .setKeepAlive(true)
                .setKeepAliveTimeout((int) Math.max(1, group.config().keepaliveTimeout().toSeconds()))
                .setTcpNoDelay(true);
        this.pooled = vertx.httpClientBuilder().with(o)
                .with(new PoolOptions().setHttp1MaxSize(group.config().maxConnectionsPerServer()).setCleanerPeriod(500))
                .build();
    }

    public UpstreamGroup group() {
        return group;
    }

    HttpClientAgent pooled() {
        return pooled;
    }

    HttpClientAgent fresh() {
        HttpClientAgent f = fresh;
        if (f == null) {
            synchronized (this) {
                if (fresh == null) {
                    fresh = vertx.httpClientBuilder().with(new HttpClientOptions().setKeepAlive(false)).build();
                }
                f = fresh;
            }
        }
        return f;
    }

    /** True when {@code c} carried a request before: a failure on it may be the keep-alive close race. */
    boolean markUsed(HttpConnection c) {
        return seen.put(c, Boolean.TRUE) != null;
    }

    public Future<Void> close() {
        HttpClientAgent f = fresh;
        return f == null ? pooled.close() : Future.all(pooled.close(), f.close()).mapEmpty();
    }
}
