package io.tiergate.proxy.forward;

import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.PoolOptions;

import io.vertx.core.Context;
import io.vertx.core.internal.ContextInternal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.Map;
import java.util.WeakHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection pools of one upstream group. The pooled client keeps connections alive for
 * {@code keepalive_timeout} (shorter than the origin's, so the proxy closes first); the fresh client never reuses a
 * connection and is used once to re-send a request whose reused connection was closed under it.
 *
 * <p>There is one pool per event loop, like nginx's per-worker {@code keepalive}: a request handled on loop A then
 * only ever uses a connection owned by loop A. With one shared pool a connection created on loop B would be leased
 * to loop A and every read and write would hop threads (a selector wake-up each), which halved throughput.
 * {@code max_connections_per_server} is therefore per event loop.
 */
public final class UpstreamClient {
    private static final Logger log = LoggerFactory.getLogger(UpstreamClient.class);

    private final Vertx vertx;
    private final UpstreamGroup group;
    private final UpstreamConfig declared;
    private final HttpClientOptions options;
    private final PoolOptions poolOptions;
    private final ConcurrentMap<Object, HttpClientAgent> pooled = new ConcurrentHashMap<>();
    private volatile HttpClientAgent fresh;
    private final Map<HttpConnection, Boolean> seen = Collections.synchronizedMap(new WeakHashMap<>());

    public UpstreamClient(Vertx vertx, UpstreamGroup group) {
        this(vertx, group, group.config());
    }

    /** {@code declared} is the group as written (DNS names); the group's own config has them resolved. */
    public UpstreamClient(Vertx vertx, UpstreamGroup group, UpstreamConfig declared) {
        this.declared = declared;
        this.vertx = vertx;
        this.group = group;
        HttpClientOptions o = new HttpClientOptions()
                .setKeepAlive(true)
                .setKeepAliveTimeout((int) Math.max(1, group.config().keepaliveTimeout().toSeconds()))
                .setTcpNoDelay(true);
        this.options = o;
        this.poolOptions = new PoolOptions().setHttp1MaxSize(group.config().maxConnectionsPerServer())
                .setCleanerPeriod(500);
    }

    public UpstreamConfig declared() {
        return declared;
    }

    public UpstreamGroup group() {
        return group;
    }

    /** The pool of the calling event loop (created on first use). */
    HttpClientAgent pooled() {
        Context ctx = Vertx.currentContext();
        Object loop = ctx instanceof ContextInternal ci ? ci.nettyEventLoop() : Thread.currentThread();
        HttpClientAgent c = pooled.get(loop);
        if (c == null) {
            c = pooled.computeIfAbsent(loop, k -> vertx.httpClientBuilder().with(options).with(poolOptions)
                    .withConnectHandler(UpstreamClient::connected).build());
        }
        return c;
    }

    HttpClientAgent fresh() {
        HttpClientAgent f = fresh;
        if (f == null) {
            synchronized (this) {
                if (fresh == null) {
                    fresh = vertx.httpClientBuilder().with(new HttpClientOptions().setKeepAlive(false))
                            .withConnectHandler(UpstreamClient::connected).build();
                }
                f = fresh;
            }
        }
        return f;
    }

    /**
     * Every new upstream connection. Its failures (an origin killed or restarted resets its pooled connections) reach
     * the request on it, if any, which retries and counts them; an idle one is just dropped from the pool. Without a
     * handler Vert.x would log each reset as an ERROR line "Connection reset": noise beside the one WARN of the
     * ejection or health check that says the origin is gone.
     */
    private static void connected(HttpConnection c) {
        c.exceptionHandler(e -> log.debug("upstream connection {} -> {}: {}", c.localAddress(), c.remoteAddress(),
                e.toString()));
        UpstreamGuard.install(c);
    }

    /** True when {@code c} carried a request before: a failure on it may be the keep-alive close race. */
    boolean markUsed(HttpConnection c) {
        return seen.put(c, Boolean.TRUE) != null;
    }

    public Future<Void> close() {
        List<Future<?>> closing = new ArrayList<>();
        pooled.values().forEach(c -> closing.add(c.close()));
        HttpClientAgent f = fresh;
        if (f != null) {
            closing.add(f.close());
        }
        return Future.join(closing).mapEmpty();
    }
}
