package io.tiergate.proxy.forward;

import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.ClientSSLOptions;
import io.tiergate.proxy.tls.Certificates;

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
        UpstreamConfig c = group.config();
        int keepalive = (int) Math.max(1, c.keepaliveTimeout().toSeconds());
        HttpClientOptions o = new HttpClientOptions()
                .setKeepAlive(true)
                .setKeepAliveTimeout(keepalive)
                .setTcpNoDelay(true);
        if (c.protocol().http2()) {
            // h2 by ALPN over TLS, h2c with prior knowledge (no Upgrade round trip): one connection carries many
            // streams, up to the origin's SETTINGS_MAX_CONCURRENT_STREAMS (Vert.x honours it) or our limit.
            o.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
                    .setHttp2KeepAliveTimeout(keepalive).setHttp2MultiplexingLimit(H2_STREAMS_PER_CONNECTION);
        }
        this.tlsOptions = c.tls() == null ? null : Certificates.clientOptions(c.tls(), c.protocol().http2());
        if (tlsOptions != null) {
            // SNI and host name verification use the request's host (the server's name or server_name), while the
            // socket goes to the resolved address (RequestOptions.server). forceSni: send it for any name we chose.
            // An address never goes in SNI (RFC 6066 §3), so forcing is only safe when every name is a DNS name.
            boolean allNames = c.servers().stream().noneMatch(s -> UpstreamConfig.isIpLiteral(tlsName(s)));
            o.setSsl(true).setForceSni(allNames).setUseAlpn(c.protocol().http2())
                    .setSslEngineOptions(io.tiergate.proxy.tls.TlsEngine.client());
        }
        this.options = o;
        if (c.tls() != null) {
            try {
                tlsDigest = Certificates.digest(c.tls().files());
            } catch (java.io.IOException e) {
                tlsDigest = null; // checked at config time; a renewal in progress is picked up by the next look
            }
        }
        this.vertxSender = new VertxSender(vertx, this);
        this.nettySender = !nettyPath() || !NettySender.supports(c, Body.EMPTY) ? null : new NettySender(vertx, c);
        this.poolOptions = new PoolOptions().setHttp1MaxSize(c.maxConnectionsPerServer())
                .setHttp2MaxSize(Math.max(1, Math.min(4, c.maxConnectionsPerServer())))
                .setCleanerPeriod(500);
    }

    /** Concurrent streams per HTTP/2 upstream connection before the pool opens another (per event loop). */
    static final int H2_STREAMS_PER_CONNECTION = 100;

    private volatile ClientSSLOptions tlsOptions; // replaced by reloadTls: pools made later use the new files

    /** The TLS name of {@code server}: the group's server_name, else the server's DNS name or address. */
    public String tlsName(UpstreamConfig.Server server) {
        return group.config().tlsName(server);
    }

    public boolean tls() {
        return tlsOptions != null;
    }

    private volatile String tlsDigest; // of the TLS files as last loaded; null: not read yet

    /**
     * Loads this group's TLS files again if their contents changed since last loaded (a renewal at the same paths).
     * A set that does not load (a key of another certificate, a half-written file) is refused: the pools keep the
     * previous one. Completes with a line naming what was loaded, or null when nothing changed. Reads files: never on
     * an event loop.
     */
    public Future<String> reloadTlsIfChanged() {
        UpstreamConfig.Tls tls = group.config().tls();
        if (tls == null) {
            return Future.succeededFuture();
        }
        String digest;
        try {
            digest = Certificates.digest(tls.files());
        } catch (java.io.IOException e) {
            return Future.failedFuture("upstream '" + group.name() + "': " + e.getMessage());
        }
        if (digest.equals(tlsDigest)) {
            return Future.succeededFuture();
        }
        if (tlsDigest == null) {
            tlsDigest = digest; // the first look: these are the files the pools were built from
            return Future.succeededFuture();
        }
        java.util.Optional<String> bad = Certificates.problem(tls);
        if (bad.isPresent()) {
            return Future.failedFuture("upstream '" + group.name() + "': " + bad.get()
                    + "; still using the previous TLS files");
        }
        return reloadTls().map(v -> {
            tlsDigest = digest;
            return "tls files of upstream '" + group.name() + "' (" + tls.files().get(0)
                    + (tls.files().size() > 1 ? ", ..." : "") + ")";
        });
    }

    /**
     * Loads the TLS files again (a renewed client certificate or CA bundle at the same paths): new connections use
     * them, pooled and in-flight ones keep the session they have, so nothing is dropped.
     */
    public Future<Void> reloadTls() {
        UpstreamConfig.Tls tls = group.config().tls();
        if (tls == null) {
            return Future.succeededFuture();
        }
        ClientSSLOptions next = Certificates.clientOptions(tls, group.config().protocol().http2());
        tlsOptions = next;
        List<Future<?>> updates = new ArrayList<>();
        pooled.values().forEach(c -> updates.add(c.updateSSLOptions(next, true)));
        HttpClientAgent f = fresh;
        if (f != null) {
            updates.add(f.updateSSLOptions(next, true));
        }
        return Future.all(updates).mapEmpty();
    }

    public UpstreamConfig declared() {
        return declared;
    }

    public UpstreamGroup group() {
        return group;
    }

    private final VertxSender vertxSender;
    private final NettySender nettySender; // null when the Netty path is switched off

    /**
     * The system property that picks the client for plain HTTP/1.1 upstreams: {@code netty} (the default) or
     * {@code vertx}. TLS and HTTP/2 upstreams and streamed or file-buffered bodies always use Vert.x's client.
     */
    public static final String CLIENT_PROPERTY = "tiergate.upstream.client";

    /** Whether {@link #CLIENT_PROPERTY} leaves the Netty path on; an unknown value says so and keeps the default. */
    private static boolean nettyPath() {
        String client = System.getProperty(CLIENT_PROPERTY, "netty").trim();
        if (!client.equals("netty") && !client.equals("vertx")) {
            log.warn("-D{}={} is neither netty nor vertx: using netty", CLIENT_PROPERTY, client);
        }
        return !client.equals("vertx");
    }

    /** How a request with {@code body} goes to this group's servers. */
    UpstreamSender sender(Body body) {
        return nettySender != null && NettySender.supports(group.config(), body) ? nettySender : vertxSender;
    }

    /** The pool of the calling event loop (created on first use). */
    HttpClientAgent pooled() {
        Context ctx = Vertx.currentContext();
        Object loop = ctx instanceof ContextInternal ci ? ci.nettyEventLoop() : Thread.currentThread();
        HttpClientAgent c = pooled.get(loop);
        if (c == null) {
            c = pooled.computeIfAbsent(loop, k -> builder(options).with(poolOptions).build());
        }
        return c;
    }

    HttpClientAgent fresh() {
        HttpClientAgent f = fresh;
        if (f == null) {
            synchronized (this) {
                if (fresh == null) {
                    fresh = builder(new HttpClientOptions(options).setKeepAlive(false)).build();
                }
                f = fresh;
            }
        }
        return f;
    }

    private io.vertx.core.http.HttpClientBuilder builder(HttpClientOptions o) {
        io.vertx.core.http.HttpClientBuilder b = vertx.httpClientBuilder().with(o)
                .withConnectHandler(UpstreamClient::connected);
        return tlsOptions == null ? b : b.with(tlsOptions);
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
        if (nettySender != null) {
            nettySender.close();
        }
        List<Future<?>> closing = new ArrayList<>();
        pooled.values().forEach(c -> closing.add(c.close()));
        HttpClientAgent f = fresh;
        if (f != null) {
            closing.add(f.close());
        }
        return Future.join(closing).mapEmpty();
    }
}
