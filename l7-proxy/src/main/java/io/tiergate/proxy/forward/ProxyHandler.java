package io.tiergate.proxy.forward;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.log.AccessLog;
import io.tiergate.proxy.log.ProxyMetrics;
import io.tiergate.proxy.route.Route;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The entry of the pipeline for one request: framing checks that Netty's decoder leaves to us (no smuggling),
 * routing, limits, body buffering, then an {@link Exchange}.
 */
public final class ProxyHandler {
    private final Vertx vertx;
    private final Supplier<Snapshot> current;
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final WebSocketTunnel webSockets;
    // One store for the node's lifetime, made on first use: a reload keeps what is cached (its size is read once).
    private volatile io.tiergate.proxy.cache.CacheFilter cache;

    public ProxyHandler(Vertx vertx, Supplier<Snapshot> current, ProxyMetrics metrics, AccessLog accessLog) {
        this.vertx = vertx;
        this.current = current;
        this.metrics = metrics;
        this.accessLog = accessLog;
        this.webSockets = new WebSocketTunnel(vertx);
    }

    /** The cache if a request has made it, else null (for the cache gauges, which must not create it). */
    public io.tiergate.proxy.cache.CacheFilter cacheIfCreated() {
        return cache;
    }

    /** The node's cache, for the admin API's purge. */
    public io.tiergate.proxy.cache.CacheFilter cache() {
        io.tiergate.proxy.cache.CacheFilter c = cache;
        if (c == null) {
            synchronized (this) {
                if (cache == null) {
                    cache = new io.tiergate.proxy.cache.CacheFilter(vertx, current.get().config().cache());
                }
                c = cache;
            }
        }
        return c;
    }

    public void handle(HttpServerRequest req, String listener) {
        req.pause();
        Snapshot snap = current.get();
        ProxyConfig config = snap.config();
        List<String> cls = req.headers().getAll("Content-Length");
        List<String> tes = req.headers().getAll("Transfer-Encoding");
        long contentLength = -1;
        if (cls.size() > 1) {
            reject(req, 400, "more than one Content-Length header");
            return;
        }
        if (cls.size() == 1) {
            String v = cls.get(0).trim();
            if (!digits(v)) {
                reject(req, 400, "malformed Content-Length '" + cls.get(0) + "'");
                return;
            }
            contentLength = Long.parseLong(v);
        }
        boolean chunked = false;
        if (!tes.isEmpty()) {
            if (contentLength >= 0) {
                reject(req, 400, "both Content-Length and Transfer-Encoding (a request smuggling pattern)");
                return;
            }
            if (tes.size() != 1 || !tes.get(0).trim().toLowerCase(Locale.ROOT).equals("chunked")) {
                reject(req, 400, "unsupported Transfer-Encoding '" + String.join(", ", tes) + "' (only chunked)");
                return;
            }
            chunked = true;
        }
        if (req.uri().length() > config.limits().maxUriLength()) {
            reject(req, 414, "URI longer than " + config.limits().maxUriLength() + " bytes");
            return;
        }
        if (contentLength > config.limits().maxBodySize()) {
            reject(req, 413, "request body of " + contentLength + " bytes is larger than max_body_size ("
                    + config.limits().maxBodySize() + " bytes)");
            return;
        }
        String host = req.authority() == null ? null : req.authority().host();
        String path = req.path() == null ? "/" : req.path();
        Route route = snap.routes().route(listener, host, path);
        if (route == null) {
            reject(req, 404, "no location matches " + path, false);
            return;
        }
        // Null for a location that answers from disk (static files have no upstream).
        UpstreamClient upstream = route.location().upstream() == null ? null
                : snap.upstreams().get(route.location().upstream());
        if (upstream != null && WebSocketTunnel.isUpgrade(req)) {
            String ip = io.tiergate.proxy.ProxyProtocol.clientIp(req);
            webSockets.open(req, config, upstream.group(), ip, Headers.requestId(req, config), () -> reject(req, 503,
                    "no live upstream: every server of upstream '" + upstream.group().name() + "' is down", false));
            return;
        }
        if ("100-continue".equalsIgnoreCase(req.getHeader("Expect"))) {
            req.response().writeContinue();
        }
        snap.acquire();
        String clientIp = io.tiergate.proxy.ProxyProtocol.clientIp(req);
        String requestId = Headers.requestId(req, config);
        Body.read(vertx, req, config, contentLength, chunked).onComplete(ar -> {
            if (ar.failed()) {
                snap.release();
                int status = ar.cause() instanceof Body.BodyException be ? be.status() : 400;
                reject(req, status, ar.cause().getMessage());
                return;
            }
            FeatureStage.run(vertx, snap, req, listener, route, upstream, ar.result(), requestId, clientIp, metrics,
                    accessLog, cache());
        });
    }

    /** 1 to 18 ASCII digits (no sign, no spaces, no overflow). */
    private static boolean digits(String v) {
        if (v.isEmpty() || v.length() > 18) {
            return false;
        }
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static void reject(HttpServerRequest req, int status, String why) {
        reject(req, status, why, true);
    }

    /** Answers without contacting an upstream; framing errors also close the connection (its state is unknown). */
    private static void reject(HttpServerRequest req, int status, String why, boolean close) {
        HttpServerResponse resp = req.response();
        if (resp.ended() || resp.headWritten()) {
            req.connection().close();
            return;
        }
        resp.setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8");
        if (close) {
            resp.putHeader("Connection", "close");
        }
        resp.end(status + " " + HttpResponseStatus.valueOf(status).reasonPhrase() + ": " + why + "\n")
                .onComplete(v -> {
                    if (close) {
                        req.connection().close();
                    }
                });
        if (!close) {
            req.resume();
        }
    }
}
